"""``create_app``: the control API of one running bot, over its ``Surface``.

The app is plain FastAPI (OpenAPI at ``/docs``) that the lead's server runs inside the bot's
own event loop. It reads through the orchestrator's frozen views and the store, and writes
nothing but operator requests into the store's journal; the loop applies them. Two observers
join the hub here: the event stream's fan-out and the waiters of ``?wait`` commands.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from gridmaker.ops.api import commands, reads, stream
from gridmaker.ops.api.auth import TokenGate
from gridmaker.ops.api.commands import CommandWaiters
from gridmaker.ops.api.stream import EventStream
from gridmaker.ops.surface import Surface
from gridmaker.ops.web import mount_dashboard

__all__ = ["create_app"]

DESCRIPTION = (
    "Control API of a running gridmaker bot. Every route but `/health` needs the header "
    "`Authorization: Bearer <token>` (the token is never accepted in a URL)."
)


def create_app(surface: Surface) -> FastAPI:
    """The API over ``surface``; refuses to build one without a token (fail closed)."""
    if not surface.token:
        raise ValueError("the control API needs a token: refusing to serve without one")
    app = FastAPI(title="gridmaker", version=_version(), description=DESCRIPTION)
    app.state.surface = surface
    app.state.events = EventStream(lambda: reads.instruments(surface))
    app.state.waiters = CommandWaiters()
    surface.hub.subscribe(app.state.events.observe)
    surface.hub.subscribe(app.state.waiters.observe)
    app.include_router(reads.router)
    app.include_router(commands.router)
    app.include_router(stream.router)
    app.add_middleware(TokenGate, token=lambda: surface.token)
    mount_dashboard(app)  # the page itself holds no secret: served in front of the gate
    app.openapi = lambda: _schema(app)  # type: ignore[method-assign]
    return app


def _schema(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI schema, saying that every route but ``/health`` takes the bearer token."""
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        schema.setdefault("components", {})["securitySchemes"] = {
            "bearer": {"type": "http", "scheme": "bearer"}
        }
        schema["security"] = [{"bearer": []}]
        health = schema.get("paths", {}).get("/health", {}).get("get")
        if health is not None:
            health["security"] = []
        app.openapi_schema = schema
    return app.openapi_schema


def _version() -> str:
    try:
        return version("gridmaker")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0+unknown"
