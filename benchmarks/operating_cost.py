"""What operating a bot costs: the session's throughput with the API and metrics on vs off, and
the ``/metrics`` scrape time with 50 markets.

Usage: python benchmarks/operating_cost.py [--trades N] [--rounds R] [--markets M]
                                           [--scrapes K] [--part throughput|scrape|both]

1. Throughput. The built-in market session (``run_market_session``: the seeded random walk
   printed on the in-process SimExchange, the bot wired by ``cli.wiring.wire_session`` as
   ``run`` wires it, SQLite on disk) over N trades, with the operating layer off (no
   observer), on (a ``Hub`` as the orchestrator's notices, ``Metrics`` subscribed, the API
   served by uvicorn on 127.0.0.1 inside the bot's loop) and on with clients (in a separate
   process, as Prometheus and a UI would be: one scraping ``/metrics`` every second and one
   reading the SSE event stream). R rounds of each, the order rotating; medians of trades/s
   (wall clock) and trades per CPU-second of the bot's process (less sensitive to other load
   on the machine). The issue's target: the layer on costs at most 5 % of trades/s.
2. Scrape. One bot with M markets booted on the SimExchange, each with fills and an audit:
   ``Metrics.render()`` timed in-process and a real HTTP GET of ``/metrics`` (keep-alive, as
   Prometheus scrapes), K of each per round; p50/p99 per round, medians over R rounds.

Figures, not assertions: the machine may be shared, so compare the side-by-side columns.
The last line is JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from gridmaker.cli.wiring import Session, sim_exchange_for, wire_session
from gridmaker.config import Config, book_setups, sim_instrument
from gridmaker.engine.notices import now_ms
from gridmaker.engine.sessions.market import run_market_session
from gridmaker.exchange.sim import SimExchange
from gridmaker.ops.api.app import create_app
from gridmaker.ops.hub import Hub
from gridmaker.ops.metrics import Metrics
from gridmaker.ops.server import serve_api
from gridmaker.ops.surface import Surface
from gridmaker.store import Store

HOST = "127.0.0.1"
TOKEN_ENV = "GRIDMAKER_BENCH_TOKEN"
"""The client process gets the bearer token here, never on its command line."""


# --- wiring -------------------------------------------------------------------------------


@dataclass
class Bot:
    config: Config
    sim: SimExchange
    store: Store
    session: Session

    async def close(self) -> None:
        await self.session.close()
        await self.sim.close()


def open_bot(data_dir: Path, config: Config) -> Bot:
    """The bot over a fresh data dir and on-disk venue, wired as ``run`` wires it."""
    instruments = [sim_instrument(config, m.symbol) for m in config.markets]
    sim = sim_exchange_for(config, instruments, path=data_dir / "exchange.sqlite", seed=0)
    store = Store(data_dir / "gridmaker.sqlite")
    session = wire_session(
        engine="simple",
        data_dir=data_dir,
        store=store,
        exchange=sim,
        setups=book_setups(config, instruments),
    )
    return Bot(config, sim, store, session)


@dataclass
class Operating:
    hub: Hub
    metrics: Metrics
    port: int
    token: str


@contextlib.asynccontextmanager
async def operating(bot: Bot) -> AsyncIterator[Operating]:
    """The operating layer on ``bot``: hub, metrics, and the API served on a loopback port."""
    orch = bot.session.orchestrator
    hub = Hub()
    orch.notices = hub
    metrics = Metrics(orch, retrier=bot.session.retrier, exchange=bot.sim)
    hub.subscribe(metrics.observe)
    token = secrets.token_urlsafe(24)
    surface = Surface(
        orchestrator=orch,
        store=bot.store,
        hub=hub,
        token=token,
        started_ms=now_ms(),
        metrics=metrics.render,
    )
    async with serve_api(create_app(surface), HOST, 0) as port:
        yield Operating(hub, metrics, port, token)


# --- 1. throughput ------------------------------------------------------------------------


MODES = ("off", "on", "on+clients")
"""off: no observer; on: hub, metrics and the API served, nobody connected; on+clients: the
scraper and the SSE reader connected as well (the issue's "API and metrics on")."""


async def session_rate(data_dir: Path, trades: int, seed: int, mode: str) -> dict[str, Any]:
    """Trades/s of one session over ``trades`` prints (boot excluded) in ``mode``."""
    config = Config()
    config = config.model_copy(update={"feed": config.feed.model_copy(update={"seed": seed})})
    bot = open_bot(data_dir, config)
    orch = bot.session.orchestrator
    symbol = config.markets[0].symbol
    feed = config.feed.random_walk(sim_instrument(config, symbol))
    figures: dict[str, Any] = {}
    async with contextlib.AsyncExitStack() as stack:
        client = None
        hub = None
        if mode != "off":
            op = await stack.enter_async_context(operating(bot))
            hub = op.hub
        await orch.boot()
        if mode == "on+clients":
            client = await start_client(op.port, op.token)
        started, cpu_started = time.perf_counter(), time.process_time()
        result = await run_market_session(orch, bot.sim, feed, symbol, steps=trades)
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        if client is not None:
            figures.update(await stop_client(client))
        if hub is not None:
            figures["notices"] = hub.published
    state = orch.state(symbol)
    await bot.close()
    figures.update(
        trades=result.trades,
        fills=state.fills if state else 0,
        seconds=elapsed,
        cpu_seconds=cpu,
        trades_per_s=result.trades / elapsed,
        trades_per_cpu_s=result.trades / cpu,
    )
    return figures


async def start_client(port: int, token: str) -> asyncio.subprocess.Process:
    """The scraper and the SSE reader, in their own process; returns once both connected."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--client",
        str(port),
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, TOKEN_ENV: token},
    )
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), timeout=60)
    if line.strip() != b"ready":
        raise RuntimeError(f"the client did not connect: {line!r}")
    return proc


async def stop_client(proc: asyncio.subprocess.Process) -> dict[str, Any]:
    proc.send_signal(signal.SIGTERM)
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=30)
    return dict(json.loads(out.decode().strip().splitlines()[-1]))


async def client_main(port: int) -> None:
    """Scrape ``/metrics`` every second and read the event stream until SIGTERM."""
    import httpx

    token = os.environ[TOKEN_ENV]
    base = f"http://{HOST}:{port}"
    headers = {"Authorization": f"Bearer {token}"}
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    counts = {"scrapes": 0, "scrape_errors": 0, "events": 0}
    connected = asyncio.Event()

    async def scrape(client: httpx.AsyncClient) -> None:
        while not stop.is_set():
            response = await client.get("/metrics")
            counts["scrapes" if response.status_code == 200 else "scrape_errors"] += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=1.0)

    async def listen(client: httpx.AsyncClient) -> None:
        async with client.stream("GET", "/api/events/stream") as response:
            response.raise_for_status()
            connected.set()
            async for line in response.aiter_lines():
                if line.startswith("event:"):
                    counts["events"] += 1

    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
        listener = asyncio.create_task(listen(client))
        await asyncio.wait_for(connected.wait(), timeout=30)
        scraper = asyncio.create_task(scrape(client))
        print("ready", flush=True)
        await stop.wait()
        listener.cancel()
        await asyncio.gather(scraper, listener, return_exceptions=True)
    print(json.dumps(counts), flush=True)


def throughput(trades: int, rounds: int, seed: int) -> dict[str, Any]:
    """Each round runs every mode once, the order rotating from round to round."""
    runs: dict[str, list[dict[str, Any]]] = {m: [] for m in MODES}
    for n in range(rounds):
        for mode in MODES[n % 3 :] + MODES[: n % 3]:
            with tempfile.TemporaryDirectory() as tmp:
                got = asyncio.run(session_rate(Path(tmp), trades, seed, mode))
            runs[mode].append(got)
            client = (
                f" | scrapes {got['scrapes']}, SSE events {got['events']} of "
                f"{got['notices']} notices"
                if "scrapes" in got
                else ""
            )
            print(
                f"  round {n + 1} {mode:>10}: {got['trades']} trades, {got['fills']} fills in "
                f"{got['seconds']:.2f} s = {got['trades_per_s']:.0f} trades/s | "
                f"{got['cpu_seconds']:.2f} s of CPU = {got['trades_per_cpu_s']:.0f} "
                f"trades/CPU-s{client}",
                flush=True,
            )
    out: dict[str, Any] = {"trades": trades, "rounds": rounds}
    for key, unit in (("trades_per_s", "trades/s (wall)"), ("trades_per_cpu_s", "trades/CPU-s")):
        medians = {m: statistics.median(r[key] for r in runs[m]) for m in MODES}
        off = medians["off"]
        print(
            f"{unit:>16}, median of {rounds}: "
            + " | ".join(
                f"{m} {v:.0f}" + ("" if m == "off" else f" (ratio {v / off:.3f})")
                for m, v in medians.items()
            )
            + " (target: on+clients ratio >= 0.95)"
        )
        out[key] = {
            **{m: [round(r[key]) for r in runs[m]] for m in MODES},
            "medians": {m: round(v) for m, v in medians.items()},
            "cost_percent": {m: round((1 - v / off) * 100, 2) for m, v in medians.items()},
        }
    last = runs["on+clients"][-1]
    out["last_client"] = {k: last[k] for k in ("scrapes", "scrape_errors", "events", "notices")}
    return out


# --- 2. scrape time with many markets -----------------------------------------------------


def many_markets(markets: int) -> Config:
    """``markets`` markets C00/USDT, C01/USDT ... on the default instrument and grid."""
    symbols = [f"C{i:02d}/USDT" for i in range(markets)]
    balances = {s.split("/")[0]: "1" for s in symbols} | {"USDT": str(100_000 * markets)}
    return Config.model_validate(
        {
            "sim": {"balances": balances, "instruments": {s: {} for s in symbols}},
            "markets": [{"symbol": s} for s in symbols],
        }
    )


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def scrape_round(data_dir: Path, markets: int, scrapes: int, trades: int) -> dict[str, Any]:
    config = many_markets(markets)
    bot = open_bot(data_dir, config)
    orch = bot.session.orchestrator
    async with operating(bot) as op:
        await orch.boot()
        for i, market in enumerate(config.markets):
            walk = config.feed.model_copy(update={"seed": i + 1, "volatility": Decimal("0.001")})
            feed = walk.random_walk(sim_instrument(config, market.symbol))
            await run_market_session(orch, bot.sim, feed, market.symbol, steps=trades)
            await orch.audit_orders(market.symbol)
        fills = sum(s.fills for m in config.markets if (s := orch.state(m.symbol)) is not None)
        body, _ = op.metrics.render()
        render_ms = []
        for _ in range(scrapes):
            started = time.perf_counter()
            op.metrics.render()
            render_ms.append((time.perf_counter() - started) * 1000)
        get_ms = await timed_gets(op.port, op.token, scrapes)
    await bot.close()
    return {
        "fills": fills,
        "bytes": len(body),
        "series": sum(1 for line in body.splitlines() if line and not line.startswith(b"#")),
        "render_p50_ms": percentile(render_ms, 0.5),
        "render_p99_ms": percentile(render_ms, 0.99),
        "get_p50_ms": percentile(get_ms, 0.5),
        "get_p99_ms": percentile(get_ms, 0.99),
    }


async def timed_gets(port: int, token: str, scrapes: int) -> list[float]:
    """``scrapes`` GETs of ``/metrics`` from another process, as Prometheus scrapes (one
    keep-alive connection, opened before the timing); the milliseconds of each."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--client",
        str(port),
        "--client-gets",
        str(scrapes),
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, TOKEN_ENV: token},
    )
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"the scraping client failed ({proc.returncode})")
    return [float(x) for x in json.loads(out.decode().strip().splitlines()[-1])]


