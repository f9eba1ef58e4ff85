"""One fleet-breaker check (``enforce_limits``, nothing crossed) as every worker runs it each
second: its cost by fleet size, alone and with W workers checking at once.

Usage: python benchmarks/fleet_breaker.py [--checks N] [--workers W] [--sizes 12,120,600]
       [--pg-url URL]

A fleet of G grids has G/12 accounts (at least one), each with limits, and fleet-wide limits:
every check locks and sums G/12 + 1 scopes. "xW" runs W threads, each its own connection (W
workers), all checking the same limits: they queue on each scope's row. PostgreSQL is the one
``--pg-url`` (or ``GRIDMAKER_STORE_URL``) names, else a throwaway cluster started here on
127.0.0.1 (``tests/kit/postgres.py``, fsync off). Figures, not assertions; the JSON line last
holds them all.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.kit, from the repo alone

from gridmaker.fleet.breaker import FLEET, account_scope, enforce_limits  # noqa: I001
from gridmaker.fleet.breaker import publish_mark, set_limits
from gridmaker.fleet.leases import connect_fleet
from gridmaker.fleet.registry import add_grid
from gridmaker.store.pg_schema import migrate_pg
from gridmaker.store.url import redact_url
from tests.kit.postgres import PgServer, throwaway_cluster

GRIDS_PER_ACCOUNT = 12


def _fleet(url: str, grids: int) -> int:
    """Declare ``grids`` grids with marks and limits that never trip; the scopes checked."""
    accounts = max(1, grids // GRIDS_PER_ACCOUNT)
    with connect_fleet(url) as db:
        migrate_pg(db, redact_url(url))
        db.execute("TRUNCATE gridmaker.fleet_grids, gridmaker.fleet_marks, gridmaker.fleet_limits")
        for n in range(grids):
            name, account = f"g{n:04d}", f"acct{n % accounts:03d}"
            add_grid(db, name, account, "markets: []\n")
            publish_mark(db, name, account, "USDT", Decimal("2000.5"), Decimal("1000.25"), 1)
        for a in range(accounts):
            set_limits(db, account_scope(f"acct{a:03d}"), Decimal("0.5"), Decimal(10**9))
        set_limits(db, FLEET, Decimal("0.5"), Decimal(10**12))
        assert enforce_limits(db) == []  # sets every high water once
    return accounts + 1


def _run(url: str, checks: int, latencies: list[float]) -> None:
    with connect_fleet(url) as db:
        for _ in range(checks):
            before = time.perf_counter()
            enforce_limits(db)
            latencies.append((time.perf_counter() - before) * 1000)


def _measure(url: str, workers: int, checks: int) -> dict[str, Any]:
    per_thread: list[list[float]] = [[] for _ in range(workers)]
    threads = [threading.Thread(target=_run, args=(url, checks, lat)) for lat in per_thread]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    latencies = sorted(x for lat in per_thread for x in lat)
    return {
        "checks": len(latencies),
        "per_s": round(len(latencies) / wall),
        "p50_ms": round(statistics.median(latencies), 2),
        "p99_ms": round(latencies[max(0, int(len(latencies) * 0.99) - 1)], 2),
    }


@contextmanager
def _pg_url(given: str | None) -> Iterator[str]:
    if given:
        yield given.split("?")[0]
        return
    with throwaway_cluster() as url:
        yield PgServer(url).new_database()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=200)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument(
        "--sizes", default="12,120,600", help="fleet sizes (grids), comma-separated"
    )
    parser.add_argument("--pg-url", default=os.environ.get("GRIDMAKER_STORE_URL"))
    args = parser.parse_args()
    results: dict[str, dict[str, Any]] = {}
    with _pg_url(args.pg_url) as url:
        for grids in (int(g) for g in args.sizes.split(",")):
            scopes = _fleet(url, grids)
            for workers in (1, args.workers):
                row = _measure(url, workers, args.checks)
                results[f"{grids} grids, {scopes} scopes x{workers}"] = row
        where = redact_url(url)
    print(
        f"{platform.machine()}, Python {platform.python_version()}, load {os.getloadavg()[0]:.1f}"
    )
    print(f"PostgreSQL at {where}")
    print(f"{'fleet':<32}{'checks':>8}{'checks/s':>10}{'p50 ms':>9}{'p99 ms':>9}")
    for name, r in results.items():
        print(f"{name:<32}{r['checks']:>8,}{r['per_s']:>10,}{r['p50_ms']:>9}{r['p99_ms']:>9}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
