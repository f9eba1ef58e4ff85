"""Our backtester against NautilusTrader on the same feed and the same classic grid.

Usage: python benchmarks/backtest_vs_nautilus.py [calm] [choppy] [--ticks N] [--repeat R]

Everything it needs is in this directory. The feed is ``walk_feed.py``: 1,000,000 seeded
BTCUSDT quotes (bid = a mean-reverting walk in integer ticks, ask = bid + 1 tick; ``--ticks``
takes a prefix); it needs numpy (``pip install -e '.[bench]'``). The grid: 20 buys below and
20 sells above 50,000.00 at 5,000 ticks (0.1 %), 0.001 BTC each, an account of 1,000,000 USDT
and 10 BTC — our ``neutral`` mode on a bounded grid anchored at the start price.

Our side runs in a child process per scenario (clean peak RSS). NautilusTrader runs the same
grid in ``nautilus_grid.py`` under the Python named by ``NT_PYTHON``, one with
``nautilus-trader==1.221.0`` and numpy (never a dependency of gridmaker)::

    python3 -m venv /tmp/ntenv && /tmp/ntenv/bin/pip install nautilus-trader==1.221.0 numpy
    NT_PYTHON=/tmp/ntenv/bin/python python benchmarks/backtest_vs_nautilus.py --ticks 100000

Then both sides' orders and fills are printed side by side with the speed ratio. Our side also
replays each feed with the config's default risk limits (fast move 5 % in 300 s, drawdown 10 %)
on timestamps 86.4 ms apart (a million prints a day, like Binance BTCUSDT's trades), and prints
that run's CPU time against the same replay with the limits off (CPU time, not wall: the ratio
must not depend on what else the machine runs): the breaker must not cost a decision per level
change (target: at most 1.5x). Without a
usable ``NT_PYTHON`` one line says what is missing, our figures are still printed (and on the
full feed compared with Nautilus' counts below) and the exit code is 0. Without numpy one line
says so and the exit code is 2: there is nothing to measure. Figures only, no assertions; the
last line is JSON.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import walk_feed

ROOT = Path(__file__).resolve().parents[1]
HARNESS = Path(__file__).resolve().with_name("nautilus_grid.py")
START_MS = 1_700_000_000_000
PRINT_MS = 86
"""Timestamps of the risk runs: ~a million prints a day, as Binance prints BTCUSDT trades."""
NAUTILUS_VERSION = "1.221.0"
NAUTILUS = {"calm": (411, 371), "choppy": (32_141, 32_101)}
"""Orders and fills of NautilusTrader 1.221.0 (``nautilus_grid.py``) on the full 1M-quote feeds."""
INSTALL = (
    f"set NT_PYTHON to a Python with nautilus-trader=={NAUTILUS_VERSION} and numpy"
    f" (python3 -m venv /tmp/ntenv && /tmp/ntenv/bin/pip install"
    f" nautilus-trader=={NAUTILUS_VERSION} numpy)"
)


def one(scenario: str, ticks: int, repeat: int) -> dict[str, Any]:
    """Run our backtester on one scenario in this process."""
    from gridmaker.backtest import BacktestSetup, TickSeries, run_backtest
    from gridmaker.core.grid import GridKind, GridTemplate
    from gridmaker.core.state import GridMode, StrategyParams
    from gridmaker.core.units import Instrument, Steps

    started = time.perf_counter()
    bids = walk_feed.make_walk(scenario, ticks)
    load_s = time.perf_counter() - started
    inst = Instrument(
        symbol="BTC/USDT",
        base="BTC",
        quote="USDT",
        tick_size=Decimal("0.01"),
        step_size=Decimal("0.00001"),
        min_qty=Decimal("0.00001"),
        min_notional=Decimal("5"),
        maker_fee=Decimal("0.001"),
        taker_fee=Decimal("0.001"),
    )
    setup = BacktestSetup(
        instrument=inst,
        params=StrategyParams(
            strategy_id="nt", mode=GridMode.NEUTRAL, order_qty_steps=Steps(walk_feed.QTY_STEPS)
        ),
        template=GridTemplate(
            kind=GridKind.ARITHMETIC,
            spacing_ticks=walk_feed.SPACING_TICKS,
            buy_levels=walk_feed.LEVELS,
            sell_levels=walk_feed.LEVELS,
        ),
        book_base_steps=inst.to_steps(Decimal(10)),
        book_quote_atoms=inst.to_atoms(Decimal(1_000_000)),
        venue_base_steps=inst.to_steps(Decimal(10)),
        venue_quote_atoms=inst.to_atoms(Decimal(1_000_000)),
        start_price_ticks=walk_feed.START_TICKS,
        is_preflight_checked=False,  # 0.1 % spacing < two 0.1 % fees: Nautilus runs it anyway
    )
    series = TickSeries(prices=bids, spread_ticks=1)
    runs = [run_backtest(setup, series, record=False) for _ in range(repeat)]
    best = runs[0]
    rates = [r.ticks_per_s for r in runs]
    risk = _risk_pair(setup, bids, repeat)
    return {
        "impl": "gridmaker",
        "scenario": scenario,
        "ticks": best.ticks,
        "load_s": round(load_s, 3),
        "run_s": round(statistics.median(r.elapsed_s for r in runs), 3),
        "ticks_per_s": round(statistics.median(rates)),
        "orders": best.orders,
        "fills": best.state.fills,
        "decisions": best.decisions,
        "realized_pnl": best.summary()["realized_pnl"],
        "ru_maxrss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        **risk,
    }


def _risk_pair(setup: Any, bids: list[int], repeat: int) -> dict[str, Any]:
    """The same replay with timestamps, limits off and at the config's defaults (median)."""
    from array import array
    from dataclasses import replace

    from gridmaker.backtest import TickSeries, run_backtest
    from gridmaker.core.risk import RiskParams

    stamps = array("q", range(START_MS, START_MS + len(bids) * PRINT_MS, PRINT_MS))
    series = TickSeries(prices=bids, ts_event=stamps, spread_ticks=1)
    limits = RiskParams(fast_move_ppm=50_000, fast_move_window_ms=300_000, drawdown_ppm=100_000)
    times: dict[str, float] = {}
    counts: dict[str, tuple[int, int, int]] = {}
    for name, params in (("off", RiskParams()), ("default", limits)):
        cpu: list[float] = []
        for _ in range(repeat):
            started = time.process_time()
            r = run_backtest(replace(setup, risk=params), series, record=False)
            cpu.append(time.process_time() - started)
        times[name] = statistics.median(cpu)
        counts[name] = (r.orders, r.state.fills, r.decisions)
    return {
        "risk_off_cpu_s": round(times["off"], 3),
        "risk_default_cpu_s": round(times["default"], 3),
        "risk_ratio": round(times["default"] / times["off"], 2),
        "risk_default_decisions": counts["default"][2],
        "risk_same_fills": counts["default"][:2] == counts["off"][:2],
    }


