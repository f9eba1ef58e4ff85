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
import time
from decimal import Decimal
from functools import partial
from typing import Any

from pg_bench import pg_url, timed_threads

from gridmaker.fleet.breaker import FLEET, account_scope, enforce_limits, publish_mark, set_limits
from gridmaker.fleet.leases import connect_fleet
from gridmaker.fleet.registry import add_grid
from gridmaker.store.pg_schema import migrate_pg
from gridmaker.store.url import redact_url

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
    row = timed_threads([partial(_run, url, checks) for _ in range(workers)], digits=2)
    row["checks"] = row.pop("count")
    return row


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
    with pg_url(args.pg_url) as url:
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
