"""The fleet-wide breaker on a real PostgreSQL: marks summed per scope, a crossed limit trips
every grid of the scope (in each grid's own journal), once, however many workers check."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from decimal import Decimal

import psycopg
import pytest

from gridmaker.core.events import BreakerCommand, BreakerOrder
from gridmaker.core.evolve import evolve
from gridmaker.core.risk import BreakerState, Trigger, trip
from gridmaker.engine.commands import apply_at_rest
from gridmaker.fleet.breaker import (
    FLEET,
    LimitsInvalid,
    LimitsUnknown,
    Trip,
    account_scope,
    enforce_limits,
    mark_of,
    publish_mark,
    reset_limits,
    scope_views,
    set_limits,
)
from gridmaker.fleet.leases import connect_fleet
from gridmaker.fleet.registry import add_grid, mark_removed
from gridmaker.store.pg_store import PgStore
from gridmaker.store.rows import CommandRow
from gridmaker.store.url import parse_store_url
from tests import kit
from tests.kit.waiting import eventually

_Db = psycopg.Connection[tuple[object, ...]]
GRIDS = {"a1": "A", "a2": "A", "b1": "B"}


def _store(url: str, grid: str, *, read_only: bool = False) -> PgStore:
    return PgStore(parse_store_url(f"{url}?grid={grid}"), read_only=read_only)


def _pending(url: str, grid: str) -> list[CommandRow]:
    store = _store(url, grid, read_only=True)
    try:
        return store.pending_commands()
    finally:
        store.close()


@pytest.fixture
def db(pg_url: str) -> Iterator[_Db]:
    """Three declared grids (a1, a2 on account A; b1 on B), each with a stored book."""
    for grid in GRIDS:
        store = _store(pg_url, grid)  # migrates: the fleet's tables too
        store.commit(kit.state())
        store.close()
    conn = connect_fleet(pg_url)
    for grid, account in GRIDS.items():
        add_grid(conn, grid, account, "markets: []\n")
    yield conn
    conn.close()


def _mark(db: _Db, grid: str, equity: str, exposure: str = "0", epoch: int = 1) -> None:
    publish_mark(db, grid, GRIDS[grid], "USDT", Decimal(equity), Decimal(exposure), epoch)


def test_mark_of_a_book_is_its_quote_plus_its_base_at_the_price() -> None:
    # Arrange: 1 BTC and 100000 USDT, priced at 50000.00 (ticks of 0.01)
    state = kit.state(base="1", quote="100000")

    # Act
    quote, equity, exposure = mark_of(state, 5_000_000)

    # Assert
    assert (quote, equity, exposure) == ("USDT", Decimal("150000"), Decimal("50000"))


def test_enforce_limits_account_drawdown_crossed_trips_every_grid_of_the_account_only(
    db: _Db, pg_url: str
) -> None:
    # Arrange: A's grids marked by two workers (epochs 1 and 3); high water 2000
    _mark(db, "a1", "1000", epoch=1)
    _mark(db, "a2", "1000", epoch=3)
    _mark(db, "b1", "1000")
    set_limits(db, account_scope("A"), Decimal("0.05"), None)
    assert enforce_limits(db) == []
    _mark(db, "a1", "880", epoch=1)  # 1880 of 2000: 6 % down

    # Act
    trips = enforce_limits(db)

    # Assert
    assert [(t.scope, t.grids, t.commands) for t in trips] == [("account:A", ("a1", "a2"), 2)]
    assert str(trips[0]).endswith("; 2 trip command(s) journaled in 2 grid(s): a1, a2")
    for grid in ("a1", "a2"):
        [command] = _pending(pg_url, grid)
        assert (command.symbol, command.command) == ("BTC/USDT", "trip")
        assert "account:A" in command.reason and "6% below its high water 2000" in command.reason
        tripped = apply_at_rest(kit.state(), command.command, command.reason, 1)
        assert tripped.risk.breaker is not BreakerState.ACTIVE
    assert _pending(pg_url, "b1") == []
    [view] = scope_views(db, "account:A")
    assert view.limits.tripped and view.limits.high_water == Decimal("2000")


def test_enforce_limits_after_a_trip_journals_nothing_more(db: _Db, pg_url: str) -> None:
    # Arrange: tripped once
    _mark(db, "a1", "1000")
    set_limits(db, account_scope("A"), Decimal("0.05"), None)
    enforce_limits(db)
    _mark(db, "a1", "500")
    assert len(enforce_limits(db)) == 1

    # Act: the loss deepens and every worker keeps checking
    _mark(db, "a1", "100")
    again = enforce_limits(db) + enforce_limits(db)

    # Assert
    assert again == []
    assert len(_pending(pg_url, "a1")) == 1


def test_enforce_limits_drawdown_exactly_at_the_limit_does_not_trip(db: _Db, pg_url: str) -> None:
    # Arrange
    _mark(db, "a1", "1000")
    set_limits(db, account_scope("A"), Decimal("0.05"), None)
    enforce_limits(db)
    _mark(db, "a1", "950")

    # Act
    trips = enforce_limits(db)

    # Assert
    assert trips == []
    assert _pending(pg_url, "a1") == []


def test_enforce_limits_exposure_above_the_limit_trips(db: _Db, pg_url: str) -> None:
    # Arrange: 300 + 300 held against a 500 limit
    _mark(db, "a1", "1000", exposure="300")
    _mark(db, "a2", "1000", exposure="300")
    set_limits(db, account_scope("A"), None, Decimal("500"))

    # Act
    trips = enforce_limits(db)

    # Assert
    assert len(trips) == 1
    assert "exposure 600 USDT is above the limit 500 USDT" in trips[0].reason
    assert [c.command for c in _pending(pg_url, "a2")] == ["trip"]


def test_enforce_limits_fleet_scope_trips_every_grid_not_removed(db: _Db, pg_url: str) -> None:
    # Arrange: b1 removed; its mark no longer counts and its journal gets nothing
    for grid in GRIDS:
        _mark(db, grid, "1000")
    mark_removed(db, "b1", "cancel")
    set_limits(db, FLEET, Decimal("0.1"), None)
    enforce_limits(db)
    _mark(db, "a2", "700")  # 1700 of 2000

    # Act
    trips = enforce_limits(db)

    # Assert
    assert [(t.scope, t.grids) for t in trips] == [("fleet", ("a1", "a2"))]
    assert [len(_pending(pg_url, g)) for g in GRIDS] == [1, 1, 0]


def test_enforce_limits_removing_a_grid_takes_its_equity_out_without_a_trip(db: _Db) -> None:
    # Arrange: three grids of 1000 under a 10 % fleet drawdown limit; high water 3000
    for grid in GRIDS:
        _mark(db, grid, "1000")
    set_limits(db, FLEET, Decimal("0.1"), None)
    set_limits(db, account_scope("B"), Decimal("0.1"), None)
    enforce_limits(db)

    # Act: b1 leaves the fleet (a third of its equity); its owner still tries to mark it
    mark_removed(db, "b1", "cancel")
    trips = enforce_limits(db)
    late = publish_mark(db, "b1", "B", "USDT", Decimal(1000), Decimal(0), 1)

    # Assert
    assert trips == [] and late is False
    views = {v.limits.scope: v for v in scope_views(db)}
    assert (views["fleet"].limits.high_water, views["fleet"].totals.equity) == (
        Decimal(2000),
        Decimal(2000),
    )
    assert views["account:B"].limits.high_water is None  # nothing left to measure from
    assert enforce_limits(db) == []


def test_enforce_limits_with_nothing_to_change_writes_nothing(db: _Db) -> None:
    # Arrange: the high water is set; the equity has not moved above it
    _mark(db, "a1", "1000")
    set_limits(db, account_scope("A"), Decimal("0.5"), None)
    enforce_limits(db)
    _mark(db, "a1", "900")
    version = db.execute("SELECT xmin::text FROM gridmaker.fleet_limits").fetchall()

    # Act
    trips = enforce_limits(db) + enforce_limits(db)

    # Assert: the row is the same version (no lock taken, no update written)
    assert trips == []
    assert db.execute("SELECT xmin::text FROM gridmaker.fleet_limits").fetchall() == version


def test_enforce_limits_stale_mark_counts_at_its_last_value(db: _Db) -> None:
    # Arrange: a2's owner stopped publishing an hour ago, holding 900 of exposure
    _mark(db, "a1", "1000", exposure="200")
    _mark(db, "a2", "1000", exposure="900")
    db.execute("UPDATE gridmaker.fleet_marks SET at = at - interval '1 hour' WHERE grid = 'a2'")
    set_limits(db, account_scope("A"), None, Decimal("1000"))

    # Act
    trips = enforce_limits(db)

    # Assert
    assert len(trips) == 1 and "exposure 1100 USDT" in trips[0].reason


def test_enforce_limits_mixed_quote_assets_skips_the_scope_and_says_why(
    db: _Db, pg_url: str
) -> None:
    # Arrange
    _mark(db, "a1", "1000", exposure="5000")
    publish_mark(db, "a2", "A", "BTC", Decimal("1"), Decimal("1"), 1)
    set_limits(db, account_scope("A"), None, Decimal("10"))

    # Act
    trips = enforce_limits(db)

    # Assert
    assert trips == []
    [view] = scope_views(db, "account:A")
    assert "BTC, USDT" in view.limits.reason and not view.limits.tripped
    assert _pending(pg_url, "a1") == []


def test_publish_mark_of_an_older_epoch_does_not_overwrite_a_newer_one(db: _Db) -> None:
    # Arrange: the grid moved to epoch 4; the old owner wakes up at epoch 3
    _mark(db, "a1", "1000", epoch=4)

    # Act
    written = publish_mark(db, "a1", "A", "USDT", Decimal("1"), Decimal("0"), 3)

    # Assert
    assert written is False
    assert publish_mark(db, "nobody", "A", "USDT", Decimal(1), Decimal(0), 9) is False
    row = db.execute("SELECT equity, epoch FROM gridmaker.fleet_marks WHERE grid = 'a1'")
    assert row.fetchone() == ("1000", 4)


def test_reset_limits_clears_the_trip_and_restarts_the_high_water(db: _Db, pg_url: str) -> None:
    # Arrange: tripped at 800 of 1000
    _mark(db, "a1", "1000")
    scope = account_scope("A")
    set_limits(db, scope, Decimal("0.1"), None)
    enforce_limits(db)
    _mark(db, "a1", "800")
    enforce_limits(db)

    # Act
    limits = reset_limits(db, scope).limits
    after = enforce_limits(db)

    # Assert: 800 is the new high water; a new 10 % loss from there trips again
    assert (limits.tripped, limits.high_water, after) == (False, Decimal("800"), [])
    _mark(db, "a1", "700")
    assert len(enforce_limits(db)) == 1
    assert [c.command for c in _pending(pg_url, "a1")] == ["trip"]  # the first was withdrawn
    with pytest.raises(LimitsUnknown):
        reset_limits(db, account_scope("nobody"))


def test_enforce_limits_grid_without_a_book_gets_a_trip_for_every_market(
    db: _Db, pg_url: str
) -> None:
    # Arrange: a3 declared on A, never booted (no book yet)
    add_grid(db, "a3", "A", "markets: []\n")
    _mark(db, "a1", "1000", exposure="100")
    set_limits(db, account_scope("A"), None, Decimal("50"))

    # Act
    enforce_limits(db)

    # Assert
    [command] = _pending(pg_url, "a3")
    assert (command.symbol, command.command) == ("*", "trip")


@pytest.mark.parametrize(
    ("drawdown", "exposure"),
    [(Decimal(0), None), (Decimal(1), None), (Decimal("-0.1"), None), (None, Decimal(0))],
)
def test_set_limits_out_of_range_is_refused_and_writes_nothing(
    db: _Db, drawdown: Decimal | None, exposure: Decimal | None
) -> None:
    # Act
    with pytest.raises(LimitsInvalid):
        set_limits(db, FLEET, drawdown, exposure)

    # Assert
    assert scope_views(db) == []


def test_enforce_limits_from_two_workers_at_once_journals_one_trip(pg_url: str, db: _Db) -> None:
    # Arrange: the scope is crossed; a third session holds its row so both checks queue on it
    _mark(db, "a1", "1000", exposure="100")
    _mark(db, "a2", "1000", exposure="100")
    set_limits(db, account_scope("A"), None, Decimal("150"))
    holder, one, two = (connect_fleet(pg_url) for _ in range(3))
    results: list[list[Trip]] = []
    try:
        with holder.transaction():
            holder.execute("SELECT 1 FROM gridmaker.fleet_limits FOR UPDATE")
            threads = [
                threading.Thread(target=lambda c=c: results.append(enforce_limits(c)))
                for c in (one, two)
            ]
            for t in threads:
                t.start()
            eventually(lambda: _waiting_on_locks(db) == 2, timeout_s=10, what="two checks")

        # Act: the row is free; both checks run
        for t in threads:
            t.join(timeout=10)
    finally:
        for c in (holder, one, two):
            c.close()

    # Assert
    assert sorted(len(r) for r in results) == [0, 1]
    assert [len(_pending(pg_url, g)) for g in ("a1", "a2")] == [1, 1]


def _apply_commands(url: str, grid: str) -> None:
    """What the grid's loop does with its queued breaker commands: applied, saved, spent."""
    store = _store(url, grid)
    try:
        for command in store.pending_commands():
            state = store.load_book(command.symbol)
            assert state is not None
            order = BreakerOrder(
                symbol=command.symbol,
                command=BreakerCommand(command.command),
                reason=command.reason,
                ts_event=1,
                command_id=command.id,
            )
            changed = apply_at_rest(state, command.command, command.reason, 1)
            store.commit(changed, causes=(order,))
    finally:
        store.close()


