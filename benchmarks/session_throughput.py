"""Trades per second of a full simple-engine session on the simulated exchange (SQLite on disk).

Usage: python benchmarks/session_throughput.py [--steps N] [--seed S]
Prints one line per run and a JSON line last. Figures, not assertions.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import subprocess
import tempfile
import time
from pathlib import Path

from gridmaker.config import Config, book_setup, sim_instrument
from gridmaker.engine.orchestrator import GridOrchestrator
from gridmaker.engine.sessions.market import run_market_session
from gridmaker.engine.simple import SimpleExecutor
from gridmaker.exchange.sim import SimExchange
from gridmaker.store import Store


async def one_run(data_dir: Path, steps: int, seed: int) -> dict[str, float]:
    config = Config()
    market = config.markets[0]
    inst = sim_instrument(config, market.symbol)
    sim = SimExchange(
        instruments=[inst], initial_balances=config.sim.balances, path=data_dir / "x.sqlite"
    )
    store = Store(data_dir / "gridmaker.sqlite")
    executor = SimpleExecutor(store=store, exchange=sim)
    orch = GridOrchestrator(exchange=sim, executor=executor, setups=[book_setup(market, inst)])
    feed = config.feed.model_copy(update={"seed": seed}).random_walk(inst)
    started = time.perf_counter()
    await orch.boot()
    result = await run_market_session(orch, sim, feed, market.symbol, steps=steps)
    elapsed = time.perf_counter() - started
    state = orch.state(market.symbol)
    await executor.close()
    await sim.close()
    return {
        "trades": result.trades,
        "fills": state.fills if state else 0,
        "seconds": round(elapsed, 3),
        "trades_per_s": round(result.trades / elapsed),
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
    with tempfile.TemporaryDirectory() as tmp:
        figures = asyncio.run(one_run(Path(tmp), args.steps, args.seed))
    print(
        f"simple engine: {figures['trades']} trades, {figures['fills']} fills in "
        f"{figures['seconds']} s = {figures['trades_per_s']} trades/s"
    )
    print(json.dumps({"engine": "simple", **figures}))


if __name__ == "__main__":
    main()
