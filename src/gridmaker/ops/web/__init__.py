"""The dashboard: one static page the bot's API serves at ``/``, no build step, no Node.

The page itself holds no secret, so it is served without the token; every request it makes for
data carries the token the operator typed (``Authorization: Bearer``). The API's token gate
guards every path but ``/health``, so the page's few files are answered by a small ASGI layer
placed in front of the whole app, gate included. Only the exact paths in ``ASSETS`` are
answered, each with a Content-Security-Policy that lets the page talk to this bot alone
(``'self'``), which is also why it works offline.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from typing import TYPE_CHECKING

from starlette.types import ASGIApp, Receive, Scope, Send

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["ASSETS", "CSP", "DashboardAssets", "mount_dashboard"]

ASSETS: dict[str, tuple[str, str]] = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/ui/app.css": ("app.css", "text/css; charset=utf-8"),
    "/ui/chart.js": ("chart.js", "text/javascript; charset=utf-8"),
    "/ui/app.js": ("app.js", "text/javascript; charset=utf-8"),
}
"""URL path → (file in this package, content type)."""

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
"""The browser refuses any request the page would make outside this bot."""


@dataclass(frozen=True, slots=True)
class _Asset:
    body: bytes
    headers: list[tuple[bytes, bytes]]


def _load() -> dict[str, _Asset]:
    here = files(__name__)
    assets = {}
    for path, (name, content_type) in ASSETS.items():
        body = here.joinpath(name).read_bytes()
        headers = [
            (b"content-type", content_type.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"cache-control", b"no-cache"),
            (b"content-security-policy", CSP.encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
        ]
        assets[path] = _Asset(body, headers)
    return assets


class DashboardAssets:
    """Answers ``GET``/``HEAD`` of the page's files; passes every other request on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._assets = _load()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        asset = self._assets.get(scope["path"]) if scope["type"] == "http" else None
        if asset is None or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        await send({"type": "http.response.start", "status": 200, "headers": asset.headers})
        body = b"" if scope["method"] == "HEAD" else asset.body
        await send({"type": "http.response.body", "body": body})


def mount_dashboard(app: FastAPI) -> None:
    """Serve the dashboard at ``/`` of ``app``, in front of every middleware ``app`` has or is
    given later (its token gate among them), whichever is added first."""
    build = app.build_middleware_stack

    def outermost() -> ASGIApp:
        return DashboardAssets(build())

    app.build_middleware_stack = outermost  # type: ignore[method-assign]
