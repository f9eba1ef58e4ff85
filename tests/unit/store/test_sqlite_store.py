"""The ``Store``'s promises: one decision commits whole or not at all, a fill is written once,
operator commands are spent with the book that carries them, a data dir is bound once;
on both backends (``conftest.py``)."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import psycopg
import pytest

from gridmaker.core.decide import decide
from gridmaker.core.events import (
    BreakerCommand,
    BreakerOrder,
    CancelOrder,
    Fill,
    OrderStatus,
    OrderUpdate,
    PlaceOrder,
    PriceTick,
    Side,
)
from gridmaker.core.state import GridState
from gridmaker.core.units import Atoms, Steps, Ticks
from gridmaker.store import Store, StoreError
from gridmaker.store.pg_store import PgStore
from tests import kit
from tests.unit.store.conftest import OpenStore

P0 = 5_000_000


def _booted() -> tuple[GridState, tuple[PlaceOrder, ...]]:
    """A book after its first price, and the orders that price asked for."""
    state = kit.state()
    tick = PriceTick(symbol=state.symbol, price_ticks=Ticks(P0), qty_steps=Steps(1), ts_event=1)
    decision = decide(state, tick)
    places = tuple(a for a in decision.actions if isinstance(a, PlaceOrder))
    assert places
    return decision.state, places


def _fill(order: PlaceOrder, trade_id: str = "t1") -> Fill:
    return Fill(
        symbol=order.symbol,
        trade_id=trade_id,
        client_order_id=order.client_order_id,
        side=order.side,
        price_ticks=order.price_ticks,
        qty_steps=order.qty_steps,
        fee_atoms=Atoms(0),
        ts_event=2,
    )


def _rows(store: Store, table: str) -> list[tuple[object, ...]]:
    """The table's rows, read beside the store (not through it)."""
    if isinstance(store, PgStore):
        with psycopg.connect(store.url.conninfo or "") as pg:
            return pg.execute(f"SELECT * FROM gridmaker.{table} ORDER BY 1, 2").fetchall()
    with closing(sqlite3.connect(store.path)) as db:
        return db.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()


def test_commit_saves_book_fill_and_intents_together(store: Store) -> None:
    # Arrange
    state, places = _booted()
    buy = next(p for p in places if p.side is Side.BUY)

    # Act
    store.commit(state, causes=[_fill(buy)], actions=places)

    # Assert
    assert store.load_book(state.symbol) == state
    assert store.has_fill(state.symbol, "t1")
    assert all(store.has_intent(state.symbol, p.client_order_id) for p in places)
    assert store.revision == 1
    assert {r.status for r in store.intents(state.symbol)} == {"pending"}


def test_commit_that_fails_midway_leaves_nothing_of_it(store: Store) -> None:
    # Arrange: the first decision is saved; the second carries a fill already applied.
    state, places = _booted()
    buy = next(p for p in places if p.side is Side.BUY)
    store.commit(state, causes=[_fill(buy)], actions=places[:1])
    later = kit.state(quote="1")  # a different book: must not replace the saved one
    new_intent = CancelOrder(symbol=state.symbol, client_order_id="gm-other", level=3)

    # Act
    with pytest.raises(StoreError, match="second write of the same fill"):
        store.commit(later, causes=[_fill(buy, "t2"), _fill(buy, "t1")], actions=[new_intent])

    # Assert: neither the new fill, the new intent, nor the new book was written.
    assert store.load_book(state.symbol) == state
    assert not store.has_fill(state.symbol, "t2")
    assert [r.client_order_id for r in store.intents(state.symbol)] == [places[0].client_order_id]
    assert store.revision == 1
    assert store.fill_count(state.symbol) == 1


def test_a_fill_is_refused_the_second_time_even_in_a_later_commit(store: Store) -> None:
    # Arrange
    state, places = _booted()
    fill = _fill(places[0])
    store.commit(state, causes=[fill])

    # Act / Assert
    with pytest.raises(StoreError):
        store.commit(state, causes=[fill])
    assert store.fill_count(state.symbol) == 1
    assert len(_rows(store, "fills")) == 1


