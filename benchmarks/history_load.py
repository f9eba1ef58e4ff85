"""End-to-end ``gridmaker backtest`` on 10,000,000 trades in Binance's public CSV layout.

Usage: python benchmarks/history_load.py [--trades N] [--rebuild] [--nautilus-trades N]

The file is built once from a seeded walk and cached in the system temp dir
(``gridmaker-bench/BTCUSDT-trades-<N>.csv``, about 0.8 GB at 10M trades): headerless
``id,price,qty,quoteQty,time,isBuyerMaker,isBestMatch`` rows as Binance publishes them, prices
with 8 decimals on the 0.01 tick, one trade every ~86 ms (a day is about a million trades).
The price is a mean-reverting walk around 50,000 USDT (σ 1 USDT a trade, stationary spread
1.5 %), so the default grid (20 + 20 levels, 0.25 % apart) keeps trading the whole run.

Then ``gridmaker backtest --feed FILE --json`` runs with the default config as a user runs it,
in a child process, and the figures are printed: wall time, its split (load, replay, the rest:
start-up and summary), the CPU seconds it used (all threads) and its peak RSS.

Then the same file goes through NautilusTrader 1.221.0's own loader and engine in a child under
the Python named by ``NT_PYTHON`` (or this one, if it has ``nautilus_trader``):
``nautilus_trades.py`` reads it with ``CSVTickDataLoader`` and ``TradeTickDataWrangler`` and runs
the grid of ``nautilus_grid.py`` with our default config's levels, spacing and order size. Its
wall time is split the same way (load: read, wrangle, hand to the engine; replay: the engine's
run; the rest: start-up, imports, disposal) and the two rows are printed side by side with
whether their orders and fills are equal. ``--nautilus-trades N`` runs Nautilus on the first N
trades only (it holds every trade as an object: about 300 MB a million) and adds a row
extrapolated from N, labelled so (load and replay scaled linearly, start-up kept). Without
Nautilus one line says what is missing. Figures only, no assertions; the last line is JSON.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(tempfile.gettempdir()) / "gridmaker-bench"
N_TRADES = 10_000_000
SEED = 20_240_101
START_TICKS = 5_000_000
SIGMA_TICKS = 100.0
STATIONARY_TICKS = 75_000.0
START_MS = 1_704_067_200_000
"""2024-01-01T00:00:00Z."""
CHUNK = 1_000_000


def build(path: Path, n: int) -> None:
    """Write ``n`` trades in Binance's headerless ``trades`` layout, a million at a time."""
    import numpy as np
    import pyarrow as pa  # type: ignore[import-untyped]  # no stubs
    import pyarrow.compute as pc  # type: ignore[import-untyped]
    import pyarrow.csv as pa_csv  # type: ignore[import-untyped]

    rng = np.random.default_rng(SEED)
    keep = 1.0 - SIGMA_TICKS**2 / (2.0 * STATIONARY_TICKS**2)
    deviation, ts, first_id = 0.0, START_MS, 1
    options = pa_csv.WriteOptions(include_header=False, quoting_style="none")
    schema = pa.schema(
        [(name, pa.string()) for name in ("id", "price", "qty", "quoteQty", "time")]
        + [("isBuyerMaker", pa.string()), ("isBestMatch", pa.string())]
    )
    partial = path.with_suffix(".partial")
    with pa_csv.CSVWriter(str(partial), schema, write_options=options) as writer:
        for begin in range(0, n, CHUNK):
            size = min(CHUNK, n - begin)
            steps = rng.standard_normal(size) * SIGMA_TICKS
            walk = np.empty(size)
            for i, step in enumerate(steps.tolist()):  # the AR(1) recursion: a plain loop
                deviation = keep * deviation + step
                walk[i] = deviation
            ticks = START_TICKS + np.rint(walk).astype(np.int64)
            sats = np.maximum(1, np.exp(rng.normal(-7.0, 2.0, size)) * 1e8).astype(np.int64)
            stamps = ts + np.cumsum(rng.exponential(86.4, size).astype(np.int64))
            ts = int(stamps[-1])
            quote = ticks * sats // 100  # in 1e-8 USDT
            table = pa.table(
                {
                    "id": pc.cast(pa.array(np.arange(first_id, first_id + size)), pa.string()),
                    "price": _fixed(ticks * 1_000_000, 8),
                    "qty": _fixed(sats, 8),
                    "quoteQty": _fixed(quote, 8),
                    "time": pc.cast(pa.array(stamps), pa.string()),
                    "isBuyerMaker": pa.array(np.where(rng.random(size) < 0.5, "True", "False")),
                    "isBestMatch": pa.array(np.full(size, "True")),
                },
                schema=schema,
            )
            writer.write_table(table)
            first_id += size
    partial.rename(path)


