"""``CLOSE``: every order cancelled, then the inventory sold in one order within a limit."""

from __future__ import annotations

from gridmaker.core.decide import decide
from gridmaker.core.events import OperatorCommand, OperatorOrder, OrderStatus, PlaceOrder, Side
from gridmaker.core.risk import PPM
from gridmaker.core.slots import OrderState
from gridmaker.core.state import Control, GridMode, GridState
from tests import kit
from tests.unit.core.paper_book import P0, SP, PaperBook, answer, cancels, live, places, tick

LIMIT = 10_000  # 1 %


def _close(state: GridState) -> OperatorOrder:
    return OperatorOrder(
        symbol=state.symbol,
        command=OperatorCommand.CLOSE,
        reason="test",
        ts_event=0,
        limit_ppm=LIMIT,
    )


def _holding() -> PaperBook:
    """A long book that bought two levels on the way down: 200 steps held, sells above."""
    book = PaperBook.of(kit.state(base="0", params_=kit.params(mode=GridMode.LONG)))
    book.trade(P0)
    book.trade(P0 - 2 * SP)
    assert sum(s.position_steps for s in book.state.slots.values()) == 200
    return book


def _sale(actions: list[PlaceOrder]) -> list[tuple[Side, int, int, bool]]:
    return [(p.side, p.price_ticks, p.qty_steps, p.post_only) for p in actions]


def test_close_cancels_every_order_and_sends_no_sale_while_one_works() -> None:
    # Arrange
    book = _holding()
    working = live(book.state)
    assert {side for side, _ in working.values()} == {Side.BUY, Side.SELL}
    book.hold = True

    # Act
    sent = book.apply(_close(book.state))

    # Assert
    assert sorted(c.client_order_id for c in cancels(sent)) == sorted(working)
    assert places(sent) == []
    assert book.state.control is Control.CLOSING


def test_close_sells_all_inventory_at_the_limit_once_the_last_cancel_is_confirmed() -> None:
    # Arrange
    book = _holding()
    book.hold = True
    book.apply(_close(book.state))
    answers = list(book.pending)
    book.pending.clear()
    state = book.state

    # Act: the cancels confirmed one by one
    sent = []
    for update in answers:
        decision = decide(state, update)
        state = decision.state
        sent.append(places(list(decision.actions)))

    # Assert: nothing until the last; then one taking sell of everything held
    assert all(s == [] for s in sent[:-1])
    last = state.last_price_ticks
    assert _sale(sent[-1]) == [(Side.SELL, last * (PPM - LIMIT) // PPM, 200, False)]
    assert state.liquidation_cid == sent[-1][0].client_order_id


def test_close_waits_for_an_order_in_flight_before_selling() -> None:
    # Arrange: a third level bought; its sell is still being placed when the close arrives
    book = _holding()
    fills = book.venue.trade(P0 - 3 * SP, None)
    book.step(tick(book.state, P0 - 3 * SP))
    book.drain()
    for fill in fills:
        book.step(fill)
    book.pending.clear()  # the ack of what that fill placed is late
    (slot,) = [s for s in book.state.slots.values() if s.order is OrderState.PLACING]
    cid = slot.order_cid
    state = decide(book.state, _close(book.state)).state
    for other in list(state.slots.values()):
        if other.order is OrderState.CANCELLING:
            state = decide(state, answer(state, other.order_cid, OrderStatus.CANCELED)).state
    assert state.liquidation_cid == ""

    # Act: the late ack arrives, then the cancel the close sends for it is confirmed
    acked = decide(state, answer(state, cid, OrderStatus.OPEN))
    done = decide(acked.state, answer(acked.state, cid, OrderStatus.CANCELED))

    # Assert
    assert [c.client_order_id for c in cancels(list(acked.actions))] == [cid]
    assert places(list(acked.actions)) == []
    (sale,) = places(list(done.actions))
    assert (sale.side, sale.qty_steps, sale.post_only) == (Side.SELL, 300, False)


def test_close_sale_filled_leaves_nothing_held_and_places_nothing_after() -> None:
    # Arrange
    book = _holding()

    # Act: the venue answers at once; the taking sale fills at the last price
    book.apply(_close(book.state))
    later = book.trade(P0 - 6 * SP)

    # Assert
    assert sum(s.position_steps for s in book.state.slots.values()) == 0
    assert book.state.liquidation_cid == "" and book.state.base_steps == 0
    assert book.state.completed_cycles == 2
    assert places(later) == [] and live(book.state) == {}
