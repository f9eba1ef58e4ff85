"""What the PostgreSQL benchmarks share: a database to run on, and latencies timed per thread."""

from __future__ import annotations

import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.kit, from the repo alone

from tests.kit.postgres import PgServer, throwaway_cluster

__all__ = ["pg_url", "timed_threads"]


@contextmanager
def pg_url(given: str | None) -> Iterator[str]:
    """``given`` (its query dropped), else a new database in a throwaway cluster on 127.0.0.1."""
    if given:
        yield given.split("?")[0]
        return
    with throwaway_cluster() as url:
        yield PgServer(url).new_database()


def timed_threads(runs: list[Callable[[list[float]], None]], *, digits: int) -> dict[str, Any]:
    """Run each ``run(latencies)`` in its own thread at once; their latencies (ms) summed up:
    how many, per second of wall time, p50 and p99 (rounded to ``digits``)."""
    per_thread: list[list[float]] = [[] for _ in runs]
    threads = [
        threading.Thread(target=r, args=(lat,)) for r, lat in zip(runs, per_thread, strict=True)
    ]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    latencies = sorted(x for lat in per_thread for x in lat)
    return {
        "count": len(latencies),
        "per_s": round(len(latencies) / wall),
        "p50_ms": round(statistics.median(latencies), digits),
        "p99_ms": round(latencies[max(0, int(len(latencies) * 0.99) - 1)], digits),
    }