def test_reset_limits_lifts_only_the_trips_its_scope_made(db: _Db, pg_url: str) -> None:
    # Arrange: a2 tripped by its own limit first; a3 has no book (its trip stays queued)
    own = _store(pg_url, "a2")
    base = kit.state()
    own.commit(evolve(base, risk=trip(base.risk, base.risk_params, Trigger.DRAWDOWN, "own", 1)))
    own.close()
    add_grid(db, "a3", "A", "markets: []\n")
    _mark(db, "a1", "1000", exposure="100")
    scope = account_scope("A")
    set_limits(db, scope, None, Decimal("50"))
    enforce_limits(db)
    _apply_commands(pg_url, "a1")
    _apply_commands(pg_url, "a2")

    # Act
    lifted = reset_limits(db, scope).lifted

    # Assert: a1 is sent a reset; a2 keeps its own trip; a3's queued trip is withdrawn
    assert (lifted.withdrawn, lifted.reset) == (1, (("a1", "BTC/USDT"),))
    assert [(c.command, c.symbol) for c in _pending(pg_url, "a1")] == [("reset", "BTC/USDT")]
    assert _pending(pg_url, "a2") == [] and _pending(pg_url, "a3") == []
    _apply_commands(pg_url, "a1")
    reader = _store(pg_url, "a1", read_only=True)
    book = reader.load_book("BTC/USDT")
    reader.close()
    assert book is not None and book.risk.breaker is BreakerState.ACTIVE


def _waiting_on_locks(db: _Db) -> int:
    row = db.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock'"
    ).fetchone()
    return int(str(row[0])) if row else 0
