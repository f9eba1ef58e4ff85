"""Chaos on the simulator's wire: how each drawn fault answers an ``/api/`` request.

The plan is the one fault vocabulary's ``FaultPlan`` (``on_wire``), drawn per request by
``FaultDraws``; by wire name:

- ``429``   429 with ``Retry-After``; nothing executed
- ``418``   418 IP ban; nothing executed (never drawn unless listed)
- ``5xx``   500/502/503 with an HTML body; nothing executed
- ``504``   504 with an HTML body; a write WAS executed (the gateway gave up, the engine did not)
- ``-1007`` Binance "execution status unknown"; a write is executed half of the time
- ``lost``  the request is executed, then the connection is dropped without an answer
- ``delay`` the answer comes ``delay_s`` late but intact
- ``junk``  200 with a junk body: HTML, or ``{}`` where a list is due; a write is executed first
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

from aiohttp import web

from gridmaker.exchange.faults import (
    WIRE_DEFAULT_KINDS,
    WIRE_KINDS,
    FaultDraws,
    FaultKind,
    FaultPlan,
)
from gridmaker.exchange.sim.http.control import ControlError, int_field, number_field

__all__ = ["PLAN_FIELDS", "answer", "html_error", "plan_from_json"]

PLAN_FIELDS: Final = frozenset({"seed", "rate", "kinds", "retry_after_s", "delay_s"})
"""What a ``POST /__sim/chaos`` body may hold."""
_HTML_ERROR: Final = "<html><head><title>{status}</title></head><body>{status}</body></html>"
_LISTS: Final = ("openOrders", "myTrades", "allOrders")


def plan_from_json(raw: Mapping[str, Any]) -> FaultPlan:
    """The plan a ``POST /__sim/chaos`` body describes; ``ControlError`` names a bad field."""
    kinds = raw.get("kinds")
    if kinds is not None:
        allowed = [str(k.wire) for k in WIRE_KINDS]
        if not kinds or not isinstance(kinds, list) or any(k not in allowed for k in kinds):
            raise ControlError(
                "kinds",
                f"kinds must be a non-empty list of {', '.join(allowed)}; was {kinds!r}",
            )
    seed = int_field(raw, "seed", 0, 2**63 - 1) if "seed" in raw else 0
    rate = number_field(raw, "rate", 0, 1)
    retry_after_s = number_field(raw, "retry_after_s", 0, 3600)
    delay_s = number_field(raw, "delay_s", 0, 60)
    return FaultPlan.wire(
        seed=seed,
        rate=0.0 if rate is None else rate,
        kinds=WIRE_DEFAULT_KINDS if kinds is None else tuple(FaultKind.from_wire(k) for k in kinds),
        retry_after_s=0.02 if retry_after_s is None else retry_after_s,
        delay_s=0.01 if delay_s is None else delay_s,
    )


def html_error(status: int, headers: Mapping[str, str]) -> web.Response:
    return web.Response(
        status=status,
        text=_HTML_ERROR.format(status=status),
        headers=dict(headers),
        content_type="text/html",
    )


async def answer(
    request: web.Request,
    fault: FaultKind | None,
    draws: FaultDraws | None,
    *,
    path: str,
    is_write: bool,
    headers: dict[str, str],
    execute: Callable[[], Awaitable[web.Response]],
) -> web.StreamResponse:
    """The answer to a request under ``fault`` (drawn from ``draws``): ``execute`` runs it on
    the venue, when the fault lets it run at all."""
    if fault is None or draws is None:
        return await execute()
    plan = draws.plan
    if fault is FaultKind.RATE_LIMITED:
        body = {"code": -1003, "msg": "Too many requests; current limit is exceeded."}
        retry = {"Retry-After": f"{plan.retry_after_s:g}"}
        return web.json_response(body, status=429, headers={**headers, **retry})
    if fault is FaultKind.BANNED:
        body = {"code": -1003, "msg": "Way too many requests; IP banned."}
        return web.json_response(body, status=418, headers={**headers, "Retry-After": "120"})
    if fault is FaultKind.UNAVAILABLE:
        return html_error(draws.pick((500, 502, 503)), headers)
    if fault is FaultKind.DELAY:
        await asyncio.sleep(plan.delay_s)
    executes = not (fault is FaultKind.UNKNOWN_STATUS and draws.chance(0.5))
    response = await execute() if executes else None
    if fault is FaultKind.GATEWAY_TIMEOUT:
        return html_error(504, headers)
    if fault is FaultKind.UNKNOWN_STATUS:
        msg = "Timeout waiting for response from backend server. Send status unknown; "
        msg += "execution status unknown."
        return web.json_response({"code": -1007, "msg": msg}, status=408, headers=headers)
    if fault is FaultKind.TIMEOUT_AFTER:
        if request.transport is not None:
            request.transport.abort()
        raise asyncio.CancelledError
    if fault is FaultKind.MALFORMED:
        junk = "{}" if path in _LISTS else "<html>ok</html>"
        if is_write or draws.chance(0.5):
            junk = "<html><body>Service Unavailable</body></html>"
        return web.Response(status=200, text=junk, headers=headers, content_type="text/html")
    assert response is not None
    return response
