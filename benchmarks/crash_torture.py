"""Crash torture: kill ``gridmaker run`` with SIGKILL at seeded instants, restart it, check it.

Usage:
    python benchmarks/crash_torture.py --engine simple|durable --crashes N --seed S
        [--faults P] [--market paused|live] [--trades T] [--venue sim|http] [--reconfigs R]

Each life of the bot is a real subprocess on one data dir. It dies either at a named failpoint
(between recording an intent and sending it, after a send before its answer is recorded, inside
the transaction applying a fill, right after a trade printed) or from a SIGKILL sent after a
seeded random delay. The simulated exchange keeps its own file, so it outlives every death.
With ``--market live`` trades also print on the exchange while the bot is down.

At the end the exchange's own records are the judge:
- duplicate_orders: a client id placed more than once, or two open orders on one level and side
- lost_fills: an exchange fill the bot never applied
- double_applied_fills: fills the bot counted more often than the exchange executed them
- balance_mismatches: assets whose bot-side balance differs from the exchange's total
- pnl_matches_crash_free: realized PnL (and fills) equal to one uninterrupted run (paused market)
- cids_placed_twice: client ids the exchange's own order history holds more than once
- book_venue_order_mismatches: orders open at the exchange the book does not hold, or the book's
  live orders the exchange does not show open
- halted_boots: boots that left the symbol not trading (a run that "finished" without trading
  proves nothing), and bans recorded
- failpoint_crashes: the deaths per failpoint ("kill": a SIGKILL from outside)
The last stdout line is that JSON object.

With ``--reconfigs R`` the torture also queues R reconfigurations at seeded moments, while the
bot is down and while it runs, and kills it at the reconfiguration failpoints too
(``crash_torture_reconfig.py`` says how, and what it judges besides). There is no crash-free
reference then (``pnl_matches_crash_free`` is null): the moments a grid changes are the
torture's own.

With ``--venue http`` the exchange is a ``gridmaker sim-exchange`` subprocess (one per data dir,
outliving every death of the bot) and the bot reaches it through the real ccxt binance client
(``run --exchange binance --base-url``); ``--faults`` then injects chaos on the wire (HTTP 429,
5xx, 504, -1007, lost responses, junk bodies) instead of wrapping the exchange in-process.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from crash_torture_reconfig import LifePlan, Reconfigs

SYMBOL = "BTC/USDT"
FAILPOINTS = {  # point -> passages to draw the crash from (about what one life passes)
    "intent:recorded": 6,
    "send:done": 10,
    "fill:in-transaction": 4,
    "trade:printed": 0,  # 0: anywhere in the life's trades
}


def _config_text(seed: int, faults: float, *, venue: str = "sim") -> str:
    text = f"feed:\n  seed: {seed}\n  volatility: '0.0008'\nreconcile_every: 200\n"
    if faults > 0 and venue == "sim":
        text += f"chaos:\n  rate: {faults}\n  seed: {seed}\n"
    return text


NO_PLAN = LifePlan()

_ENGINE = {"name": "simple"}
"""The ``run --engine`` of every life (set by ``torture``)."""

_SERVERS: dict[Path, tuple[subprocess.Popen[bytes], str]] = {}
"""data dir -> its ``gridmaker sim-exchange`` and base URL (``--venue http`` only)."""


def _start_server(data_dir: Path, config: Path, chaos: tuple[str, ...] = ()) -> None:
    """Serve ``data_dir``'s exchange over HTTP until ``_stop_servers`` (``--venue http``)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    out = data_dir / "sim-exchange.out"
    command = [sys.executable, "-m", "gridmaker.cli", "sim-exchange", "--port", "0"]
    command += ["--state", str(data_dir / "exchange.sqlite"), "--config", str(config), *chaos]
    with out.open("w") as sink:
        server = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
    _SERVERS[data_dir] = (server, "")
    deadline = time.monotonic() + 60
    while "listening on" not in out.read_text():
        if server.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"sim-exchange did not start: {out.read_text()[-2000:]}")
        time.sleep(0.05)
    _SERVERS[data_dir] = (server, out.read_text().split("listening on ", 1)[1].split()[0])


def _stop_servers() -> None:
    while _SERVERS:
        _, (server, _) = _SERVERS.popitem()
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)


