"""The operator's control of a book: pause, take-profit only, stop, resume (``decide``)."""

from __future__ import annotations

from gridmaker.core.decide import apply_operator_command, decide
from gridmaker.core.events import (
    CancelOrder,
    Fill,
    OperatorCommand,
    OperatorOrder,
    OrderStatus,
    OrderUpdate,
    PlaceOrder,
    PriceTick,
    Side,
)
from gridmaker.core.state import Control, GridState
from gridmaker.core.units import Atoms, Steps, Ticks
from gridmaker.store.codec import decode_state, encode_state
from tests import kit

P0 = 5_000_000


def _acked(state: GridState) -> GridState:
    """The book after its first price, every order acknowledged by the venue."""
    tick = PriceTick(symbol=state.symbol, price_ticks=Ticks(P0), qty_steps=Steps(1), ts_event=0)
    state = decide(state, tick).state
    for slot in list(state.slots.values()):
        if slot.order_cid:
            update = OrderUpdate(
                symbol=state.symbol,
                client_order_id=slot.order_cid,
                status=OrderStatus.OPEN,
                filled_steps=Steps(0),
                ts_event=1,
            )
            state = decide(state, update).state
    return state


def _order(state: GridState, command: OperatorCommand) -> OperatorOrder:
    return OperatorOrder(symbol=state.symbol, command=command, reason="test", ts_event=5)


def _open(state: GridState, side: Side) -> list[str]:
    return sorted(
        s.order_cid for s in state.slots.values() if s.order_side is side and s.has_live_order
    )


def _fill_highest_buy(state: GridState) -> GridState:
    """The price falls onto the highest buy, which fills."""
    slot = max(
        (s for s in state.slots.values() if s.order_side is Side.BUY and s.has_live_order),
        key=lambda s: s.buy_ticks,
    )
    tick = PriceTick(
        symbol=state.symbol, price_ticks=slot.buy_ticks, qty_steps=Steps(1), ts_event=6
    )
    state = decide(state, tick).state
    return decide(state, _fill(state, slot.order_cid)).state


def _fill(state: GridState, cid: str) -> Fill:
    slot = next(s for s in state.slots.values() if s.order_cid == cid)
    return Fill(
        symbol=state.symbol,
        trade_id="t1",
        client_order_id=cid,
        side=Side.BUY,
        price_ticks=slot.order_price_ticks,
        qty_steps=slot.order_qty_steps,
        fee_atoms=Atoms(0),
        ts_event=6,
    )


def test_pause_keeps_working_orders_and_places_no_counter_order() -> None:
    # Arrange
    state = _acked(kit.state())
    assert _open(state, Side.BUY)

    # Act
    paused = decide(state, _order(state, OperatorCommand.PAUSE))
    slot = max(
        (s for s in state.slots.values() if s.order_side is Side.BUY), key=lambda s: s.buy_ticks
    )
    fallen = decide(
        paused.state,
        PriceTick(symbol=state.symbol, price_ticks=slot.buy_ticks, qty_steps=Steps(1), ts_event=6),
    ).state
    after_fill = decide(fallen, _fill(fallen, slot.order_cid))

    # Assert: nothing cancelled, the fill applied, its counter-sell not placed
    assert paused.actions == ()
    assert paused.state.control is Control.PAUSED
    assert after_fill.state.buy_fills == state.buy_fills + 1
    assert not [a for a in after_fill.actions if isinstance(a, PlaceOrder)]
    assert _open(after_fill.state, Side.BUY) == [
        c for c in _open(state, Side.BUY) if c != slot.order_cid
    ]


def test_resume_after_a_pause_places_what_the_pause_held_back() -> None:
    # Arrange: a buy filled while paused
    state = _acked(kit.state())
    paused = decide(state, _order(state, OperatorCommand.PAUSE)).state
    filled = _fill_highest_buy(paused)

    # Act
    resumed = decide(filled, _order(filled, OperatorCommand.RESUME))

    # Assert: the counter-sell goes out now
    places = [a for a in resumed.actions if isinstance(a, PlaceOrder)]
    assert resumed.state.control is Control.TRADING
    assert [a.side for a in places] == [Side.SELL]


def test_take_profit_only_cancels_buys_keeps_sells_and_sells_a_fill() -> None:
    # Arrange
    state = _acked(kit.state())
    sells_before = _open(state, Side.SELL)

    # Act
    decision = decide(state, _order(state, OperatorCommand.TAKE_PROFIT_ONLY))

    # Assert: every open buy cancelled, no sell touched, nothing placed
    cancelled = sorted(a.client_order_id for a in decision.actions if isinstance(a, CancelOrder))
    assert cancelled == _open(state, Side.BUY)
    assert not [a for a in decision.actions if isinstance(a, PlaceOrder)]
    assert _open(decision.state, Side.SELL) == sells_before


def test_take_profit_only_places_the_sell_of_inventory_bought_before() -> None:
    # Arrange: a buy fills, its counter-sell not placed yet because the book was paused
    state = _acked(kit.state())
    paused = decide(state, _order(state, OperatorCommand.PAUSE)).state
    filled = _fill_highest_buy(paused)

    # Act
    decision = decide(filled, _order(filled, OperatorCommand.TAKE_PROFIT_ONLY))

    # Assert
    places = [a for a in decision.actions if isinstance(a, PlaceOrder)]
    assert [a.side for a in places] == [Side.SELL]


def test_stop_cancels_every_order_and_a_new_level_places_nothing() -> None:
    # Arrange
    state = _acked(kit.state())
    working = _open(state, Side.BUY) + _open(state, Side.SELL)

    # Act
    stopped = decide(state, _order(state, OperatorCommand.STOP))
    moved = decide(
        stopped.state,
        PriceTick(symbol=state.symbol, price_ticks=Ticks(P0 * 2), qty_steps=Steps(1), ts_event=9),
    )

    # Assert
    cancelled = sorted(a.client_order_id for a in stopped.actions if isinstance(a, CancelOrder))
    assert cancelled == sorted(working)
    assert not [a for a in moved.actions if isinstance(a, PlaceOrder)]


def test_control_survives_the_codec_and_an_old_book_reads_as_trading() -> None:
    # Arrange
    state = apply_operator_command(_acked(kit.state()), OperatorCommand.TAKE_PROFIT_ONLY)
    raw = encode_state(state)
    old = {k: v for k, v in raw.items() if k != "control"}

    # Act
    back, old_back = decode_state(raw), decode_state(old)

    # Assert
    assert back == state
    assert back.control is Control.TAKE_PROFIT_ONLY
    assert old_back.control is Control.TRADING
