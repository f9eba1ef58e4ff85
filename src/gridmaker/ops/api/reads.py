"""Read-only routes: health, status, one market, its ladder, its fills, recent events, metrics.

Every route is ``async`` on purpose: it runs on the bot's own loop between two events, so it
reads a consistent frozen view and the store's one SQLite connection from the thread that
owns them (a sync route would run on a worker thread). Each answers a ``JSONResponse`` built
from plain dicts: FastAPI's generic encoder would walk every value again, on the trading loop.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse

from gridmaker.engine.book import BookView
from gridmaker.ops.api.views import event_json, fill_json, ladder_json, market_json, stamp
from gridmaker.ops.surface import Surface

__all__ = ["instruments", "resolve_symbol", "router", "surface_of"]

router = APIRouter()

_RANK = {"ok": 0, "degraded": 1, "failing": 2}


def surface_of(request: Request) -> Surface:
    surface: Surface = request.app.state.surface
    return surface


def resolve_symbol(surface: Surface, symbol: str) -> str:
    """The configured symbol ``symbol`` names (``BTC/USDT``, or ``BTC-USDT`` in a URL); 404
    naming it and the known ones otherwise."""
    known = surface.orchestrator.symbols
    for name in known:
        if symbol in (name, name.replace("/", "-"), name.replace("/", "_")):
            return name
    raise HTTPException(
        status_code=404,
        detail=f"unknown market {symbol!r}; this bot trades {', '.join(known) or 'nothing'}",
    )


def instruments(surface: Surface) -> dict[str, Any]:
    orch = surface.orchestrator
    return {s: inst for s in orch.symbols if (inst := orch.view(s).instrument) is not None}


@router.get("/health", summary="The watchdog's verdict (no token needed)")
async def health(request: Request) -> JSONResponse:
    """``ok``, ``degraded`` or ``failing`` with per-market reasons (``booting`` until the boot
    sync is done); 503 when failing, so a supervisor can act on the status code alone."""
    surface = surface_of(request)
    orch = surface.orchestrator
    body: dict[str, Any]
    if not orch.is_booted:
        body = {
            "status": "booting",
            "markets": {s: {"status": "booting", "reasons": []} for s in orch.symbols},
        }
    elif surface.health is not None:
        body = surface.health()
    else:
        body = _plain_health(orch.view(s) for s in orch.symbols)
    return JSONResponse(body, status_code=503 if body.get("status") == "failing" else 200)


def _plain_health(views: Iterable[BookView]) -> dict[str, Any]:
    """Without a watchdog: a market that does not trade is failing, the rest ok."""
    markets: dict[str, dict[str, Any]] = {}
    worst = "ok"
    for view in views:
        status = "failing" if view.halted else "ok"
        markets[view.symbol] = {"status": status, "reasons": [view.halted] if view.halted else []}
        worst = max(worst, status, key=_RANK.__getitem__)
    return {"status": worst, "markets": markets}


@router.get("/api/status", summary="The bot and every market")
async def status(request: Request) -> JSONResponse:
    """Per market: what ``gridmaker status --json`` prints, and what the running bot knows
    beside it (control, breaker details, boot sync, last sync and audit, price source)."""
    surface = surface_of(request)
    orch = surface.orchestrator
    return JSONResponse(
        {
            "engine": surface.engine,
            "venue": surface.venue,
            "started": stamp(surface.started_ms),
            "booted": orch.is_booted,
            "markets": {s: market_json(orch.view(s), surface.store) for s in orch.symbols},
        }
    )


@router.get("/api/markets/{symbol:path}/ladder", summary="Every level of one market's grid")
async def ladder(request: Request, symbol: str) -> JSONResponse:
    surface = surface_of(request)
    view = _view(surface, symbol)
    levels = [] if view.state is None else ladder_json(view.state)
    return JSONResponse({"symbol": view.symbol, "levels": levels})


@router.get("/api/markets/{symbol:path}/fills", summary="One market's fills, newest first")
async def fills(
    request: Request,
    symbol: str,
    before: Annotated[
        int | None, Query(ge=1, le=2**63 - 1, description="a page's `next` cursor")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> JSONResponse:
    """A page of applied fills; pass ``next`` back as ``before`` for the older ones (``next``
    is ``null`` on the last page)."""
    surface = surface_of(request)
    view = _view(surface, symbol)
    if view.instrument is None:
        return JSONResponse({"symbol": view.symbol, "fills": [], "next": None})
    rows = surface.store.fills_page(view.symbol, before, limit)
    return JSONResponse(
        {
            "symbol": view.symbol,
            "fills": [fill_json(r, view.instrument) for r in rows],
            "next": rows[-1].seq if len(rows) == limit else None,
        }
    )


@router.get("/api/markets/{symbol:path}", summary="One market")
async def market(request: Request, symbol: str) -> JSONResponse:
    surface = surface_of(request)
    return JSONResponse(market_json(_view(surface, symbol), surface.store))


@router.get("/api/events", summary="Recent notices, newest last")
async def events(
    request: Request, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> JSONResponse:
    surface = surface_of(request)
    recent = list(surface.hub.recent)[-limit:]
    known = instruments(surface)
    return JSONResponse({"events": [event_json(n, known) for n in recent]})


@router.get("/metrics", summary="Prometheus metrics (404 when metrics are off)")
async def metrics(request: Request) -> Response:
    surface = surface_of(request)
    if surface.metrics is None:
        raise HTTPException(status_code=404, detail="metrics are off in this bot")
    body, content_type = surface.metrics()
    return Response(content=body, media_type=content_type)


def _view(surface: Surface, symbol: str) -> BookView:
    return surface.orchestrator.view(resolve_symbol(surface, symbol))
