"""Who may drive the simulator's ``/__sim/*`` control endpoints, and how their bodies are read.

The control endpoints move the market and change the venue's rules, so a web page must not be
able to reach them: they send no CORS headers, a ``POST`` must say ``Content-Type:
application/json`` (a cross-site form cannot, and a script that sets it needs a CORS preflight
this server never grants), and on a loopback server the ``Host`` header must name loopback (a
page that rebinds its DNS name to 127.0.0.1 still sends its own name). A server bound beyond
loopback has a token instead, which callers send as ``X-Sim-Token``.

Bodies are JSON objects; a field that is missing, of the wrong type, out of range or unknown is
refused with ``ControlError``, answered 400 ``{"error": ..., "field": ...}``, before anything
changes.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import math
import os
from collections.abc import Collection, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Final
from urllib.parse import urlsplit

from aiohttp import web

__all__ = [
    "ENV_SIM_TOKEN",
    "LOOPBACK_NAMES",
    "TOKEN_HEADER",
    "ControlError",
    "bool_field",
    "control_headers",
    "decimal_field",
    "int_field",
    "is_loopback",
    "number_field",
    "read_object",
    "refusal",
    "text_field",
]

ENV_SIM_TOKEN: Final = "GRIDMAKER_SIM_TOKEN"
TOKEN_HEADER: Final = "X-Sim-Token"
LOOPBACK_NAMES: Final = frozenset({"localhost"})
"""Host names that are loopback besides loopback addresses (127.0.0.0/8, ::1)."""


class ControlError(ValueError):
    """A control request's body is wrong; ``field`` names the culprit ("body": all of it)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback address (``127.0.0.0/8``, ``::1``)."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def control_headers(token: str | None = None) -> dict[str, str]:
    """Headers for a control request: JSON, and the token (``GRIDMAKER_SIM_TOKEN`` by
    default) when there is one."""
    headers = {"Content-Type": "application/json"}
    token = os.environ.get(ENV_SIM_TOKEN, "") if token is None else token
    if token:
        headers[TOKEN_HEADER] = token
    return headers


def refusal(request: web.Request, token: str | None) -> web.Response | None:
    """Why this control request may not be served (a JSON answer), or ``None``."""
    if token is not None:
        given = request.headers.get(TOKEN_HEADER, "")
        if not hmac.compare_digest(given.encode(), token.encode()):
            message = f"{TOKEN_HEADER} header missing or wrong: this simulator takes control "
            message += f"requests only with the token it was started with ({ENV_SIM_TOKEN})"
            return web.json_response({"error": message}, status=401)
    else:
        host = request.headers.get("Host", "")
        try:
            name = urlsplit(f"//{host}").hostname or ""
        except ValueError:
            name = ""
        if not is_loopback(name):
            message = f"Host {host!r} is not loopback: a loopback simulator takes control "
            message += "requests addressed to a loopback address or localhost only"
            return web.json_response({"error": message}, status=403)
    if request.method == "POST" and request.content_type != "application/json":
        message = f"Content-Type must be application/json; was {request.content_type!r}"
        return web.json_response({"error": message}, status=415)
    return None


async def read_object(request: web.Request, fields: Collection[str]) -> dict[str, Any]:
    """The request's JSON object, holding no field but ``fields``."""
    try:
        body = json.loads(await request.read())
    except ValueError:
        raise ControlError("body", "body must be a JSON object; was not JSON") from None
    if not isinstance(body, dict):
        raise ControlError("body", f"body must be a JSON object; was {_kind(body)}")
    for name in body:
        if name not in fields:
            allowed = ", ".join(sorted(fields)) or "none"
            raise ControlError(name, f"{name} is not a field of this request; allowed: {allowed}")
    return body


def text_field(body: Mapping[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise ControlError(name, f"{name} must be a non-empty string; was {_shown(body, name)}")
    return value


def decimal_field(body: Mapping[str, Any], name: str) -> Decimal:
    """A decimal number > 0 sent as a string (``"50000.5"``): never a float, as money."""
    value = body.get(name)
    number: Decimal | None = None
    if isinstance(value, str):
        try:
            number = Decimal(value)
        except InvalidOperation:
            number = None
    if number is None or not number.is_finite() or number <= 0 or abs(number.adjusted()) > 30:
        raise ControlError(
            name,
            f'{name} must be a decimal number > 0 sent as a string (e.g. "50000.5"); '
            f"was {_shown(body, name)}",
        )
    return number


def int_field(body: Mapping[str, Any], name: str, low: int, high: int) -> int:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ControlError(
            name, f"{name} must be an integer in [{low}, {high}]; was {_shown(body, name)}"
        )
    return value


def number_field(body: Mapping[str, Any], name: str, low: float, high: float) -> float | None:
    """A finite number in [low, high] (a rate or a duration, not money); ``None`` if absent."""
    if name not in body:
        return None
    value = body[name]
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not low <= value <= high
    ):
        raise ControlError(
            name, f"{name} must be a number in [{low:g}, {high:g}]; was {_shown(body, name)}"
        )
    return float(value)


def bool_field(body: Mapping[str, Any], name: str) -> bool | None:
    """``true``/``false``; ``None`` if absent."""
    if name not in body:
        return None
    value = body[name]
    if not isinstance(value, bool):
        raise ControlError(name, f"{name} must be true or false; was {_shown(body, name)}")
    return value


def _shown(body: Mapping[str, Any], name: str) -> str:
    if name not in body:
        return "missing"
    text = json.dumps(body[name])
    return text if len(text) <= 60 else text[:57] + "..."


def _kind(value: Any) -> str:
    kinds = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return kinds.get(type(value), "a number")
