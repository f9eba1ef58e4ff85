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
import statistics
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.kit, from the repo alone

from gridmaker.exchange.ccxt.rate_budget import RateBudget  # noqa: I001
from gridmaker.fleet.leases import connect_fleet
from gridmaker.fleet.rate_budget import PgRateBudget
from gridmaker.store.pg_schema import migrate_pg
from gridmaker.store.url import redact_url
from tests.kit.postgres import PgServer, throwaway_cluster

_HUGE = 1 << 30
"""A limit no run reaches: the figures are the check's cost, not its refusals."""


def _run(budget: RateBudget, spends: int, latencies: list[float]) -> None:
    for n in range(spends):
        before = time.perf_counter()
        budget.spend(1, "GET bench")
        budget.observe(200, {"X-MBX-USED-WEIGHT-1M": str(n)})
        latencies.append((time.perf_counter() - before) * 1000)


def _measure(budgets: list[RateBudget], spends: int) -> dict[str, Any]:
    per_thread: list[list[float]] = [[] for _ in budgets]
    threads = [
        threading.Thread(target=_run, args=(b, spends, lat))
        for b, lat in zip(budgets, per_thread, strict=True)
    ]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    latencies = sorted(x for lat in per_thread for x in lat)
    return {
        "spends": len(latencies),
        "per_s": round(len(latencies) / wall),
        "p50_ms": round(statistics.median(latencies), 3),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 3),
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
    parser.add_argument("--spends", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--pg-url", default=os.environ.get("GRIDMAKER_STORE_URL"))
    args = parser.parse_args()
    results: dict[str, dict[str, Any]] = {}
    results["in-process"] = _measure([RateBudget(limit=_HUGE, window_s=1e6)], args.spends)
    with _pg_url(args.pg_url) as url:
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
