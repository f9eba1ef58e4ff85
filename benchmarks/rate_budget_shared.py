"""One request's budget check: in-process ``RateBudget`` vs ``PgRateBudget`` (one row per key).

Usage: python benchmarks/rate_budget_shared.py [--spends N] [--workers W] [--pg-url URL]

Each figure is ``spend(1)`` then ``observe(200, used-weight header)``, as the adapter does around
every request. "postgresql xW" runs W threads, each with its own budget and connection (W
workers), all on one key: they contend for one row. PostgreSQL is the one ``--pg-url`` (or
``GRIDMAKER_STORE_URL``) names, else a throwaway cluster started here on 127.0.0.1
(``tests/kit/postgres.py``: fsync off; this row is not durable anyway, it is rewritten each
request). Figures, not assertions; the JSON line last holds them all.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from functools import partial
from typing import Any

from pg_bench import pg_url, timed_threads

from gridmaker.exchange.ccxt.rate_budget import RateBudget
from gridmaker.fleet.leases import connect_fleet
from gridmaker.fleet.rate_budget import PgRateBudget
from gridmaker.store.pg_schema import migrate_pg
from gridmaker.store.url import redact_url

_HUGE = 1 << 30
"""A limit no run reaches: the figures are the check's cost, not its refusals."""


def _run(budget: RateBudget, spends: int, latencies: list[float]) -> None:
    for n in range(spends):
        before = time.perf_counter()
        budget.spend(1, "GET bench")
        budget.observe(200, {"X-MBX-USED-WEIGHT-1M": str(n)})
        latencies.append((time.perf_counter() - before) * 1000)


def _measure(budgets: list[RateBudget], spends: int) -> dict[str, Any]:
    row = timed_threads([partial(_run, b, spends) for b in budgets], digits=3)
    row["spends"] = row.pop("count")
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spends", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--pg-url", default=os.environ.get("GRIDMAKER_STORE_URL"))
    args = parser.parse_args()
    results: dict[str, dict[str, Any]] = {}
    results["in-process"] = _measure([RateBudget(limit=_HUGE, window_s=1e6)], args.spends)
    with pg_url(args.pg_url) as url:
        with connect_fleet(url) as db:
            migrate_pg(db, redact_url(url))
        key = f"bench-{os.getpid()}-{time.time_ns()}"
        for workers in (1, args.workers):
            budgets = [PgRateBudget(url, key, limit=_HUGE, window_s=1e6) for _ in range(workers)]
            results[f"postgresql x{workers}"] = _measure(list(budgets), args.spends)
            for b in budgets:
                b.close()
        where = redact_url(url)
    print(
        f"{platform.machine()}, Python {platform.python_version()}, load {os.getloadavg()[0]:.1f}"
    )
    print(f"PostgreSQL at {where}")
    print(f"{'budget':<16}{'spends':>9}{'spends/s':>10}{'p50 ms':>9}{'p99 ms':>9}")
    for name, r in results.items():
        print(f"{name:<16}{r['spends']:>9,}{r['per_s']:>10,}{r['p50_ms']:>9}{r['p99_ms']:>9}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
