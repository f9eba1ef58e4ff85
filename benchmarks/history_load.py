"""End-to-end ``gridmaker backtest`` on 10,000,000 trades in Binance's public CSV layout.

Usage: python benchmarks/history_load.py [--trades N] [--rebuild]

The file is built once from a seeded walk and cached in the system temp dir
(``gridmaker-bench/BTCUSDT-trades-<N>.csv``, about 0.8 GB at 10M trades): headerless
``id,price,qty,quoteQty,time,isBuyerMaker,isBestMatch`` rows as Binance publishes them, prices
with 8 decimals on the 0.01 tick, one trade every ~86 ms (a day is about a million trades).
The price is a mean-reverting walk around 50,000 USDT (σ 1 USDT a trade, stationary spread
1.5 %), so the default grid (20 + 20 levels, 0.25 % apart) keeps trading the whole run.

Then ``gridmaker backtest --feed FILE --json`` runs with the default config as a user runs it,
in a child process, and the figures are printed: wall time, its split (load, replay, the rest:
start-up and summary), the CPU seconds it used (all threads) and its peak RSS. NautilusTrader
is timed on the same file only when importable in this Python; otherwise one line says so.
Figures only, no assertions; the last line is JSON.
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


def nautilus_note() -> str:
    if importlib.util.find_spec("nautilus_trader") is None:
        return (
            "nautilus: skipped — nautilus_trader is not installed in this Python, so the same "
            "file was not timed through Nautilus' loader and engine"
        )
    return (
        "nautilus: installed, but this benchmark has no Nautilus side for the CSV yet "
        "(backtest_vs_nautilus.py compares the replay on the shared walk)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trades", type=int, default=N_TRADES)
    parser.add_argument("--rebuild", action="store_true", help="write the file again")
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
    row["load_average"] = round(max(before, os.getloadavg()[0]), 1)
    print(
        f"{'':10} {'trades':>12} {'wall s':>8} {'load s':>8} {'replay s':>9} {'rest s':>7} "
        f"{'CPU s':>7} {'peak MB':>8} {'fills':>8} {'decisions':>10}"
    )
    print(
        f"{'gridmaker':10} {row['trades']:>12,} {row['wall_s']:>8} {row['load_s']:>8} "
        f"{row['replay_s']:>9} {row['rest_s']:>7} {row['cpu_s']:>7} {row['peak_rss_mb']:>8,} "
        f"{row['fills']:>8,} {row['decisions']:>10,}"
    )
    print(
        f"load average {row['load_average']} on {os.cpu_count()} CPUs: wall times stretch when "
        "the machine is shared; CPU s (all threads of the run) does much less"
    )
    print(nautilus_note())
    print(json.dumps({"gridmaker": row, "file_mb": round(size_mb)}))


if __name__ == "__main__":
    main()
