"""The dashboard's files are served without the token, and nothing else is."""

from __future__ import annotations

import asyncio
from importlib.resources import files

import httpx
from fastapi import FastAPI

from gridmaker.ops.api.auth import TokenGate
from gridmaker.ops.web import ASSETS, CSP, mount_dashboard

TOKEN = "unit-token-0123456789"


def _app(*, mount_first: bool = False) -> FastAPI:
    """The API's shape: routes behind the token gate, and the dashboard mounted before or
    after the gate was added (it must end up in front of it either way)."""
    app = FastAPI()

    @app.get("/api/status")
    async def status() -> dict[str, str]:
        return {"ok": "yes"}

    if mount_first:
        mount_dashboard(app)
    app.add_middleware(TokenGate, token=lambda: TOKEN)
    if not mount_first:
        mount_dashboard(app)
    return app


def _ask(
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    *,
    mount_first: bool = False,
) -> httpx.Response:
    async def main() -> httpx.Response:
        transport = httpx.ASGITransport(app=_app(mount_first=mount_first))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
            return await c.request(method, path, headers=headers)

    return asyncio.run(main())


def test_dashboard_assets_need_no_token_and_pin_requests_to_the_bot() -> None:
    for path, (name, content_type) in ASSETS.items():
        answer = _ask("GET", path)
        assert answer.status_code == 200, path
        assert answer.content == files("gridmaker.ops.web").joinpath(name).read_bytes()
        assert answer.headers["content-type"] == content_type
        assert answer.headers["content-security-policy"] == CSP
    assert "connect-src 'self'" in CSP and "default-src 'none'" in CSP


def test_dashboard_assets_leave_every_other_request_to_the_token_gate() -> None:
    assert _ask("GET", "/api/status").status_code == 401
    assert _ask("GET", "/ui/other.js").status_code == 401
    assert _ask("POST", "/").status_code == 401
    authorized = _ask("GET", "/api/status", {"Authorization": f"Bearer {TOKEN}"})
    assert authorized.json() == {"ok": "yes"}


def test_dashboard_head_answers_headers_without_a_body() -> None:
    answer = _ask("HEAD", "/")
    assert answer.status_code == 200 and answer.content == b""
    assert int(answer.headers["content-length"]) > 0


def test_dashboard_mounted_before_the_gate_is_still_served_in_front_of_it() -> None:
    assert _ask("GET", "/", mount_first=True).status_code == 200
    assert _ask("GET", "/api/status", mount_first=True).status_code == 401
