from __future__ import annotations

import ast
from pathlib import Path

import pytest

import gridmaker.core
from gridmaker.core.errors import IllegalTransition
from gridmaker.core.events import Side
from gridmaker.core.evolve import evolve
from gridmaker.core.slots import (
    ORDER_TRANSITIONS,
    OrderEvent,
    OrderState,
    Phase,
    Slot,
    complete_cycle,
    complete_order,
    hand_inventory,
    spend_id,
    to_sell_phase,
    transition,
)
from gridmaker.core.units import Atoms, Steps, Ticks


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


# --- position transitions: the only ways phase and cycle change ------------------------------


@pytest.mark.parametrize("field", ["phase", "cycle"])
def test_transition_refuses_to_change_phase_or_cycle(field) -> None:
    # Arrange
    slot = _slot(OrderState.OPEN)
    value = Phase.SELL if field == "phase" else 7

    # Act / Assert
    with pytest.raises(TypeError, match=field):
        transition(slot, OrderEvent.CANCELED, **{field: value})


def test_to_sell_phase_keeps_the_position_and_the_cycle() -> None:
    # Arrange
    slot = evolve(_slot(), position_steps=Steps(3), cost_atoms=Atoms(30), cycle=2)

    # Act
    out = to_sell_phase(slot)

    # Assert
    assert out.phase is Phase.SELL
    assert (out.position_steps, out.cost_atoms, out.cycle, out.order) == (3, 30, 2, OrderState.NONE)


def test_hand_inventory_starts_the_slot_holding_at_that_cost() -> None:
    out = hand_inventory(_slot(), Steps(5), Atoms(500))
    assert (out.phase, out.position_steps, out.cost_atoms, out.cycle) == (Phase.SELL, 5, 500, 0)


@pytest.mark.parametrize("state", sorted(s for s, e in ORDER_TRANSITIONS if e is OrderEvent.FILLED))
def test_complete_order_frees_the_slot_and_moves_to_selling(state) -> None:
    # Arrange
    slot = evolve(_slot(state), order_cid="x", order_side=Side.BUY, cycle=4)

    # Act
    out = complete_order(slot)

    # Assert
    assert (out.order, out.order_cid, out.order_side) == (OrderState.NONE, "", None)
    assert (out.phase, out.cycle) == (Phase.SELL, 4)


def test_complete_order_without_a_live_order_is_illegal() -> None:
    with pytest.raises(IllegalTransition):
        complete_order(_slot())


def test_complete_cycle_empties_the_slot_under_the_next_cycle() -> None:
    # Arrange
    slot = evolve(
        _slot(),
        phase=Phase.SELL,
        position_steps=Steps(2),
        cost_atoms=Atoms(100),
        proceeds_atoms=Atoms(120),
        cycle=3,
    )

    # Act
    out = complete_cycle(slot)

    # Assert
    assert (out.phase, out.position_steps, out.cost_atoms, out.proceeds_atoms) == (
        Phase.BUY,
        0,
        0,
        0,
    )
    assert out.cycle == 4
    assert (out.level, out.buy_ticks, out.sell_ticks) == (
        slot.level,
        slot.buy_ticks,
        slot.sell_ticks,
    )


@pytest.mark.parametrize(
    ("state", "event"),
    [
        (OrderState.OPEN, OrderEvent.CANCELED),
        (OrderState.CANCELLING, OrderEvent.CANCELED),
        (OrderState.PLACING, OrderEvent.REJECTED),
        (OrderState.UNKNOWN, OrderEvent.REJECTED),
        (OrderState.OPEN, OrderEvent.FOUND_GONE),
        (OrderState.CANCELLING, OrderEvent.FOUND_GONE),
    ],
)
def test_spend_id_ends_the_order_and_moves_to_the_next_cycle(state, event) -> None:
    # Arrange
    slot = evolve(_slot(state), order_cid="x", phase=Phase.SELL, position_steps=Steps(1), cycle=5)

    # Act
    out = spend_id(slot, event)

    # Assert
    assert (out.order, out.order_cid, out.cycle) == (OrderState.NONE, "", 6)
    assert (out.phase, out.position_steps) == (Phase.SELL, 1)


def test_spend_id_with_an_illegal_event_raises_and_spends_nothing() -> None:
    # Arrange
    slot = _slot(OrderState.NONE)

    # Act / Assert
    with pytest.raises(IllegalTransition):
        spend_id(slot, OrderEvent.CANCELED)
    assert slot.cycle == 0


def test_no_core_module_changes_phase_or_cycle_outside_the_slot_table() -> None:
    """``evolve``/``replace``/``transition`` with ``phase=`` or ``cycle=`` only in slots.py."""
    core = Path(gridmaker.core.__file__).parent
    offenders = []
    for path in sorted(core.glob("*.py")):
        if path.name == "slots.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            if name in {"evolve", "replace", "transition"} and any(
                k.arg in {"phase", "cycle"} for k in node.keywords
            ):
                offenders.append(f"{path.name}:{node.lineno}")
    assert offenders == []
