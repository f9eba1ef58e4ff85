"""The bearer token every route but ``/health`` requires, checked before anything else runs.

``TokenGate`` is an ASGI middleware in front of the whole app: a request without the right
``Authorization: Bearer <token>`` header gets a bare 401 with ``WWW-Authenticate: Bearer``
before its path is routed, its body parsed or its route run, so a refused request learns
nothing (not even whether the route exists) and changes nothing. The token is compared in
constant time and read only from the header, never from a query string (URLs end up in logs
and browser histories); it is never logged.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Collection

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["OPEN_PATHS", "TokenGate", "bearer_token", "token_matches"]

OPEN_PATHS = frozenset({"/health"})
"""What a load balancer or a supervisor may read without the token: the verdict only."""


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (``None``: none given)."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def token_matches(given: str | None, expected: str) -> bool:
    """Constant time in the token's content; an empty expected token matches nothing."""
    if given is None or not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


class TokenGate:
    """Refuses every request but those to ``open_paths`` unless it carries the token."""

    def __init__(
        self, app: ASGIApp, token: Callable[[], str], open_paths: Collection[str] = OPEN_PATHS
    ) -> None:
        self.app = app
        self._token = token
        self._open = frozenset(open_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"] in self._open:
            await self.app(scope, receive, send)
            return
        header = None
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                header = value.decode("latin-1")
                break
        if token_matches(bearer_token(header), self._token()):
            await self.app(scope, receive, send)
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
        else:
            refusal = JSONResponse(
                {"detail": "not authenticated: send Authorization: Bearer <token>"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
            await refusal(scope, receive, send)
