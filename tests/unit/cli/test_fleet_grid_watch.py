"""A fleet grid's watch: marked trading only once its books exist; a failed publish is survived.

Real PostgreSQL and a real ``Leases``; the orchestrator is a small fake that keeps its books.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import psycopg
import pytest

from gridmaker.cli.fleet_grid import _watch
from gridmaker.fleet.leases import Leases, connect_fleet
from gridmaker.fleet.registry import FleetGrid
from gridmaker.fleet.worker import GridRun
from gridmaker.store.pg_schema import migrate_pg
from tests.kit.waiting import eventually_async

SYMBOL = "X01/USDT"
_Db = psycopg.Connection[tuple[Any, ...]]


class _Orchestrator:
    """Books appear when the first price built them (``book``); nothing is halted."""

    def __init__(self) -> None:
        self.symbols = [SYMBOL]
        self.books: dict[str, Any] = {}

    def state(self, symbol: str) -> Any:
        return self.books.get(symbol)

    def halted(self, symbol: str) -> str:
        return ""

    def book(self) -> None:
        self.books[SYMBOL] = SimpleNamespace(last_price_ticks=None)  # no mark to publish yet


@pytest.fixture
def db(pg_url: str) -> Iterator[_Db]:
    with connect_fleet(pg_url) as conn:
        migrate_pg(conn, "test")
        yield conn


def _run(pg_url: str) -> GridRun:
    leases = Leases(connect_fleet(pg_url), "w1", ttl_s=30)
    lease = leases.acquire("g1")
    assert lease is not None
    grid = FleetGrid("g1", "A", "", datetime.now(UTC), None, "", 1)
    return GridRun(grid, lease, "w1", leases, threading.Event())


def _owner(db: _Db) -> tuple[str, object]:
    row = db.execute(
        "SELECT state, trading_since FROM gridmaker.fleet_owners WHERE grid = 'g1'"
    ).fetchone()
    assert row is not None
    return str(row[0]), row[1]


def _tradings(db: _Db) -> int:
    row = db.execute(
        "SELECT count(*) FROM gridmaker.fleet_history WHERE grid = 'g1' AND event = 'trading'"
    ).fetchone()
    assert row is not None
    return int(str(row[0]))


def test_watch_marks_a_new_grid_trading_only_once_its_book_exists(db: _Db, pg_url: str) -> None:
    run, orchestrator = _run(pg_url), _Orchestrator()
    stop = asyncio.Event()

    async def main() -> None:
        watching = asyncio.create_task(
            _watch(run, orchestrator, None, stop, "A", booked=False)  # type: ignore[arg-type]
        )
        try:
            await eventually_async(lambda: _owner(db)[0].startswith("starting"), what="starting")
            assert _owner(db)[1] is None and _tradings(db) == 0
            orchestrator.book()
            await eventually_async(lambda: _owner(db)[0] == "trading", what="trading")
            assert _owner(db)[1] is not None
            run.lease.lose("taken")
            await asyncio.wait_for(watching, timeout=10)
        finally:
            watching.cancel()

    asyncio.run(main())
    assert stop.is_set()
    assert _tradings(db) == 1  # marked once, not at every publish
    run.leases.db.close()


def test_watch_survives_a_failed_publish_and_still_stops_the_grid(
    db: _Db, pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    run, orchestrator = _run(pg_url), _Orchestrator()
    orchestrator.book()
    run.leases.db.close()  # every publish fails now: no connection and no way to reopen it
    stop = asyncio.Event()

    async def main() -> None:
        watching = asyncio.create_task(
            _watch(run, orchestrator, None, stop, "A", booked=False)  # type: ignore[arg-type]
        )
        await eventually_async(
            lambda: watching.done() or _failed_publishes(caplog) >= 2, what="two publish failures"
        )
        assert not watching.done()  # a failed publish must not end the watch
        run.lease.lose("taken")
        await asyncio.wait_for(watching, timeout=10)

    asyncio.run(main())
    assert stop.is_set()


def _failed_publishes(caplog: pytest.LogCaptureFixture) -> int:
    return sum("publishing failed" in r.getMessage() for r in caplog.records)