def _bot(data_dir: Path, config: Path, steps: int, env: dict[str, str]) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "gridmaker.cli", "run", "--data-dir", str(data_dir)]
    command += ["--config", str(config), "--steps", str(steps), "--json"]
    command += ["--engine", _ENGINE["name"]]
    if data_dir in _SERVERS:
        command += ["--exchange", "binance", "--base-url", _SERVERS[data_dir][1]]
    return subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _feed_position(data_dir: Path) -> int:
    """Where the data dir's market is. The connection is closed here, not left to the garbage
    collector (``with sqlite3.connect(...)`` only commits): a connection this process keeps
    open holds a stale view of the log's shared index across other processes' lives, and this
    process's next writes (trades printed while the bot is down) would then discard the fills
    the dead bot's exchange had committed."""
    from contextlib import closing

    path = data_dir / "exchange.sqlite"
    if not path.exists():
        return 0
    with closing(sqlite3.connect(path)) as db:
        row = db.execute("SELECT position FROM markets WHERE symbol = ?", (SYMBOL,)).fetchone()
    return int(row[0]) if row else 0


def _print_while_down(data_dir: Path, config_path: Path, rng: random.Random) -> int:
    """A live market: trades print on the exchange while the bot is dead."""
    from gridmaker.cli.common import make_feed
    from gridmaker.config import load_config, sim_instrument
    from gridmaker.exchange.sim import SimExchange

    config = load_config(config_path)
    if data_dir in _SERVERS:
        return _print_over_http(
            _SERVERS[data_dir][1], make_feed(config, sim_instrument(config, SYMBOL)), rng
        )
    sim = SimExchange(
        instruments=[sim_instrument(config, SYMBOL)],
        initial_balances=config.sim.balances,
        path=data_dir / "exchange.sqlite",
    )
    feed = make_feed(config, sim_instrument(config, SYMBOL))
    start = sim.bind_feed(SYMBOL, feed.key)
    count = rng.randint(0, 60)
    for _, trade in zip(range(count), feed.trades(start), strict=False):
        sim.apply_trade(SYMBOL, trade.price, trade.amount, trade.ts_event)
    sim.close_sync()
    return count


def _print_over_http(url: str, feed: Any, rng: random.Random) -> int:
    """A live market at the HTTP simulator: print through its control endpoints."""

    def post(path: str, body: dict[str, Any]) -> Any:
        data = json.dumps(body).encode()
        request = urllib.request.Request(url + path, data=data, method="POST")
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    start = post("/__sim/bind", {"symbol": SYMBOL, "key": feed.key})["position"]
    count = rng.randint(0, 60)
    for _, trade in zip(range(count), feed.trades(start), strict=False):
        body = {"price": str(trade.price), "amount": str(trade.amount), "ts_event": trade.ts_event}
        post("/__sim/trade", {"symbol": SYMBOL, **body})
    return count


def _one_life(
    data_dir: Path,
    config: Path,
    remaining: int,
    rng: random.Random,
    plan: LifePlan = NO_PLAN,
    queue: Callable[[], object] = lambda: None,
) -> tuple[bool, str]:
    """Run the bot for a seeded number of trades until it dies or finishes; (died, how).

    ``plan`` may arm a failpoint of its own and have ``queue`` called once the market reached
    ``plan.queue_at``, the bot running."""
    env = dict(os.environ)
    env.pop("GRIDMAKER_FAILPOINT", None)
    remaining = min(remaining, rng.randint(40, 160))
    if rng.random() < 0.75 or plan.point:
        point = rng.choice(sorted(FAILPOINTS))
        passage = rng.randint(1, FAILPOINTS[point] or remaining)
        point, passage = (plan.point, plan.passage) if plan.point else (point, passage)
        env["GRIDMAKER_FAILPOINT"] = f"{point}:n={passage}"
        how = f"{point}#{passage}"
        bot = _bot(data_dir, config, remaining, env)
        _queue_when(bot, data_dir, plan.queue_at, queue)
        _, err = bot.communicate(timeout=600)
    else:
        delay = rng.uniform(0.3, 2.5)
        how = f"kill-after-{delay:.2f}s"
        bot = _bot(data_dir, config, remaining, env)
        started = time.monotonic()
        _queue_when(bot, data_dir, plan.queue_at, queue, deadline=started + delay)
        try:
            _, err = bot.communicate(timeout=max(0.0, started + delay - time.monotonic()))
        except subprocess.TimeoutExpired:
            bot.send_signal(signal.SIGKILL)
            _, err = bot.communicate()
    if bot.returncode not in (0, -signal.SIGKILL):
        raise SystemExit(f"bot failed (exit {bot.returncode}) after {how}: {err[-4000:]}")
    return bot.returncode == -signal.SIGKILL, how


def _queue_when(
    bot: subprocess.Popen[str],
    data_dir: Path,
    position: int,
    queue: Callable[[], object],
    deadline: float | None = None,
) -> None:
    """Call ``queue`` once the market reached ``position`` (0: never), while ``bot`` runs."""
    deadline = time.monotonic() + 60 if deadline is None else deadline
    while position and bot.poll() is None and time.monotonic() < deadline:
        try:
            reached = _feed_position(data_dir) >= position
        except sqlite3.OperationalError:  # the exchange's file not made yet
            reached = False
        if reached:
            queue()
            return
        time.sleep(0.02)


