"""Where the simulator listens: bind the port first (``listen_socket``), then serve the app.

Binding before anything else is opened lets ``gridmaker sim-exchange`` refuse a busy port or an
unguarded address before it touches its ``--state`` file.
"""

from __future__ import annotations

import asyncio
import errno
import socket
from collections.abc import Callable

from aiohttp import web

from gridmaker.exchange.sim.http.control import ENV_SIM_TOKEN, TOKEN_HEADER, is_loopback
from gridmaker.exchange.sim.http.server import BinanceSimServer

__all__ = ["listen_socket", "serve"]


def listen_socket(host: str, port: int, *, token: str = "") -> socket.socket:
    """A TCP socket bound to ``host``:``port`` (0 = any free port), for ``serve``.

    Binding first lets ``gridmaker sim-exchange`` refuse a busy port before it opens anything
    else. Raises ``ValueError`` saying what to change: a busy port, an address that cannot be
    bound, or an address beyond loopback without a control ``token``.
    """
    if not is_loopback(host) and not token:
        raise ValueError(
            f"--host {host} listens beyond loopback, where anyone could move the market: set "
            f"{ENV_SIM_TOKEN} in the environment (callers send it as {TOKEN_HEADER}), "
            "or listen on 127.0.0.1"
        )
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except OSError as e:
        raise ValueError(f"cannot listen on --host {host}: {e.strerror or e}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as asyncio's servers do
        sock.bind(address)
        sock.setblocking(False)
    except OSError as e:
        sock.close()
        if e.errno == errno.EADDRINUSE:
            raise ValueError(
                f"port {port} is in use on {host}: choose another --port, "
                "or --port 0 for any free one"
            ) from None
        raise ValueError(
            f"cannot listen on --host {host} --port {port}: {e.strerror or e}"
        ) from None
    return sock


async def serve(
    server: BinanceSimServer,
    *,
    stop: asyncio.Event,
    on_ready: Callable[[int], None],
    port: int = 0,
    sock: socket.socket | None = None,
) -> None:
    """Serve on ``sock`` (from ``listen_socket``), else on 127.0.0.1:``port`` (0 = any free
    port), until ``stop`` is set; the socket is closed at the end."""
    runner = web.AppRunner(server.app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        site = web.SockSite(runner, sock) if sock else web.TCPSite(runner, "127.0.0.1", port)
        await site.start()
        on_ready(int(runner.addresses[0][1]))
        await stop.wait()
    finally:
        await runner.cleanup()
