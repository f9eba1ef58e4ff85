"""Operator requests in the ``Store``: one command per request id, spent with its book, and
the applied fills read back a page at a time (on both backends: ``conftest.py``)."""

from __future__ import annotations

import pytest

from gridmaker.core.decide import decide
from gridmaker.core.events import (
    Fill,
    OperatorCommand,
    OperatorOrder,
    PlaceOrder,
    PriceTick,
)
from gridmaker.core.units import Atoms, Steps, Ticks
from gridmaker.store import Store
from gridmaker.store.sqlite_store import RequestConflict
from tests import kit

P0 = 5_000_000


def test_a_repeated_request_id_is_one_command(store: Store) -> None:
    # Act
    first = store.add_request("BTC/USDT", "pause", "night", "req-1")
    again = store.add_request("BTC/USDT", "pause", "night", "req-1")
    other = store.add_request("BTC/USDT", "pause", "night", "req-2")

    # Assert
    assert first == again != other
    assert [c.id for c in store.pending_commands()] == [first, other]


def test_a_request_id_reused_for_another_command_is_refused(store: Store) -> None:
    # Arrange
    store.add_request("BTC/USDT", "pause", "", "req-1")

    # Act / Assert
    with pytest.raises(RequestConflict, match="req-1"):
        store.add_request("BTC/USDT", "resume", "", "req-1")
    assert len(store.pending_commands()) == 1


def test_an_operator_order_is_spent_with_the_book_that_carries_it(store: Store) -> None:
    # Arrange
    state = kit.state()
    state = decide(
        state, PriceTick(symbol=state.symbol, price_ticks=Ticks(P0), qty_steps=Steps(1), ts_event=1)
    ).state
    command_id = store.add_request(state.symbol, "pause", "", "req-9")
    order = OperatorOrder(
        symbol=state.symbol,
        command=OperatorCommand.PAUSE,
        reason="",
        ts_event=2,
        command_id=command_id,
    )
    decision = decide(state, order)

    # Act
    store.commit(decision.state, causes=(order,), actions=decision.actions)

    # Assert
    record = store.command(command_id)
    assert record is not None and record.applied_at is not None
    assert record.request_id == "req-9"
    assert store.pending_commands() == []


def test_fills_come_back_newest_first_one_page_at_a_time(store: Store) -> None:
    # Arrange: five fills of one order, committed one by one
    state = kit.state()
    decision = decide(
        state, PriceTick(symbol=state.symbol, price_ticks=Ticks(P0), qty_steps=Steps(1), ts_event=1)
    )
    order = next(a for a in decision.actions if isinstance(a, PlaceOrder))
    store.commit(decision.state, actions=decision.actions)
    for n in range(5):
        fill = Fill(
            symbol=order.symbol,
            trade_id=f"t{n}",
            client_order_id=order.client_order_id,
            side=order.side,
            price_ticks=order.price_ticks,
            qty_steps=Steps(1),
            fee_atoms=Atoms(0),
            ts_event=10 + n,
        )
        store.commit(decision.state, causes=(fill,))

    # Act
    first = store.fills_page(order.symbol, None, 2)
    second = store.fills_page(order.symbol, first[-1].seq, 2)
    last = store.fills_page(order.symbol, second[-1].seq, 2)

    # Assert
    assert [f.trade_id for f in first + second + last] == ["t4", "t3", "t2", "t1", "t0"]