def _finish(data_dir: Path, config: Path, trades: int) -> dict[str, Any]:
    remaining = trades - _feed_position(data_dir)
    env = {k: v for k, v in os.environ.items() if k != "GRIDMAKER_FAILPOINT"}
    bot = _bot(data_dir, config, max(remaining, 0), env)
    out, err = bot.communicate(timeout=900)
    if bot.returncode != 0:
        raise SystemExit(f"final run failed (exit {bot.returncode}): {err}")
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _judge(data_dir: Path) -> dict[str, Any]:
    """Compare the bot's store with the exchange's own records."""
    import asyncio

    from gridmaker.core.ids import decode_cid
    from gridmaker.exchange.sim import SimExchange
    from gridmaker.store import Store

    store = Store(data_dir / "gridmaker.sqlite")
    state = store.load_book(SYMBOL)
    assert state is not None
    recorded = [
        r[0] for r in store._db.execute("SELECT trade_id FROM fills WHERE symbol = ?", (SYMBOL,))
    ]
    halted = store._db.execute("SELECT count(*) FROM boots WHERE halted != ''").fetchone()[0]
    halted += store._db.execute("SELECT count(*) FROM halts").fetchone()[0]
    store.close()
    sim = SimExchange(
        instruments=[state.instrument], initial_balances={}, path=data_dir / "exchange.sqlite"
    )
    orders = sim.all_orders(SYMBOL)
    venue_fills = {f.trade_id for f in sim.all_fills(SYMBOL)}
    balances = asyncio.run(sim.fetch_balances())
    sim.close_sync()

    per_cid = Counter(o.client_order_id for o in orders)
    # Two of our orders open on one side at one price: one level placed twice. (By price, not
    # by the level in the client id: a reshape keeps an order under its old level index.)
    ours = [
        o for o in orders if o.status.value == "open" and decode_cid(o.client_order_id) is not None
    ]
    open_slots = Counter((o.side, o.price) for o in ours)
    placed_twice = sum(n - 1 for n in per_cid.values())
    duplicates = placed_twice + sum(n - 1 for n in open_slots.values())
    live = {s.order_cid for s in state.slots.values() if s.has_live_order}
    live |= {state.liquidation_cid} - {""}
    order_mismatches = len(live ^ {o.client_order_id for o in ours})
    inst = state.instrument
    mismatches = int(inst.from_steps(state.base_steps) != balances[inst.base].total) + int(
        inst.from_atoms(state.quote_atoms) != balances[inst.quote].total
    )
    return {
        "duplicate_orders": duplicates,
        "cids_placed_twice": placed_twice,
        "book_venue_order_mismatches": order_mismatches,
        "lost_fills": len(venue_fills - set(recorded)),
        "double_applied_fills": max(0, state.fills - len(venue_fills))
        + (len(recorded) - len(set(recorded)))
        + len(set(recorded) - venue_fills),
        "balance_mismatches": mismatches,
        "halted_boots": int(halted),
        "fills": state.fills,
        "realized_pnl": str(inst.from_atoms(state.realized_pnl_atoms)),
    }


def torture(
    *,
    engine: str,
    crashes: int,
    seed: int,
    faults: float,
    market: str,
    trades: int,
    venue: str = "sim",
    reconfigs: int = 0,
    keep: Path | None = None,
) -> dict[str, Any]:
    if engine not in ("simple", "durable"):
        raise SystemExit(f"--engine must be simple or durable, was {engine}")
    _ENGINE["name"] = engine
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="gm-torture-") as tmp:
        root = Path(tmp)
        config = root / "config.yaml"
        config.write_text(_config_text(seed, faults, venue=venue))
        data_dir = root / "tortured"
        if venue == "http":  # the reference is fault-free; the tortured run gets the chaos
            if not reconfigs:
                _start_server(root / "reference", config)
            chaos = ("--chaos", str(faults), "--seed", str(seed)) if faults > 0 else ()
            _start_server(data_dir, config, chaos)
        reference = None if reconfigs else _finish(root / "reference", config, trades)
        changes = None
        if reconfigs:
            base = config.read_text()
            changes = Reconfigs(root, base, reconfigs, random.Random(seed * 7919 + 1))
        started = time.monotonic()
        lives = _lives(data_dir, config, rng, crashes, trades, market, changes)
        final = _finish(data_dir, changes.config_for(data_dir) if changes else config, trades)
        _stop_servers()
        verdict = _judge(data_dir)
        verdict |= changes.judge(data_dir) if changes else {}
        if keep is not None:
            shutil.copytree(root, keep)
    pnl_matches = _pnl_matches(market, final, verdict, reference)
    return {
        "engine": engine,
        "venue": venue,
        "crashes": lives["crashes"],
        **{k: verdict.pop(k) for k in ZEROS},
        "pnl_matches_crash_free": pnl_matches,
        "market": market,
        "faults": faults,
        "trades": trades,
        "fills": verdict.pop("fills"),
        "crash_free_fills": reference["fills"] if reference else None,
        "realized_pnl": verdict.pop("realized_pnl"),
        "crash_free_realized_pnl": reference["realized_pnl"] if reference else None,
        "printed_while_down": lives["printed_while_down"],
        "failpoint_crashes": lives["failpoint_crashes"],
        **verdict,
        "seconds": round(time.monotonic() - started, 1),
    }