def gets_main(port: int, scrapes: int) -> None:
    import httpx

    headers = {"Authorization": f"Bearer {os.environ[TOKEN_ENV]}"}
    times = []
    with httpx.Client(base_url=f"http://{HOST}:{port}", headers=headers, timeout=30) as client:
        client.get("/metrics").raise_for_status()
        for _ in range(scrapes):
            started = time.perf_counter()
            response = client.get("/metrics")
            times.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
    print(json.dumps(times), flush=True)


def scrape_times(markets: int, scrapes: int, rounds: int, trades: int) -> dict[str, Any]:
    keys = ("render_p50_ms", "render_p99_ms", "get_p50_ms", "get_p99_ms")
    per_round: list[dict[str, Any]] = []
    for n in range(rounds):
        with tempfile.TemporaryDirectory() as tmp:
            got = asyncio.run(scrape_round(Path(tmp), markets, scrapes, trades))
        per_round.append(got)
        print(
            f"  round {n + 1}: {markets} markets, {got['fills']} fills, {got['series']} series, "
            f"{got['bytes']} bytes | render p50 {got['render_p50_ms']:.2f} ms "
            f"p99 {got['render_p99_ms']:.2f} ms | GET p50 {got['get_p50_ms']:.2f} ms "
            f"p99 {got['get_p99_ms']:.2f} ms",
            flush=True,
        )
    medians = {k: statistics.median(r[k] for r in per_round) for k in keys}
    print(
        f"/metrics with {markets} markets, median of {rounds} rounds of {scrapes} scrapes: "
        f"render p50 {medians['render_p50_ms']:.2f} ms p99 {medians['render_p99_ms']:.2f} ms | "
        f"HTTP GET p50 {medians['get_p50_ms']:.2f} ms p99 {medians['get_p99_ms']:.2f} ms"
    )
    return {
        "markets": markets,
        "scrapes": scrapes,
        "rounds": rounds,
        "series": per_round[-1]["series"],
        "bytes": per_round[-1]["bytes"],
        **{k: round(v, 3) for k, v in medians.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trades", type=int, default=20_000, help="trades per session")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--markets", type=int, default=50)
    parser.add_argument("--scrapes", type=int, default=200, help="scrapes per round")
    parser.add_argument("--market-trades", type=int, default=400, help="trades per market")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--part", choices=("throughput", "scrape", "both"), default="both")
    # the client processes: the scraper and SSE reader, or the timed GETs
    parser.add_argument("--client", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--client-gets", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client is not None:
        if args.client_gets is not None:
            gets_main(args.client, args.client_gets)
        else:
            asyncio.run(client_main(args.client))
        return
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    print(
        f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cpus, "
        f"commit {commit or '?'}",
        flush=True,
    )
    out: dict[str, Any] = {}
    if args.part in ("throughput", "both"):
        out["throughput"] = throughput(args.trades, args.rounds, args.seed)
    if args.part in ("scrape", "both"):
        out["scrape"] = scrape_times(args.markets, args.scrapes, args.rounds, args.market_trades)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
