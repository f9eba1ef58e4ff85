"""The HTTP simulator in this process and the real ccxt binance client pointed at it."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

from gridmaker.cli.venue import SIM_API_KEY, SIM_API_SECRET
from gridmaker.core.units import Instrument
from gridmaker.exchange.ccxt import CcxtExchange, RateBudget, build_ccxt_client
from gridmaker.exchange.faults import FaultPlan
from gridmaker.exchange.sim import SimExchange
from gridmaker.exchange.sim.http import BinanceSimServer, serve
from tests import kit

SYMBOL = "BTC/USDT"


def new_sim(instruments: Sequence[Instrument] | None = None) -> SimExchange:
    return SimExchange(
        instruments=list(instruments or [kit.instrument()]),
        initial_balances={"BTC": Decimal(1), "USDT": Decimal(100000)},
    )


@asynccontextmanager
async def running_server(
    sim: SimExchange | None = None,
    *,
    chaos: FaultPlan | None = None,
    weight_limit: int = 6000,
    symbols: Sequence[str] = (SYMBOL,),
) -> AsyncIterator[tuple[BinanceSimServer, str]]:
    """A ``BinanceSimServer`` on a free loopback port; yields it and its base URL."""
    sim = sim or new_sim()
    server = BinanceSimServer(
        sim,
        symbols=list(symbols),
        api_key=SIM_API_KEY,
        api_secret=SIM_API_SECRET,
        chaos=chaos,
        weight_limit=weight_limit,
    )
    stop = asyncio.Event()
    ports: asyncio.Queue[int] = asyncio.Queue()
    task = asyncio.create_task(serve(server, port=0, stop=stop, on_ready=ports.put_nowait))
    try:
        port = await asyncio.wait_for(ports.get(), timeout=10)
        yield server, f"http://127.0.0.1:{port}"
    finally:
        stop.set()
        await task


def venue(
    base_url: str,
    *,
    secret: str = SIM_API_SECRET,
    budget: RateBudget | None = None,
    streams: bool = False,
) -> CcxtExchange:
    """The real ccxt binance client at ``base_url``; ``ccxt.pro`` (websockets) with ``streams``."""
    client = build_ccxt_client(
        "binance", api_key=SIM_API_KEY, api_secret=secret, base_url=base_url, streams=streams
    )
    return CcxtExchange(client, budget=budget or RateBudget(limit=1_000_000))


def control(base_url: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """Call a ``/__sim/`` control endpoint (blocking; for subprocess servers)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        base_url + path, data=data, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())