ZEROS = (
    "duplicate_orders",
    "cids_placed_twice",
    "book_venue_order_mismatches",
    "lost_fills",
    "double_applied_fills",
    "balance_mismatches",
    "halted_boots",
)
"""The judgements that must all be 0 (``halted_boots`` may not under ``--faults``: a boot that
cannot fetch its snapshot after the retries leaves the symbol halted, by design)."""

RESERVE = 150
"""Trades left to the final run of a torture with reconfigurations: its loop applies what is
still queued at its first trade."""


def _lives(
    data_dir: Path,
    config: Path,
    rng: random.Random,
    crashes: int,
    trades: int,
    market: str,
    changes: Reconfigs | None,
) -> dict[str, Any]:
    """Kill and restart the bot until ``crashes`` deaths (and every reconfiguration queued)."""
    died, printed_while_down, attempts = 0, 0, 0
    points: Counter[str] = Counter()
    wanted = changes.wanted if changes else 0
    reserve = RESERVE if changes else 0
    while (died < crashes or (changes and len(changes.queued) < wanted)) and attempts < (
        crashes + wanted
    ) * 4:
        attempts += 1
        position = _feed_position(data_dir)
        remaining = trades - reserve - position
        if remaining <= 0:
            break
        plan, life_config = NO_PLAN, config
        if changes:
            plan = changes.plan_life(data_dir, position)
            life_config = changes.config_for(data_dir)
        queue = (lambda: changes.queue_running(data_dir)) if changes else (lambda: None)
        was_killed, how = _one_life(data_dir, life_config, remaining, rng, plan, queue)
        died += int(was_killed)
        if was_killed:
            points[how.split("#")[0] if "#" in how else "kill"] += 1
        print(
            f"life {attempts}: {'died at ' + how if was_killed else 'finished (' + how + ')'}",
            flush=True,
        )
        if was_killed and market == "live":
            printed_while_down += _print_while_down(data_dir, config, rng)
    return {
        "crashes": died,
        "printed_while_down": printed_while_down,
        "failpoint_crashes": dict(sorted(points.items())),
    }


def _pnl_matches(
    market: str, final: dict[str, Any], verdict: dict[str, Any], reference: dict[str, Any] | None
) -> bool | None:
    """Realized PnL and fills equal to the crash-free run's (a paused market only)."""
    if market != "paused" or reference is None:
        return None
    return bool(
        final["realized_pnl"] == reference["realized_pnl"]
        and final["fills"] == reference["fills"]
        and Decimal(verdict["realized_pnl"]) == Decimal(reference["realized_pnl"])
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--engine", default="simple")
    parser.add_argument("--crashes", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--faults", type=float, default=0.0)
    parser.add_argument("--market", choices=("paused", "live"), default="paused")
    parser.add_argument("--trades", type=int, default=0, help="trades in all (default 100/crash)")
    parser.add_argument(
        "--venue",
        choices=("sim", "http"),
        default="sim",
        help="sim: the in-process exchange; http: gridmaker sim-exchange through ccxt",
    )
    parser.add_argument(
        "--reconfigs",
        type=int,
        default=0,
        help="reconfigurations to queue at seeded moments (0: none; see crash_torture_reconfig)",
    )
    parser.add_argument(
        "--keep", type=Path, help="copy the run's data dirs and configs here (a post-mortem)"
    )
    args = parser.parse_args()
    trades = args.trades or max(2000, args.crashes * 100)
    try:
        result = _torture_with(args, trades)
    finally:
        _stop_servers()
    print(json.dumps(result))


def _torture_with(args: argparse.Namespace, trades: int) -> dict[str, Any]:
    return torture(
        engine=args.engine,
        crashes=args.crashes,
        seed=args.seed,
        faults=args.faults,
        market=args.market,
        trades=trades,
        venue=args.venue,
        reconfigs=args.reconfigs,
        keep=args.keep,
    )


if __name__ == "__main__":
    main()
