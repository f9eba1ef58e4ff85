"""Market print → counter-order at the venue: websockets vs REST polling, in one run.

Usage: python benchmarks/venue_reaction.py [--rounds N] [--poll-rounds M]

The bot trades the HTTP simulator (in this process, loopback) through the real ccxt client,
as it trades Binance: ``ccxt.pro`` streams (ticker + user data), or REST polls of the ticker
at 0.5 s and at the default 2 s. Each round prints one trade through the bot's nearest order,
at a random phase of the poll cycle, and times until the venue holds the counter-order, from
the venue's side (an observer on the simulated exchange). Figures, not assertions; the JSON
line last holds every mode.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import platform
import random
import statistics
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from gridmaker.cli.venue import SIM_API_KEY, SIM_API_SECRET
from gridmaker.config import Config, MarketConfig, book_setup, sim_instrument
from gridmaker.core.events import OrderStatus, Side
from gridmaker.engine.orchestrator import GridOrchestrator
from gridmaker.engine.sessions.live import run_live_session
from gridmaker.engine.simple import SimpleExecutor
from gridmaker.exchange.ccxt import CcxtExchange, RateBudget, build_ccxt_client
from gridmaker.exchange.sim import SimExchange, SimUpdate
from gridmaker.exchange.sim.http import BinanceSimServer, serve
from gridmaker.store import Store

SYMBOL = "BTC/USDT"
START = Decimal("50000")


def _sim() -> SimExchange:
    """BTC/USDT with the default config's rules and balances, last traded at START."""
    config = Config()
    sim = SimExchange(
        instruments=[sim_instrument(config, SYMBOL)], initial_balances=config.sim.balances
    )
    sim.apply_trade(SYMBOL, START, Decimal("0.1"), 0)
    return sim


class NewOrders:
    """Venue-side clock: when each new order reached the simulated exchange."""

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.arrived = asyncio.Event()
        self.last: tuple[float, Side] | None = None

    def __call__(self, update: SimUpdate) -> None:
        for order in update.orders:
            if order.status is OrderStatus.OPEN and order.order_id not in self.seen:
                self.seen.add(order.order_id)
                self.last = (time.perf_counter(), order.side)
                self.arrived.set()


async def _mode(name: str, streams: bool, poll_s: float, rounds: int) -> dict[str, Any]:
    sim = _sim()
    server = BinanceSimServer(sim, symbols=[SYMBOL], api_key=SIM_API_KEY, api_secret=SIM_API_SECRET)
    stop = asyncio.Event()
    ports: asyncio.Queue[int] = asyncio.Queue()
    serving = asyncio.create_task(serve(server, port=0, stop=stop, on_ready=ports.put_nowait))
    url = f"http://127.0.0.1:{await ports.get()}"
    client = build_ccxt_client(
        "binance", api_key=SIM_API_KEY, api_secret=SIM_API_SECRET, base_url=url, streams=streams
    )
    venue = CcxtExchange(client, budget=RateBudget(limit=1_000_000))
    latencies: list[float] = []
    rng = random.Random(1)
    with tempfile.TemporaryDirectory() as tmp:
        executor = SimpleExecutor(store=Store(Path(tmp) / "gm.sqlite"), exchange=venue)
        instrument = await venue.fetch_instrument(SYMBOL)
        setup = book_setup(MarketConfig(), instrument)
        orch = GridOrchestrator(exchange=venue, executor=executor, setups=[setup])
        await orch.boot()
        await orch.on_trade(SYMBOL, START, 0)  # the grid, placed before timing starts
        session = asyncio.create_task(
            run_live_session(
                orch,
                venue,
                [SYMBOL],
                steps=None,
                duration_s=None,
                reconcile_every=1_000_000,
                poll_interval_s=poll_s,
            )
        )
        watcher = NewOrders()
        watcher.seen.update(o.order_id for o in await sim.fetch_open_orders(SYMBOL))
        sim.observers.append(watcher)
        await asyncio.sleep(0.5)  # streams subscribed
        try:
            for i in range(rounds):
                # Down through the best buy, then up through the sell that answered it.
                want = Side.SELL if i % 2 == 0 else Side.BUY
                opens = await sim.fetch_open_orders(SYMBOL)
                if want is Side.SELL:
                    target = max(o.price for o in opens if o.side is Side.BUY)
                else:
                    target = min(o.price for o in opens if o.side is Side.SELL)
                # Print at a random phase of the poll cycle, as a market would.
                await asyncio.sleep(rng.uniform(0, poll_s if not streams else 0.05))
                watcher.arrived.clear()
                t0 = time.perf_counter()
                sim.apply_trade(SYMBOL, target, Decimal("1"), i + 1)
                while True:
                    await asyncio.wait_for(watcher.arrived.wait(), 30)
                    watcher.arrived.clear()
                    assert watcher.last is not None
                    if watcher.last[1] is want:
                        latencies.append((watcher.last[0] - t0) * 1000)
                        break
        finally:
            session.cancel()
            await asyncio.gather(session, return_exceptions=True)
            await executor.close()
            await venue.close()
            stop.set()
            await serving
    latencies.sort()
    return {
        "mode": name,
        "rounds": rounds,
        "p50_ms": round(statistics.median(latencies), 1),
        "p90_ms": round(latencies[math.ceil(0.9 * len(latencies)) - 1], 1),  # nearest rank
        "max_ms": round(latencies[-1], 1),
        "rest_ticker_polls": server.stats.calls["GET ticker/24hr"],
        "rest_fill_polls": server.stats.calls["GET myTrades"],
    }


async def _main(rounds: int, poll_rounds: int) -> list[dict[str, Any]]:
    return [
        await _mode("websockets (ccxt.pro)", True, 2.0, rounds),
        await _mode("REST polls every 0.5 s", False, 0.5, poll_rounds),
        await _mode("REST polls every 2 s (default)", False, 2.0, poll_rounds),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--poll-rounds", type=int, default=16)
    args = parser.parse_args()
    results = asyncio.run(_main(args.rounds, args.poll_rounds))
    print(f"python {platform.python_version()} on {platform.machine()}")
    print(
        f"{'mode':34} {'rounds':>6} {'p50 ms':>8} {'p90 ms':>8} {'max ms':>8} {'ticker GETs':>12}"
    )
    for r in results:
        print(
            f"{r['mode']:34} {r['rounds']:>6} {r['p50_ms']:>8} {r['p90_ms']:>8} "
            f"{r['max_ms']:>8} {r['rest_ticker_polls']:>12}"
        )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
