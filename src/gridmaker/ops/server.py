"""The control API served by uvicorn inside the bot's own event loop.

One loop, one process: the API's handlers run between the loop's other work and read the
frozen views the loop leaves, so no lock and no second writer exist. uvicorn's own signal
capture is turned off (the bot's SIGINT/SIGTERM handlers stop trading at a safe point, then
the server), its logging left to ours, and the socket is bound here so that port 0 works and
the bound port is known before anything is served.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

import uvicorn

__all__ = ["ApiUnavailable", "check_address", "serve_api"]

log = logging.getLogger("gridmaker.ops")

SHUTDOWN_GRACE_S = 1.0
"""How long open requests (event streams) get to finish when the bot stops."""


class ApiUnavailable(OSError):
    """The API's address cannot be bound (in use, not an address of this machine)."""


class _InLoopServer(uvicorn.Server):
    """uvicorn without its signal capture: the bot owns SIGINT and SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets whose proto says TCP, and
    # without it every response waits ~40 ms for a delayed ACK (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
        sock.setblocking(False)
    except OSError as e:
        sock.close()
        raise ApiUnavailable(f"the API cannot listen on {host}:{port}: {e.strerror or e}") from e
    return sock


def check_address(host: str, port: int) -> None:
    """Raise ``ApiUnavailable`` now if ``host:port`` cannot be bound, before a run opens its
    data dir (a free port may still be taken in between; ``serve_api`` says so then)."""
    _bind(host, port).close()


@contextlib.asynccontextmanager
async def serve_api(app: Any, host: str, port: int) -> AsyncIterator[int]:
    """Serve ``app`` on ``host:port`` while the block runs; yields the bound port.

    Raises ``ApiUnavailable`` before serving when the address cannot be bound.
    """
    sock = _bind(host, port)
    bound = int(sock.getsockname()[1])
    config = uvicorn.Config(
        app,
        log_config=None,
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=int(SHUTDOWN_GRACE_S) or 1,
        server_header=False,
    )
    server = _InLoopServer(config)
    task = asyncio.create_task(server.serve(sockets=[sock]), name="gridmaker-api")
    try:
        # The socket listens already: a client that connects now waits in its backlog.
        yield bound
    finally:
        server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout=SHUTDOWN_GRACE_S + 4)
        except (TimeoutError, asyncio.CancelledError):
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        except Exception as e:  # the API failing at its end must not hide how trading ended
            log.warning("the API stopped with an error: %s", e)
        sock.close()
