"""Ownership of a grid: leases, epochs, and the fence the store and the venue put on them.

Real PostgreSQL (``tests/kit/postgres.py``); a worker here is just a ``Leases`` on its own
connection, the stores are real ``PgStore``s and the venue is the in-process simulator.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from decimal import Decimal

import psycopg
import pytest

from gridmaker.core.events import Side
from gridmaker.exchange.api import OrderRequest
from gridmaker.fleet.guarded import LeaseGuardedExchange
from gridmaker.fleet.leases import LeaseClock, Leases, connect_fleet
from gridmaker.store.pg_fence import FENCE_SQL, Fence, Fenced
from gridmaker.store.pg_schema import migrate_pg
from gridmaker.store.pg_store import PgStore
from gridmaker.store.url import parse_store_url
from tests.kit import http_venue as kit
from tests.kit.waiting import eventually

pytestmark = pytest.mark.usefixtures("pg_url")
TTL = 1.5


@pytest.fixture
def db(pg_url: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    with connect_fleet(pg_url) as conn:
        migrate_pg(conn, "test")
        yield conn


_OPEN: list[Leases] = []


@pytest.fixture(autouse=True)
def _close_workers() -> Iterator[None]:
    yield
    while _OPEN:
        _OPEN.pop().db.close()


def _worker(pg_url: str, name: str, ttl: float = TTL) -> Leases:
    _OPEN.append(Leases(connect_fleet(pg_url), name, ttl))
    return _OPEN[-1]


def _store(pg_url: str, grid: str, lease: LeaseClock, owner: str) -> PgStore:
    return PgStore(
        parse_store_url(f"{pg_url}?grid={grid}"),
        exclusive=False,
        fence=Fence(grid, owner, lease.epoch),
    )


def _boots(db: psycopg.Connection[tuple[object, ...]], grid: str) -> int:
    row = db.execute("SELECT count(*) FROM gridmaker.boots WHERE store_id = %s", (grid,)).fetchone()
    assert row is not None
    return int(str(row[0]))


def test_acquire_free_grid_gives_epoch_one_and_holds_out_others(db: object, pg_url: str) -> None:
    # Arrange
    a, b = _worker(pg_url, "wa"), _worker(pg_url, "wb")

    # Act
    first = a.acquire("g1")
    second = b.acquire("g1")

    # Assert
    assert first is not None and first.epoch == 1 and first.valid()
    assert second is None


def test_acquire_after_the_lease_ran_out_bumps_the_epoch_and_the_old_owner_loses(
    db: object, pg_url: str
) -> None:
    # Arrange
    a, b = _worker(pg_url, "wa"), _worker(pg_url, "wb")
    old = a.acquire("g1")
    assert old is not None

    # Act: nobody renews; b waits for the lease to end, then takes it
    taken = eventually(lambda: b.acquire("g1"), timeout_s=10, what="the lease to run out")
    renewed = a.renew(old)

    # Assert
    assert taken.epoch == old.epoch + 1
    assert renewed is False and old.lost and not old.valid()


def test_renewal_keeps_the_grid_past_its_ttl(db: object, pg_url: str) -> None:
    # Arrange
    a, b = _worker(pg_url, "wa"), _worker(pg_url, "wb")
    lease = a.acquire("g1")
    assert lease is not None
    deadline = time.monotonic() + 2.5 * TTL

    # Act: renew every TTL/4 for more than two TTLs while b keeps trying
    taken = []
    while time.monotonic() < deadline:
        assert a.renew(lease)
        taken.append(b.acquire("g1"))
        time.sleep(TTL / 4)

    # Assert
    assert taken and all(t is None for t in taken)
    assert lease.valid()


def test_leases_reopen_the_connection_the_server_ended_and_keep_the_lease(
    db: psycopg.Connection[tuple[object, ...]], pg_url: str
) -> None:
    # Arrange: a worker whose connection the server ends (as after a stall past its timeout)
    opened: list[psycopg.Connection[tuple[object, ...]]] = []

    def reconnect() -> psycopg.Connection[tuple[object, ...]]:
        opened.append(connect_fleet(pg_url))
        return opened[-1]

    leases = Leases(connect_fleet(pg_url), "wa", TTL, reconnect=reconnect)
    _OPEN.append(leases)
    lease = leases.acquire("g1")
    assert lease is not None
    ended = leases.db.info.backend_pid
    db.execute("SELECT pg_terminate_backend(%s)", (ended,))

    # Act: the first statement finds the connection gone; the next one opens a new one
    with pytest.raises(psycopg.OperationalError):
        leases.renew(lease)
    renewed = leases.renew(lease)

    # Assert: the same lease goes on, over a new session, and new grids can be taken
    assert renewed and lease.valid()
    assert len(opened) == 1 and leases.db.info.backend_pid != ended
    assert leases.acquire("g2") is not None


def test_fenced_store_writes_under_its_epoch_and_nothing_after_takeover(
    db: psycopg.Connection[tuple[object, ...]], pg_url: str
) -> None:
    # Arrange
    a, b = _worker(pg_url, "wa"), _worker(pg_url, "wb")
    lease = a.acquire("g1")
    assert lease is not None
    store = _store(pg_url, "g1", lease, "wa")
    store.record_boot("BTC/USDT", {"matched": 0}, "")
    before = _boots(db, "g1")
    eventually(lambda: b.acquire("g1"), timeout_s=10, what="the takeover")

    # Act / Assert: every kind of write is refused, and none lands
    with pytest.raises(Fenced, match="no longer holds epoch 1"):
        store.record_boot("BTC/USDT", {"matched": 0}, "")
    with pytest.raises(Fenced):
        store.add_command("BTC/USDT", "pause", "a zombie's command")
    with pytest.raises(Fenced):
        store.record_halt("a zombie's halt")
    assert before == 1 and _boots(db, "g1") == before
    assert store.pending_commands() == []
    store.close()


def test_fenced_store_refuses_a_write_once_its_lease_ran_out_even_untaken(
    db: psycopg.Connection[tuple[object, ...]], pg_url: str
) -> None:
    # Arrange: the owner stops renewing; nobody else takes the grid
    a = _worker(pg_url, "wa")
    lease = a.acquire("g1")
    assert lease is not None
    store = _store(pg_url, "g1", lease, "wa")

    # Act
    def refused() -> bool:
        try:
            store.record_boot("BTC/USDT", {}, "")
        except Fenced:
            return True
        return False

    # Assert
    assert eventually(refused, timeout_s=10, what="the lease to run out")
    store.close()


def test_takeover_waits_for_a_fenced_write_in_flight_then_supersedes_it(
    db: psycopg.Connection[tuple[object, ...]], pg_url: str
) -> None:
    # Arrange: the owner is inside a write transaction (its fence row share-locked)
    a, b = _worker(pg_url, "wa", ttl=1.2), _worker(pg_url, "wb", ttl=1.2)
    lease = a.acquire("g1")
    assert lease is not None
    with connect_fleet(pg_url) as writer:
        writer.execute("BEGIN")
        held = writer.execute(FENCE_SQL, Fence("g1", "wa", lease.epoch).args()).fetchone()
        assert held is not None
        taken: list[LeaseClock | None] = []

        def take() -> None:
            taken.append(eventually(lambda: b.acquire("g1"), timeout_s=15, what="takeover"))

        thief = threading.Thread(target=take)
        thief.start()
        eventually(lambda: not lease.valid(), timeout_s=10, what="the lease to run out")

        # Act: the takeover cannot commit while the old write is open
        thief.join(timeout=1.0)
        blocked = thief.is_alive()
        writer.execute("COMMIT")
        thief.join(timeout=15)

    # Assert
    assert blocked and taken and taken[0] is not None and taken[0].epoch == 2


def test_guarded_venue_sends_only_while_the_lease_is_valid() -> None:
    # Arrange: the in-process simulator keeps every order it was sent
    sim = kit.new_sim()
    lease = LeaseClock("g1", 1)
    lease.extend(time.monotonic(), 60.0)
    venue = LeaseGuardedExchange(sim, lease, "wa")
    price = Decimal("90")

    def order(cid: str) -> OrderRequest:
        return OrderRequest(
            symbol=kit.SYMBOL,
            client_order_id=cid,
            side=Side.BUY,
            price=price,
            amount=Decimal("1"),
        )

    async def scenario() -> list[str]:
        await venue.place_order(order("gmtestB1"))
        lease.lose("taken by wb")
        with pytest.raises(Fenced, match="not sent"):
            await venue.place_order(order("gmtestB2"))
        with pytest.raises(Fenced):
            await venue.cancel_order(kit.SYMBOL, "gmtestB1")
        return [o.client_order_id for o in await venue.fetch_open_orders(kit.SYMBOL)]

    # Act
    open_ids = asyncio.run(scenario())

    # Assert: the first order went out and stays; the refused ones never reached the venue
    assert open_ids == ["gmtestB1"]
    assert venue.refused == 2