def _fixed(units: Any, places: int) -> Any:
    """Integers in units of 10**-places as plain decimal text with all ``places`` digits."""
    import pyarrow as pa
    import pyarrow.compute as pc

    whole = pc.cast(pa.array(units // 10**places), pa.string())
    frac = pc.utf8_lpad(pc.cast(pa.array(units % 10**places), pa.string()), places, "0")
    return pc.binary_join_element_wise(whole, frac, ".")


def ours(path: Path) -> dict[str, Any]:
    """``gridmaker backtest`` on the file, default config, in a child; wall time and RSS."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    with tempfile.TemporaryDirectory() as work:
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "gridmaker.cli", "backtest", "--feed", str(path), "--json"],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"gridmaker backtest failed ({done.returncode}): {done.stderr[-2000:]}")
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    rss = usage.ru_maxrss / 1024
    load, replay = float(summary["load_s"]), float(summary["elapsed_s"])
    return {
        "impl": "gridmaker",
        "trades": summary["ticks"],
        "wall_s": round(wall, 2),
        "load_s": round(load, 2),
        "replay_s": round(replay, 2),
        "rest_s": round(wall - load - replay, 2),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mb": round(rss),
        "fills": summary["fills"],
        "decisions": summary["decisions"],
        "orders": summary["orders"],
        "realized_pnl": summary["realized_pnl"],
    }


def nautilus_python() -> tuple[str | None, str]:
    """The Python to run Nautilus with (``NT_PYTHON``, else this one if it has Nautilus), or
    None; and a line to print (why it is skipped, or another version than 1.221.0)."""
    import backtest_vs_nautilus as versus

    if not os.environ.get("NT_PYTHON", "").strip():
        if importlib.util.find_spec("nautilus_trader") is not None:
            return sys.executable, ""
        return None, (
            "nautilus: skipped — NT_PYTHON is not set and nautilus_trader is not installed in "
            f"this Python, so the same file was not timed through Nautilus; {versus.INSTALL}"
        )
    return versus.nautilus_python()


def default_grid() -> list[str]:
    """Our default config's grid as ``nautilus_trades.py`` arguments; it runs the classic
    grid only (neutral, arithmetic, unbounded, fixed), so anything else is refused."""
    sys.path.insert(0, str(ROOT / "src"))
    from gridmaker.config import Config
    from gridmaker.core.grid import GridKind
    from gridmaker.core.state import GridMode

    market = Config().markets[0]
    grid = market.grid
    absolute, ppm = grid.spacing_value()
    classic = (
        market.mode is GridMode.NEUTRAL
        and grid.kind is GridKind.ARITHMETIC
        and absolute is None
        and grid.buy_levels == grid.sell_levels
        and grid.lower is None
        and not grid.trailing
    )
    if not classic:
        raise SystemExit(f"the default grid is not the classic grid nautilus_grid runs: {grid}")
    qty = f"{market.order_size:f}"
    return ["--spacing-ppm", str(ppm), "--levels", str(grid.buy_levels), "--qty", qty]


def theirs(python: str, path: Path, trades: int | None) -> dict[str, Any] | None:
    """``nautilus_trades.py`` on the file (its first ``trades`` rows) in a child; None (and a
    line saying why) if it fails."""
    args = [python, str(Path(__file__).with_name("nautilus_trades.py")), str(path)]
    args += default_grid() + ([] if trades is None else ["--trades", str(trades)])
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        print(f"nautilus: failed ({done.returncode}): {done.stderr.strip()[-1000:]}")
        return None
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    load, replay = float(figures["load_s"]), float(figures["run_s"])
    return {
        **figures,
        "wall_s": round(wall, 2),
        "replay_s": round(replay, 2),
        "rest_s": round(wall - load - replay, 2),
        "cpu_s": round(cpu, 2),
        "peak_rss_mb": round(figures["ru_maxrss_mb"]),
    }


def extrapolated(row: dict[str, Any], trades: int) -> dict[str, Any]:
    """``row`` at ``trades``: load and replay scaled linearly from its trades, the rest
    (start-up, imports) kept; CPU and peak RSS are not guessed."""
    scale = trades / row["trades"]
    load, replay = row["load_s"] * scale, row["replay_s"] * scale
    return {
        "trades": trades,
        "wall_s": round(load + replay + row["rest_s"], 1),
        "load_s": round(load, 1),
        "replay_s": round(replay, 1),
        "rest_s": row["rest_s"],
        "cpu_s": "—",
        "extrapolated_from": row["trades"],
    }


def _line(name: str, row: dict[str, Any]) -> str:
    def number(key: str) -> str:
        value = row.get(key)
        return "—" if value is None else f"{value:,}"

    return (
        f"{name:30} {row['trades']:>12,} {row['wall_s']:>8} {row['load_s']:>8} "
        f"{row['replay_s']:>9} {row['rest_s']:>7} {row['cpu_s']:>7} {number('peak_rss_mb'):>8} "
        f"{number('fills'):>8} {number('decisions'):>10}"
    )


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive number of trades; was {text}")
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trades", type=int, default=N_TRADES)
    parser.add_argument("--rebuild", action="store_true", help="write the file again")
    parser.add_argument(
        "--nautilus-trades",
        type=_positive,
        default=None,
        help="run Nautilus on the first N trades only and extrapolate (default: all)",
    )
    args = parser.parse_args()
    try:
        import numpy  # noqa: F401
        import pyarrow  # noqa: F401
    except ImportError as exc:
        print(f"needs numpy and pyarrow ({exc})")
        raise SystemExit(2) from None
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"BTCUSDT-trades-{args.trades}.csv"
    if args.rebuild or not path.exists():
        started = time.perf_counter()
        build(path, args.trades)
        print(f"built {path} in {time.perf_counter() - started:.1f} s")
    size_mb = path.stat().st_size / 2**20
    print(f"file: {path} ({size_mb:,.0f} MB, {args.trades:,} trades)")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    before = os.getloadavg()[0]
    row = ours(path)
    python, note = nautilus_python()
    nautilus = None
    if python is not None:
        nautilus = theirs(python, path, args.nautilus_trades)
    row["load_average"] = round(max(before, os.getloadavg()[0]), 1)
    print(
        f"{'':30} {'trades':>12} {'wall s':>8} {'load s':>8} {'replay s':>9} {'rest s':>7} "
        f"{'CPU s':>7} {'peak MB':>8} {'fills':>8} {'decisions':>10}"
    )
    print(_line("gridmaker", row))
    result: dict[str, Any] = {"gridmaker": row, "file_mb": round(size_mb)}
    if nautilus is not None:
        print(_line(f"nautilus {nautilus['version']}", nautilus))
        result["nautilus"] = nautilus
        if nautilus["trades"] < row["trades"]:
            guess = extrapolated(nautilus, row["trades"])
            print(_line(f"  extrapolated from {nautilus['trades']:,}", guess))
            result["nautilus_extrapolated"] = guess
        else:
            same = (nautilus["orders"], nautilus["fills"]) == (row["orders"], row["fills"])
            print(
                f"same orders/fills: {'yes' if same else 'NO'} ({row['orders']:,}/{row['fills']:,}"
                f" ours, {nautilus['orders']:,}/{nautilus['fills']:,} Nautilus); Nautilus"
                f" wall/ours {nautilus['wall_s'] / row['wall_s']:.1f}x, peak RSS/ours"
                f" {nautilus['peak_rss_mb'] / row['peak_rss_mb']:.1f}x"
            )
        print(
            f"nautilus load split: read {nautilus['read_s']} s (CSVTickDataLoader), wrangle"
            f" {nautilus['wrangle_s']} s (TradeTickDataWrangler),"
            f" add_data {nautilus['add_data_s']} s"
        )
    print(
        f"load average {row['load_average']} on {os.cpu_count()} CPUs: wall times stretch when "
        "the machine is shared; CPU s (all threads of the run) does much less"
    )
    if note:
        print(note)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