def nautilus_python() -> tuple[str | None, str]:
    """The Python to run Nautilus with, or None and the one line that says why not.

    The second item is a note to print even when Nautilus runs (another version than the one
    the published counts are for), else empty.
    """
    python = os.environ.get("NT_PYTHON", "").strip()
    if not python:
        return None, f"nautilus: skipped — NT_PYTHON is not set; {INSTALL}"
    try:
        done = subprocess.run(
            [python, str(HARNESS), "--probe"],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"nautilus: skipped — NT_PYTHON={python} does not run ({exc}); {INSTALL}"
    if done.returncode != 0:
        lines = (done.stdout + done.stderr).strip().splitlines()
        why = lines[-1] if lines else f"exit code {done.returncode}"
        return None, f"nautilus: skipped — NT_PYTHON={python} cannot run it ({why}); {INSTALL}"
    version = json.loads(done.stdout.strip().splitlines()[-1])["nautilus_trader"]
    if version != NAUTILUS_VERSION:
        return python, f"nautilus: NT_PYTHON has nautilus-trader {version}, not {NAUTILUS_VERSION}"
    return python, ""


def nautilus(python: str, scenario: str, ticks: int) -> dict[str, Any] | None:
    """Run ``nautilus_grid.py`` on one scenario; None (and a line saying why) if it fails."""
    done = subprocess.run(
        [python, str(HARNESS), scenario, "--ticks", str(ticks)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        print(f"nautilus {scenario}: failed: {done.stderr.strip()[-400:]}", flush=True)
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _child(scenario: str, ticks: int, repeat: int) -> dict[str, Any]:
    args = [sys.executable, __file__, "--child", scenario, "--repeat", str(repeat)]
    args += ["--ticks", str(ticks)]
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"gridmaker {scenario}: failed:\n{done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    )
    return done.stdout.strip() or "unknown"


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive number of quotes; was {text}")
    return value


def _compare(ours: dict[str, Any], theirs: dict[str, Any] | None, ticks: int) -> str:
    """Whether our orders/fills equal Nautilus': measured if it ran, else published (full feed)."""
    counts = (ours["orders"], ours["fills"])
    if theirs is not None:
        same = counts == (theirs["orders"], theirs["fills"])
        return f"  same orders/fills as Nautilus: {'yes' if same else 'NO'}"
    if ticks == walk_feed.N_QUOTES:
        expected = NAUTILUS[ours["scenario"]]
        same = counts == expected
        return f"  same as Nautilus' {expected[0]:,}/{expected[1]:,}: {'yes' if same else 'NO'}"
    return ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="*", default=sorted(walk_feed.SIGMA_TICKS))
    parser.add_argument(
        "--ticks", type=_positive, default=walk_feed.N_QUOTES, help="a prefix of the walk"
    )
    parser.add_argument("--repeat", type=_positive, default=3, help="runs per scenario (median)")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    unknown = sorted(set(args.scenarios) - set(walk_feed.SIGMA_TICKS))
    if unknown:
        known = ", ".join(sorted(walk_feed.SIGMA_TICKS))
        parser.error(f"scenario must be one of {known}; was {', '.join(unknown)}")
    if importlib.util.find_spec("numpy") is None:
        print(
            "gridmaker: cannot build the feed — numpy is missing; pip install -e '.[bench]'",
            flush=True,
        )
        return 2
    if args.child:
        print(json.dumps(one(args.child, args.ticks, args.repeat)), flush=True)
        return 0
    print(
        f"python {platform.python_version()}  cpu {platform.processor() or platform.machine()}"
        f"  cores {os.cpu_count()}  commit {_commit()}",
        flush=True,
    )
    python, note = nautilus_python()
    if note:
        print(note, flush=True)
    results: dict[str, Any] = {}
    for scenario in args.scenarios:
        ours = _child(scenario, args.ticks, args.repeat)
        theirs = None if python is None else nautilus(python, scenario, args.ticks)
        print(
            f"{scenario:7s} gridmaker {ours['ticks_per_s']:>11,} ticks/s  "
            f"orders {ours['orders']:,} fills {ours['fills']:,}  "
            f"peak RSS {ours['ru_maxrss_mb']} MB  (median of {args.repeat})"
            + _compare(ours, theirs, args.ticks),
            flush=True,
        )
        print(
            f"{scenario:7s} gridmaker with the default risk limits: {ours['risk_default_cpu_s']} s"
            f" CPU vs {ours['risk_off_cpu_s']} s without = {ours['risk_ratio']}x"
            f" (target <= 1.5x); decisions {ours['risk_default_decisions']:,};"
            f" same orders/fills: {'yes' if ours['risk_same_fills'] else 'NO'}",
            flush=True,
        )
        if theirs is not None:
            ratio = ours["ticks_per_s"] / theirs["ticks_per_s"]
            print(
                f"{scenario:7s} nautilus  {theirs['ticks_per_s']:>11,} ticks/s  "
                f"orders {theirs['orders']:,} fills {theirs['fills']:,}  "
                f"peak RSS {theirs['ru_maxrss_mb']} MB  ratio {ratio:.1f}x",
                flush=True,
            )
            ours["nautilus"] = theirs
            ours["ratio"] = round(ratio, 1)
        results[scenario] = ours
    print(json.dumps(results), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
