"""A local webhook receiver: what alerts reach, recorded, on 127.0.0.1.

``WebhookReceiver`` is an ``http.server`` on a free loopback port in a thread. It records
each POST's path and JSON body (and each GET's path: a dead-man ping) and answers as told:
``ok`` (200), ``fail`` (500) or ``hang`` (holds the request until ``release``, as a dead
service does). Apprise reaches it with ``json://127.0.0.1:PORT/path`` (``url``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["WebhookReceiver", "webhook_receiver"]


class WebhookReceiver:
    def __init__(self, mode: str = "ok") -> None:
        if mode not in ("ok", "fail", "hang"):
            raise ValueError(f"mode must be ok, fail or hang; was {mode!r}")
        self.mode = mode
        self.posts: list[tuple[str, dict[str, Any]]] = []
        self.gets: list[str] = []
        """Paths of GET requests (a dead-man ping), in order."""
        self.arrived = 0
        """Requests that reached the server (recorded or not: a hung one counts)."""
        self._lock = threading.Lock()
        self._released = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                with receiver._lock:
                    receiver.arrived += 1
                if receiver.mode == "hang":
                    receiver._released.wait(timeout=30)
                    return
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {"raw": raw.decode("utf-8", "replace")}
                with receiver._lock:
                    receiver.posts.append((self.path, body))
                self.send_response(500 if receiver.mode == "fail" else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self) -> None:
                with receiver._lock:
                    receiver.arrived += 1
                    receiver.gets.append(self.path)
                self.send_response(500 if receiver.mode == "fail" else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str = "hook") -> str:
        return f"json://127.0.0.1:{self.port}/{path}"

    def http_url(self, path: str = "ping") -> str:
        return f"http://127.0.0.1:{self.port}/{path}"

    def bodies(self) -> list[dict[str, Any]]:
        with self._lock:
            return [body for _, body in self.posts]

    def release(self) -> None:
        """Let hung requests go (they answer nothing)."""
        self._released.set()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)


@contextmanager
def webhook_receiver(mode: str = "ok") -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver(mode)
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()
