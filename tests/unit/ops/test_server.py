"""The API server inside the bot's loop: it serves on a loopback port, leaves the bot's
signal handlers alone, refuses an address it cannot bind, and closes the port at the end."""

from __future__ import annotations

import asyncio
import signal
import socket

import httpx
import pytest
from fastapi import FastAPI

from gridmaker.ops.server import ApiUnavailable, _bind, serve_api


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/ping")
    def ping() -> dict[str, str]:
        return {"pong": "yes"}

    return app


def test_serve_api_answers_on_its_port_and_closes_it_after() -> None:
    # Arrange
    async def main() -> tuple[httpx.Response, object, object, int]:
        before = signal.getsignal(signal.SIGINT)
        async with serve_api(_app(), "127.0.0.1", 0) as port:
            async with httpx.AsyncClient() as client:
                answer = await client.get(f"http://127.0.0.1:{port}/ping", timeout=10)
            return answer, before, signal.getsignal(signal.SIGINT), port

    # Act
    answer, before, during, port = asyncio.run(main())

    # Assert
    assert answer.json() == {"pong": "yes"}
    assert during is before
    with socket.socket() as probe, pytest.raises(OSError):
        probe.settimeout(2)
        probe.connect(("127.0.0.1", port))


def test_serve_api_refuses_a_port_in_use() -> None:
    # Arrange
    async def main(port: int) -> None:
        async with serve_api(_app(), "127.0.0.1", port):
            pass

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]

        # Act / Assert
        with pytest.raises(ApiUnavailable, match=str(port)):
            asyncio.run(main(port))


def test_the_api_socket_is_tcp_so_asyncio_turns_nagle_off() -> None:
    # Act
    sock = _bind("127.0.0.1", 0)

    # Assert: asyncio sets TCP_NODELAY only when the socket's proto says TCP
    with sock:
        assert sock.proto == socket.IPPROTO_TCP
