from __future__ import annotations

import pytest

from gridmaker.core.errors import IllegalTransition
from gridmaker.core.slots import ORDER_TRANSITIONS, OrderEvent, OrderState, Slot, transition
from gridmaker.core.units import Ticks


def _slot(order: OrderState = OrderState.NONE) -> Slot:
    return Slot(level=0, buy_ticks=Ticks(100), sell_ticks=Ticks(110), order=order)


@pytest.mark.parametrize(("state", "event"), sorted(ORDER_TRANSITIONS))
def test_every_allowed_transition_reaches_its_table_target(state, event) -> None:
    assert transition(_slot(state), event).order is ORDER_TRANSITIONS[(state, event)]


ILLEGAL = [(s, e) for s in OrderState for e in OrderEvent if (s, e) not in ORDER_TRANSITIONS]


@pytest.mark.parametrize(("state", "event"), ILLEGAL)
def test_illegal_transition_raises_and_leaves_slot_untouched(state, event) -> None:
    # Arrange
    slot = _slot(state)

    # Act / Assert
    with pytest.raises(IllegalTransition, match=f"event {event} not allowed"):
        transition(slot, event)
    assert slot.order is state


def test_transition_to_none_clears_the_order_fields() -> None:
    # Arrange
    slot = transition(_slot(), OrderEvent.INTENT_RECORDED, order_cid="x", order_qty_steps=5)

    # Act
    done = transition(slot, OrderEvent.REJECTED)

    # Assert
    assert (done.order, done.order_cid, done.order_qty_steps) == (OrderState.NONE, "", 0)


def test_no_order_can_be_placed_while_one_is_live() -> None:
    for state in (OrderState.PLACING, OrderState.OPEN, OrderState.CANCELLING, OrderState.UNKNOWN):
        with pytest.raises(IllegalTransition):
            transition(_slot(state), OrderEvent.INTENT_RECORDED)
