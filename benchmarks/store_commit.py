"""One decision's commit (a fill + an intent + the book, one transaction): SQLite vs PostgreSQL.

Usage: python benchmarks/store_commit.py [--commits N] [--pg-url URL]

The PostgreSQL store is the one ``--pg-url`` (or ``GRIDMAKER_STORE_URL``) names, else a
throwaway cluster started here on 127.0.0.1 (``tests/kit/postgres.py``: fsync off, as in the
tests; a real server's commit waits for its disk). SQLite is a file in a temp dir, WAL,
synchronous=NORMAL, as the bot runs it. Figures, not assertions; the JSON line last holds both.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.kit, from the repo alone

from gridmaker.core.decide import decide  # noqa: I001
from gridmaker.core.events import Fill, PlaceOrder, PriceTick
from gridmaker.core.units import Atoms, Steps, Ticks
from gridmaker.store import Store
from gridmaker.store.pg_store import PgStore
from gridmaker.store.url import parse_store_url, redact_url
from tests import kit
from tests.kit.postgres import PgServer, throwaway_cluster


def _measure(store: Store, commits: int) -> dict[str, Any]:
    state = kit.state()
    tick = PriceTick(
        symbol=state.symbol, price_ticks=Ticks(5_000_000), qty_steps=Steps(1), ts_event=1
    )
    decision = decide(state, tick)
    place = next(a for a in decision.actions if isinstance(a, PlaceOrder))
    store.commit(decision.state, actions=decision.actions)
    latencies: list[float] = []
    started = time.perf_counter()
    for n in range(commits):
        fill = Fill(
            symbol=place.symbol,
            trade_id=f"t{n}",
            client_order_id=place.client_order_id,
            side=place.side,
            price_ticks=place.price_ticks,
            qty_steps=Steps(1),
            fee_atoms=Atoms(0),
            ts_event=10 + n,
        )
        before = time.perf_counter()
        assert not store.has_fill(place.symbol, fill.trade_id)
        store.commit(decision.state, causes=(fill,), actions=(place,))
        latencies.append((time.perf_counter() - before) * 1000)
    wall = time.perf_counter() - started
    latencies.sort()
    return {
        "commits": commits,
        "per_s": round(commits / wall),
        "p50_ms": round(statistics.median(latencies), 3),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 3),
    }


@contextmanager
def _pg_url(given: str | None) -> Iterator[str]:
    if given:
        yield given
        return
    with throwaway_cluster() as url:
        yield PgServer(url).new_database()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=2000)
    parser.add_argument("--pg-url", default=os.environ.get("GRIDMAKER_STORE_URL"))
    args = parser.parse_args()
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = Store(Path(tmp) / "gridmaker.sqlite")
        results["sqlite"] = _measure(sqlite, args.commits)
        sqlite.close()
    with _pg_url(args.pg_url) as url:
        grid = f"bench-{os.getpid()}-{time.time_ns()}"
        pg = PgStore(parse_store_url(f"{url.split('?')[0]}?grid={grid}"))
        results["postgresql"] = _measure(pg, args.commits)
        pg.close()
        where = redact_url(url.split("?")[0])
    print(
        f"{platform.machine()}, Python {platform.python_version()}, load {os.getloadavg()[0]:.1f}"
    )
    print(f"PostgreSQL at {where}")
    print(f"{'store':<12}{'commits':>9}{'commits/s':>11}{'p50 ms':>9}{'p99 ms':>9}")
    for name, r in results.items():
        print(f"{name:<12}{r['commits']:>9,}{r['per_s']:>11,}{r['p50_ms']:>9}{r['p99_ms']:>9}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
