"""The token gate: who gets through, and that a refused request never reaches a route."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from gridmaker.ops.api.auth import TokenGate, bearer_token, token_matches

TOKEN = "s3cret"


@pytest.mark.parametrize(
    ("header", "token"),
    [
        (None, None),
        ("", None),
        ("Bearer", None),
        ("Bearer   ", None),
        ("Basic s3cret", None),
        ("s3cret", None),
        ("Bearer s3cret", "s3cret"),
        ("bearer  s3cret ", "s3cret"),
    ],
)
def test_bearer_token_reads_only_the_bearer_scheme(header: str | None, token: str | None) -> None:
    assert bearer_token(header) == token


@pytest.mark.parametrize(
    ("given", "expected", "matches"),
    [
        ("s3cret", "s3cret", True),
        ("s3cret!", "s3cret", False),
        ("s3cre", "s3cret", False),
        (None, "s3cret", False),
        ("", "", False),
        ("x", "", False),
    ],
)
def test_token_matches_only_the_same_nonempty_token(
    given: str | None, expected: str, matches: bool
) -> None:
    assert token_matches(given, expected) is matches


class Recorder:
    """An app that counts the requests that reached it."""

    def __init__(self) -> None:
        self.reached: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.reached.append(scope["path"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def _get(app: TokenGate, path: str, headers: dict[str, str]) -> httpx.Response:
    async def main() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
            return await c.get(path, headers=headers)

    return asyncio.run(main())


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Bearer s3cret2"}],
    ids=["missing", "wrong", "longer"],
)
def test_token_gate_refuses_before_the_app_runs(headers: dict[str, str]) -> None:
    inner = Recorder()
    gate = TokenGate(inner, token=lambda: TOKEN)

    answer = _get(gate, "/api/status?token=s3cret", headers)

    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"
    assert TOKEN not in answer.text
    assert inner.reached == []


def test_token_gate_lets_the_token_and_health_through() -> None:
    inner = Recorder()
    gate = TokenGate(inner, token=lambda: TOKEN)

    with_token = _get(gate, "/api/status", {"Authorization": f"Bearer {TOKEN}"})
    health = _get(gate, "/health", {})

    assert with_token.status_code == health.status_code == 200
    assert inner.reached == ["/api/status", "/health"]


def test_token_gate_with_an_empty_token_lets_nothing_but_health_through() -> None:
    inner = Recorder()
    gate = TokenGate(inner, token=lambda: "")

    answer = _get(gate, "/api/status", {"Authorization": "Bearer "})

    assert answer.status_code == 401 and inner.reached == []