def test_order_update_sets_the_intent_status_and_reason(store: Store) -> None:
    # Arrange
    state, places = _booted()
    store.commit(state, actions=places)
    rejected = OrderUpdate(
        symbol=state.symbol,
        client_order_id=places[0].client_order_id,
        status=OrderStatus.REJECTED,
        filled_steps=Steps(0),
        ts_event=3,
        reason="post-only would cross",
    )

    # Act
    store.commit(state, causes=[rejected])

    # Assert
    row = next(
        r for r in store.intents(state.symbol) if r.client_order_id == rejected.client_order_id
    )
    assert (row.status, row.reason) == ("rejected", "post-only would cross")
    assert store.revision == 2


def test_placing_an_id_again_makes_its_intent_pending_again(store: Store) -> None:
    # Arrange
    state, places = _booted()
    store.commit(state, actions=places[:1])
    update = OrderUpdate(
        symbol=state.symbol,
        client_order_id=places[0].client_order_id,
        status=OrderStatus.CANCELED,
        filled_steps=Steps(0),
        ts_event=3,
    )
    store.commit(state, causes=[update])

    # Act
    store.commit(state, actions=places[:1])

    # Assert
    assert [(r.status, r.reason) for r in store.intents(state.symbol)] == [("pending", "")]


def test_command_is_pending_until_the_book_carrying_it_is_saved(store: Store) -> None:
    # Arrange
    state, _ = _booted()
    command_id = store.add_command(state.symbol, "trip", "operator")
    order = BreakerOrder(
        symbol=state.symbol,
        command=BreakerCommand.TRIP,
        reason="operator",
        ts_event=4,
        command_id=command_id,
    )
    pending = store.pending_commands()

    # Act
    store.commit(state, causes=[order])

    # Assert
    assert [(c.id, c.symbol, c.command, c.reason) for c in pending] == [
        (command_id, state.symbol, "trip", "operator")
    ]
    assert store.is_command_applied(command_id)
    assert store.pending_commands() == []


def test_command_of_a_failed_commit_stays_pending(store: Store) -> None:
    # Arrange
    state, places = _booted()
    fill = _fill(places[0])
    store.commit(state, causes=[fill])
    command_id = store.add_command("*", "reset", "")
    order = BreakerOrder(
        symbol=state.symbol,
        command=BreakerCommand.RESET,
        reason="",
        ts_event=5,
        command_id=command_id,
    )

    # Act
    with pytest.raises(StoreError):
        store.commit(state, causes=[order, fill])

    # Assert
    assert not store.is_command_applied(command_id)
    assert [c.id for c in store.pending_commands()] == [command_id]


def test_commands_are_handed_out_in_the_order_they_were_queued(store: Store) -> None:
    # Arrange
    first = store.add_command("*", "trip", "a")
    second = store.add_command("BTC/USDT", "reset", "b")

    # Act
    store.mark_command_applied(first)

    # Assert
    assert second > first
    assert [c.id for c in store.pending_commands()] == [second]
    assert store.is_command_applied(first)
    assert not store.is_command_applied(second)


def test_data_dir_is_bound_with_its_first_saved_book_only(open_store: OpenStore) -> None:
    # Arrange
    store = open_store()
    store.bind_venue({"exchange": "sim", "account": "a"})
    before_any_book = store.venue()

    # Act
    store.commit(kit.state())
    store.bind_venue({"exchange": "binance", "account": "b"})
    store.commit(kit.state())
    store.close()

    # Assert: nothing is written by a run that saved nothing; then the first venue is kept,
    # across a reopen.
    reopened = open_store(read_only=True)
    try:
        assert before_any_book is None
        assert reopened.venue() == {"exchange": "sim", "account": "a"}
    finally:
        reopened.close()


def test_refused_run_leaves_the_data_dir_unbound(open_store: OpenStore) -> None:
    # Arrange
    store = open_store()

    # Act: bound, then closed before any book was saved (a run refused at pre-flight).
    store.bind_venue({"exchange": "binance", "endpoint": "testnet"})
    store.close()

    # Assert
    reopened = open_store(read_only=True)
    try:
        assert reopened.venue() is None
    finally:
        reopened.close()


def test_book_survives_reopening_with_its_revision(open_store: OpenStore) -> None:
    # Arrange
    state, places = _booted()
    store = open_store()
    store.commit(state, actions=places)
    store.commit(state)
    store.close()

    # Act
    reopened = open_store()

    # Assert
    try:
        assert reopened.revision == 2
        assert reopened.symbols() == [state.symbol]
        assert reopened.load_book(state.symbol) == state
        assert reopened.load_book("ETH/USDT") is None
    finally:
        reopened.close()
