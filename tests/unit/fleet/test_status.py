"""``fleet_status``: the read model of ``gridmaker fleet status`` on a real PostgreSQL, with
owners taken by real ``Leases`` and workers as the worker writes them."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import psycopg
import pytest

from gridmaker.fleet.leases import Leases, connect_fleet
from gridmaker.fleet.registry import add_grid, mark_removed
from gridmaker.fleet.status import fleet_status
from gridmaker.store.pg_schema import migrate_pg

_Db = psycopg.Connection[tuple[object, ...]]


@pytest.fixture
def db(pg_url: str) -> Iterator[_Db]:
    with connect_fleet(pg_url) as conn:
        migrate_pg(conn, "test")
        for name in ("g1", "g2"):
            add_grid(conn, name, "main", "exchange: binance\n")
        yield conn


def _worker(db: _Db, worker: str, *, heartbeat_age_s: float = 0.0) -> None:
    db.execute(
        "INSERT INTO gridmaker.fleet_workers (worker, host, pid, version, started_at, "
        "heartbeat_at) VALUES (%s, 'host-a', 4242, '1', clock_timestamp(), "
        "clock_timestamp() - make_interval(secs => %s))",
        (worker, heartbeat_age_s),
    )


def test_fleet_status_of_an_owned_grid_names_owner_epoch_state_and_lease(db: _Db) -> None:
    # Arrange: w1 takes g1 twice over (the second take after a release: epoch 2) and trades
    _worker(db, "w1-aaaa0001")
    leases = Leases(db, "w1-aaaa0001", ttl_s=30)
    first = leases.acquire("g1")
    assert first is not None
    leases.release(first, "stopped")
    lease = leases.acquire("g1")
    assert lease is not None
    leases.mark(lease, "trading", trading=True, sync=True)

    # Act
    status = fleet_status(db)

    # Assert
    g1, g2 = status.grids
    assert (g1.name, g1.owner, g1.epoch, g1.state) == ("g1", "w1-aaaa0001", 2, "trading")
    assert g1.owned and g1.lease_left_s is not None and 25 < g1.lease_left_s <= 30
    assert g1.trading_since is not None and g1.last_sync is not None
    assert g1.last_sync_age_s is not None and g1.last_sync_age_s < 5
    assert (g2.owner, g2.epoch, g2.state, g2.owned) == ("", 0, "unowned", False)


def test_fleet_status_of_a_released_lease_has_no_lease_left(db: _Db) -> None:
    # Arrange
    leases = Leases(db, "w1-aaaa0001", ttl_s=30)
    lease = leases.acquire("g1")
    assert lease is not None
    leases.release(lease, "stopped")

    # Act
    g1 = fleet_status(db, grid="g1").grids[0]

    # Assert: the last owner is still named, its lease is over
    assert (g1.owner, g1.owned, g1.lease_left_s, g1.owner_state) == (
        "w1-aaaa0001",
        False,
        None,
        "stopped",
    )
    assert g1.state == "unowned (last: stopped)"


def test_fleet_status_of_a_lease_that_ran_out_says_unowned_not_trading(db: _Db) -> None:
    # Arrange: the owner traded, then went silent past its lease (a failover is due)
    leases = Leases(db, "w1-aaaa0001", ttl_s=30)
    lease = leases.acquire("g1")
    assert lease is not None
    leases.mark(lease, "trading", trading=True, sync=True)
    db.execute(
        "UPDATE gridmaker.fleet_owners SET lease_until = clock_timestamp() - interval '1 second'"
    )

    # Act
    g1 = fleet_status(db, grid="g1").grids[0]

    # Assert
    assert (g1.owned, g1.lease_left_s, g1.epoch) == (False, None, 1)
    assert g1.state == "unowned (last: trading)"


def test_fleet_status_of_a_worker_with_an_old_heartbeat_says_dead(db: _Db) -> None:
    # Arrange: one heartbeat a second old, one a minute old, one stopped cleanly
    _worker(db, "live-00000001", heartbeat_age_s=1)
    _worker(db, "dead-00000002", heartbeat_age_s=60)
    _worker(db, "done-00000003")
    db.execute(
        "UPDATE gridmaker.fleet_workers SET stopped_at = clock_timestamp() "
        "WHERE worker = 'done-00000003'"
    )

    # Act
    status = fleet_status(db, dead_after_s=10)

    # Assert
    states = {w.worker: (w.alive, w.state) for w in status.workers}
    assert states == {"live-00000001": (True, "alive"), "dead-00000002": (False, "dead")}
    dead = next(w for w in status.workers if w.worker == "dead-00000002")
    assert dead.heartbeat_age_s >= 60 and (dead.host, dead.pid) == ("host-a", 4242)
    assert status.stopped_workers == 1


def test_fleet_status_of_a_worker_the_fleet_recovered_says_dead_at_once(db: _Db) -> None:
    # Arrange: a heartbeat 3 s old, but the workers (a shorter TTL) recovered its work
    _worker(db, "gone-00000001", heartbeat_age_s=3)
    db.execute("UPDATE gridmaker.fleet_workers SET recovered_at = clock_timestamp()")

    # Act
    (gone,) = fleet_status(db, dead_after_s=10).workers

    # Assert
    assert (gone.alive, gone.state) == (False, "dead (its work recovered)")


def test_fleet_status_dead_after_is_the_callers_ttl(db: _Db) -> None:
    # Arrange
    _worker(db, "slow-00000001", heartbeat_age_s=20)

    # Act
    lenient = fleet_status(db, dead_after_s=30).workers[0]
    strict = fleet_status(db, dead_after_s=10).workers[0]

    # Assert
    assert (lenient.alive, strict.alive) == (True, False)


def test_fleet_status_of_a_removed_grid_says_removed_or_removing(db: _Db) -> None:
    # Arrange: g1 removed while its owner still holds it; g2 removed with nobody on it
    lease = Leases(db, "w1-aaaa0001", ttl_s=30).acquire("g1")
    assert lease is not None
    mark_removed(db, "g1", "cancel")
    mark_removed(db, "g2", "leave")

    # Act
    g1, g2 = fleet_status(db).grids

    # Assert
    assert g1.state == "removing (booting)" and g1.removed_at is not None
    assert g2.state == "removed"


def test_fleet_status_reads_the_mark_and_the_grids_own_boots_and_halts(db: _Db) -> None:
    # Arrange: g1's mark, and rows of g1's store namespace (another namespace's too)
    db.execute(
        "INSERT INTO gridmaker.fleet_marks (grid, account, quote, equity, exposure, epoch, at) "
        "VALUES ('g1', 'main', 'USDT', '10000.50', '1234.5', 1, clock_timestamp())"
    )
    for store_id, reason in (("g1", "max drawdown"), ("other", "elsewhere")):
        db.execute(
            "INSERT INTO gridmaker.halts (store_id, reason, at) VALUES (%s, %s, %s)",
            (store_id, reason, "2026-12-01T00:00:00Z"),
        )
    db.execute(
        "INSERT INTO gridmaker.boots (store_id, symbol, revision, report_json, halted, at) "
        "VALUES ('g1', 'BTC/USDT', 3, '{}', '', '2026-12-01T00:00:01Z')"
    )

    # Act
    g1, g2 = fleet_status(db).grids

    # Assert
    assert (g1.quote, g1.equity, g1.exposure) == ("USDT", Decimal("10000.50"), Decimal("1234.5"))
    assert (g1.last_halt, g1.last_boot_at) == ("max drawdown", "2026-12-01T00:00:01Z")
    assert (g2.equity, g2.last_halt, g2.last_boot_at) == (None, None, None)


def test_fleet_status_of_one_grid_reads_that_grid_alone(db: _Db) -> None:
    # Act
    only = fleet_status(db, grid="g2")
    unknown = fleet_status(db, grid="nope")

    # Assert
    assert [g.name for g in only.grids] == ["g2"]
    assert unknown.grids == []
