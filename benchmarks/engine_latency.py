"""Fill → counter-order-sent latency and events per second: simple vs durable, in one run.

Usage: python benchmarks/engine_latency.py [--steps N] [--seed S]

Each engine trades the same random walk on its own simulated exchange (SQLite on disk; the
durable engine's DBOS system database is SQLite in WAL mode in the same data dir). Latency runs
from the executor receiving a decision caused by a fill to the exchange receiving the
counter-order's placement. Events per second counts every event decided on (prices that crossed
a level, fills, order updates) over the session's wall time. Figures, not assertions; the JSON
line last holds both engines.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gridmaker.config import Config, book_setup, sim_instrument
from gridmaker.core.events import Event, Fill, PlaceOrder
from gridmaker.core.state import Decision
from gridmaker.engine.executor import GridExecutor
from gridmaker.engine.orchestrator import GridOrchestrator
from gridmaker.engine.sessions.market import run_market_session
from gridmaker.exchange.api import ExchangeOrder, OrderRequest
from gridmaker.exchange.sim import SimExchange
from gridmaker.store import Store


class Clock:
    """When each fill-caused placement was decided, and how long until the venue got it."""

    def __init__(self) -> None:
        self.decided: dict[str, float] = {}
        self.latencies_ms: list[float] = []
        self.events = 0


class TimedExecutor:
    def __init__(self, inner: GridExecutor, clock: Clock) -> None:
        self.inner = inner
        self.clock = clock

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def execute(
        self, decision: Decision, causes: Sequence[Event], *, send: bool = True
    ) -> list[Event]:
        now = time.perf_counter()
        self.clock.events += len(causes)
        if any(isinstance(c, Fill) for c in causes):
            for action in decision.actions:
                if isinstance(action, PlaceOrder):
                    self.clock.decided[action.client_order_id] = now
        return await self.inner.execute(decision, causes, send=send)


class TimedExchange:
    def __init__(self, inner: SimExchange, clock: Clock) -> None:
        self.inner = inner
        self.clock = clock

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def place_order(self, request: OrderRequest) -> ExchangeOrder:
        started = self.clock.decided.pop(request.client_order_id, None)
        if started is not None:
            self.clock.latencies_ms.append((time.perf_counter() - started) * 1000)
        return await self.inner.place_order(request)


async def one_run(engine: str, data_dir: Path, steps: int, seed: int) -> dict[str, Any]:
    config = Config()
    market = config.markets[0]
    inst = sim_instrument(config, market.symbol)
    sim = SimExchange(
        instruments=[inst], initial_balances=config.sim.balances, path=data_dir / "x.sqlite"
    )
    clock = Clock()
    venue: Any = TimedExchange(sim, clock)
    store = Store(data_dir / "gridmaker.sqlite")
    inner: GridExecutor
    if engine == "durable":
        from gridmaker.engine.durable import DurableExecutor

        inner = DurableExecutor.launch(data_dir, store=store, exchange=venue)
    else:
        from gridmaker.engine.simple import SimpleExecutor

        inner = SimpleExecutor(store=store, exchange=venue)
    executor = TimedExecutor(inner, clock)
    orch = GridOrchestrator(exchange=venue, executor=executor, setups=[book_setup(market, inst)])
    feed = config.feed.model_copy(update={"seed": seed}).random_walk(inst)
    started = time.perf_counter()
    await orch.boot()
    result = await run_market_session(orch, sim, feed, market.symbol, steps=steps)
    elapsed = time.perf_counter() - started
    state = orch.state(market.symbol)
    await executor.close()
    await sim.close()
    lat = sorted(clock.latencies_ms)
    return {
        "engine": engine,
        "trades": result.trades,
        "fills": state.fills if state else 0,
        "events": clock.events,
        "seconds": round(elapsed, 2),
        "events_per_s": round(clock.events / elapsed),
        "counter_orders": len(lat),
        "latency_p50_ms": round(statistics.median(lat), 3) if lat else None,
        "latency_p99_ms": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))], 3) if lat else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    print(f"python {platform.python_version()} on {platform.machine()}, commit {commit or '?'}")
    figures = []
    for engine in ("simple", "durable"):
        with tempfile.TemporaryDirectory() as tmp:
            f = asyncio.run(one_run(engine, Path(tmp), args.steps, args.seed))
        figures.append(f)
        print(
            f"{engine:8s} {f['trades']} trades, {f['events']} events in {f['seconds']} s = "
            f"{f['events_per_s']} events/s; fill -> counter-order sent over "
            f"{f['counter_orders']}: p50 {f['latency_p50_ms']} ms, p99 {f['latency_p99_ms']} ms"
        )
    print(json.dumps({"runs": figures}))


if __name__ == "__main__":
    main()
