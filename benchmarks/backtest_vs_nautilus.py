"""Our backtester against NautilusTrader on the same feed and the same classic grid.

Usage: python benchmarks/backtest_vs_nautilus.py [calm] [choppy] [--ticks N] [--repeat R]

The feed is ``../shared/bench/walk.py`` (1M BTCUSDT quotes: bid = walk, ask = bid + 1 tick; needs
numpy: ``pip install -e '.[bench]'``). The grid is Nautilus' ``nt_grid.py grid``: 20 buys below
and 20 sells above 50,000.00 at 5,000 ticks (0.1 %), 0.001 BTC each, an account of 1,000,000 USDT
and 10 BTC — our ``neutral`` mode on a bounded grid anchored at the start price.

Each scenario runs in a child process (clean peak RSS). When ``NT_PYTHON`` names a Python with
``nautilus-trader==1.221.0`` and numpy installed (never a dependency of gridmaker)::

    python3 -m venv /tmp/ntenv && /tmp/ntenv/bin/pip install nautilus-trader==1.221.0 numpy
    NT_PYTHON=/tmp/ntenv/bin/python python benchmarks/backtest_vs_nautilus.py

it also runs ``nt_grid.py grid SCENARIO`` (logging bypassed) and prints the ratio. Figures only,
no assertions; the last line is JSON.
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

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(os.environ.get("SHARED_BENCH", ROOT.parent / "shared" / "bench"))
NAUTILUS = {"calm": (411, 371), "choppy": (32_141, 32_101)}
"""Orders and fills of NautilusTrader 1.221 on the full 1M-quote feeds (shared/bench/README)."""


def _walk_module() -> Any:
    spec = importlib.util.spec_from_file_location("walk", BENCH / "walk.py")
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot find walk.py in {BENCH} (set SHARED_BENCH)")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def one(scenario: str, ticks: int | None, repeat: int) -> dict[str, Any]:
    """Run our backtester on one scenario in this process."""
    from gridmaker.backtest import BacktestSetup, TickSeries, run_backtest
    from gridmaker.core.grid import GridKind, GridTemplate
    from gridmaker.core.strategy import GridMode, StrategyParams
    from gridmaker.core.units import Instrument, Steps

    walk = _walk_module()
    started = time.perf_counter()
    bids = walk.make_walk(scenario, n=ticks or walk.N_TICKS).tolist()
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
        params=StrategyParams(strategy_id="nt", mode=GridMode.NEUTRAL, order_qty_steps=Steps(100)),
        template=GridTemplate(
            kind=GridKind.ARITHMETIC,
            spacing_ticks=walk.SPACING_TICKS,
            buy_levels=walk.LEVELS,
            sell_levels=walk.LEVELS,
        ),
        book_base_steps=inst.to_steps(Decimal(10)),
        book_quote_atoms=inst.to_atoms(Decimal(1_000_000)),
        venue_base_steps=inst.to_steps(Decimal(10)),
        venue_quote_atoms=inst.to_atoms(Decimal(1_000_000)),
        start_price_ticks=walk.START_TICKS,
        is_preflight_checked=False,  # 0.1 % spacing < two 0.1 % fees: Nautilus runs it anyway
    )
    series = TickSeries(prices=bids, spread_ticks=1)
    runs = [run_backtest(setup, series, record=False) for _ in range(repeat)]
    best = runs[0]
    rates = [r.ticks_per_s for r in runs]
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
    }


def nautilus(scenario: str, ticks: int | None) -> dict[str, Any] | None:
    python = os.environ.get("NT_PYTHON")
    if not python:
        return None
    env = {**os.environ, "NT_LOG": "bypass"}
    if ticks:
        env["N_TICKS"] = str(ticks)
    done = subprocess.run(
        [python, "nt_grid.py", "grid", scenario],
        cwd=BENCH,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        print(f"nautilus {scenario}: failed: {done.stderr.strip()[-400:]}", flush=True)
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _child(scenario: str, ticks: int | None, repeat: int) -> dict[str, Any]:
    args = [sys.executable, __file__, "--child", scenario, "--repeat", str(repeat)]
    if ticks:
        args += ["--ticks", str(ticks)]
    done = subprocess.run(args, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    )
    return done.stdout.strip() or "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="*", default=["calm", "choppy"])
    parser.add_argument("--ticks", type=int, default=None, help="a prefix of the 1M-quote walk")
    parser.add_argument("--repeat", type=int, default=3, help="runs per scenario (median)")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(one(args.child, args.ticks, args.repeat)), flush=True)
        return
    print(
        f"python {platform.python_version()}  cpu {platform.processor() or platform.machine()}"
        f"  cores {os.cpu_count()}  commit {_commit()}",
        flush=True,
    )
    if not os.environ.get("NT_PYTHON"):
        print("NautilusTrader: NT_PYTHON not set, skipped (see the module docstring)", flush=True)
    results: dict[str, Any] = {}
    for scenario in args.scenarios:
        ours = _child(scenario, args.ticks, args.repeat)
        theirs = nautilus(scenario, args.ticks)
        line = (
            f"{scenario:7s} gridmaker {ours['ticks_per_s']:>11,} ticks/s  "
            f"orders {ours['orders']:,} fills {ours['fills']:,}  "
            f"peak RSS {ours['ru_maxrss_mb']} MB  (median of {args.repeat})"
        )
        if args.ticks is None:
            expected = NAUTILUS[scenario]
            same = (ours["orders"], ours["fills"]) == expected
            line += (
                f"  same as Nautilus' {expected[0]:,}/{expected[1]:,}: {'yes' if same else 'NO'}"
            )
        print(line, flush=True)
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


if __name__ == "__main__":
    main()
