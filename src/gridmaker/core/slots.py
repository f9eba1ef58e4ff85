"""Slots: one per grid level, each a small order/position state machine.

Rules (everything that moves a slot lives here):

1. A slot covers one round trip between its level's price (the buy) and the next level's price
   (the sell). Its ``phase`` says which leg it is working: BUY (accumulating up to the order
   size) or SELL (unwinding what it holds).
2. A slot has at most one live order. Its state moves only through ``ORDER_TRANSITIONS``; any
   other (state, event) pair raises ``IllegalTransition`` and the slot passed in is untouched.
3. The ``cycle`` grows by one each time the slot's position returns to zero after a SELL, and
   each time an order that reached the venue ended without a fill, so a (level, side, cycle)
   triple — and thus a client order id — is never reused.
4. Quote amounts are atoms: ``cost_atoms`` is what the current cycle's position cost (fees
   included), ``proceeds_atoms`` what its sells brought (fees deducted).
5. ``phase`` and ``cycle`` change only through the named position transitions below
   (``to_sell_phase``, ``hand_inventory``, ``complete_order``, ``complete_cycle``, ``spend_id``);
   ``transition`` refuses them, so every way a leg or an id moves on can be read in one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from gridmaker.core.errors import IllegalTransition
from gridmaker.core.events import Side
from gridmaker.core.evolve import evolve
from gridmaker.core.units import Atoms, Steps, Ticks

__all__ = [
    "LIVE_ORDER_STATES",
    "ORDER_TRANSITIONS",
    "OrderEvent",
    "OrderState",
    "Phase",
    "Slot",
    "complete_cycle",
    "complete_order",
    "hand_inventory",
    "move_level",
    "park",
    "spend_id",
    "take_lot",
    "to_sell_phase",
    "transition",
]


class OrderState(StrEnum):
    NONE = "none"
    PLACING = "placing"
    OPEN = "open"
    CANCELLING = "cancelling"
    UNKNOWN = "unknown"


class OrderEvent(StrEnum):
    INTENT_RECORDED = "intent_recorded"
    ACKED = "acked"
    REJECTED = "rejected"
    AMBIGUOUS = "ambiguous"
    FOUND_OPEN = "found_open"
    FOUND_GONE = "found_gone"
    FILLED = "filled"
    CANCEL_SENT = "cancel_sent"
    CANCELED = "canceled"


class Phase(StrEnum):
    BUY = "buy"
    SELL = "sell"


_S = OrderState
_E = OrderEvent

ORDER_TRANSITIONS: Final[Mapping[tuple[OrderState, OrderEvent], OrderState]] = {
    (_S.NONE, _E.INTENT_RECORDED): _S.PLACING,
    (_S.PLACING, _E.ACKED): _S.OPEN,
    (_S.PLACING, _E.REJECTED): _S.NONE,
    (_S.PLACING, _E.AMBIGUOUS): _S.UNKNOWN,
    (_S.PLACING, _E.FILLED): _S.NONE,
    (_S.PLACING, _E.FOUND_OPEN): _S.OPEN,
    (_S.PLACING, _E.FOUND_GONE): _S.NONE,
    (_S.PLACING, _E.CANCELED): _S.NONE,
    (_S.OPEN, _E.ACKED): _S.OPEN,
    (_S.OPEN, _E.FOUND_OPEN): _S.OPEN,
    (_S.OPEN, _E.FILLED): _S.NONE,
    (_S.OPEN, _E.CANCEL_SENT): _S.CANCELLING,
    (_S.OPEN, _E.CANCELED): _S.NONE,
    (_S.OPEN, _E.FOUND_GONE): _S.NONE,
    (_S.OPEN, _E.AMBIGUOUS): _S.UNKNOWN,
    (_S.UNKNOWN, _E.AMBIGUOUS): _S.UNKNOWN,
    (_S.UNKNOWN, _E.FOUND_OPEN): _S.OPEN,
    (_S.UNKNOWN, _E.ACKED): _S.OPEN,
    (_S.UNKNOWN, _E.FOUND_GONE): _S.NONE,
    (_S.UNKNOWN, _E.FILLED): _S.NONE,
    (_S.UNKNOWN, _E.CANCELED): _S.NONE,
    (_S.UNKNOWN, _E.REJECTED): _S.NONE,
    (_S.CANCELLING, _E.CANCELED): _S.NONE,
    (_S.CANCELLING, _E.FILLED): _S.NONE,
    (_S.CANCELLING, _E.FOUND_GONE): _S.NONE,
    (_S.CANCELLING, _E.FOUND_OPEN): _S.OPEN,
    (_S.CANCELLING, _E.AMBIGUOUS): _S.UNKNOWN,
    (_S.CANCELLING, _E.ACKED): _S.CANCELLING,
}
"""Every allowed (state, event) → next state. Anything else is ``IllegalTransition``."""

LIVE_ORDER_STATES: Final = frozenset({_S.PLACING, _S.OPEN, _S.CANCELLING, _S.UNKNOWN})
"""States in which an order may exist at the venue."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Slot:
    level: int
    buy_ticks: Ticks
    sell_ticks: Ticks
    phase: Phase = Phase.BUY
    position_steps: Steps = Steps(0)
    cost_atoms: Atoms = Atoms(0)
    proceeds_atoms: Atoms = Atoms(0)
    cycle: int = 0
    order: OrderState = OrderState.NONE
    order_cid: str = ""
    order_side: Side | None = None
    order_price_ticks: Ticks = Ticks(0)
    order_qty_steps: Steps = Steps(0)
    order_filled_steps: Steps = Steps(0)
    is_engaged: bool = True
    """False once a trailing window left this level: no new orders, existing ones wind down."""
    retiring: bool = False
    """A reconfiguration removed this level: its order is cancelled, and once it has none what
    it holds is handed to a level of the new grid (``reshape``); it never places."""

    @property
    def has_live_order(self) -> bool:
        return self.order in LIVE_ORDER_STATES

    @property
    def is_idle(self) -> bool:
        """Nothing held, nothing working: the slot can be forgotten without losing anything."""
        return self.order is OrderState.NONE and self.position_steps == 0


_POSITION_FIELDS: Final = frozenset({"phase", "cycle"})


def transition(slot: Slot, event: OrderEvent, **changes: object) -> Slot:
    """Apply ``event`` to the slot's order state; ``changes`` update order fields atomically.

    ``phase`` and ``cycle`` are refused here: they move only through the named transitions.
    """
    if not _POSITION_FIELDS.isdisjoint(changes):
        raise TypeError(f"transition cannot change {sorted(_POSITION_FIELDS & changes.keys())}")
    return _apply(slot, event, changes)


def _apply(slot: Slot, event: OrderEvent, changes: dict[str, object]) -> Slot:
    target = ORDER_TRANSITIONS.get((slot.order, event))
    if target is None:
        raise IllegalTransition(
            f"slot level={slot.level} cid={slot.order_cid or '-'}: "
            f"event {event} not allowed in order state {slot.order}"
        )
    if target is OrderState.NONE:
        changes = {
            "order_cid": "",
            "order_side": None,
            "order_price_ticks": Ticks(0),
            "order_qty_steps": Steps(0),
            "order_filled_steps": Steps(0),
            **changes,
        }
    return evolve(slot, order=target, **changes)


# --- position transitions: the only ways ``phase`` and ``cycle`` change ----------------------


def to_sell_phase(slot: Slot) -> Slot:
    """The buy leg cannot grow (full, untradeable remainder, or disengaged): sell what is held."""
    return evolve(slot, phase=Phase.SELL)


def hand_inventory(slot: Slot, qty_steps: Steps, cost_atoms: Atoms) -> Slot:
    """Neutral start: the slot begins holding ``qty_steps`` of the base balance, at that cost."""
    return evolve(slot, phase=Phase.SELL, position_steps=qty_steps, cost_atoms=cost_atoms)


def complete_order(slot: Slot, **fill: object) -> Slot:
    """Its live order filled in full. After a buy the slot sells what it bought; after a sell
    it holds nothing and the planner closes the cycle (``complete_cycle``).

    ``fill`` carries the last fill's own changes (position, cost or proceeds), so that the
    slot is copied once; ``phase`` and ``cycle`` are refused there as in ``transition``.
    """
    if not _POSITION_FIELDS.isdisjoint(fill):
        raise TypeError(f"complete_order cannot change {sorted(_POSITION_FIELDS & fill.keys())}")
    return _apply(slot, OrderEvent.FILLED, {**fill, "phase": Phase.SELL})


def complete_cycle(slot: Slot) -> Slot:
    """The round trip is over: back to buying with nothing held, under the next cycle's ids.

    The caller books the cycle's PnL and any unsellable remainder first: this forgets them.
    """
    return evolve(
        slot,
        phase=Phase.BUY,
        position_steps=Steps(0),
        cost_atoms=Atoms(0),
        proceeds_atoms=Atoms(0),
        cycle=slot.cycle + 1,
    )


def spend_id(slot: Slot, event: OrderEvent) -> Slot:
    """Apply ``event`` to an order that reached the venue and ended without a fill: its client
    id is spent there, so the slot's next order takes the next cycle's."""
    return _apply(slot, event, {"cycle": slot.cycle + 1})


def take_lot(slot: Slot, lot: Slot) -> Slot:
    """A reconfiguration hands a removed level's holdings, at their cost, to this free level,
    which sells them at its own sell price."""
    return evolve(
        slot,
        phase=Phase.SELL,
        position_steps=lot.position_steps,
        cost_atoms=lot.cost_atoms,
        proceeds_atoms=lot.proceeds_atoms,
    )


def move_level(slot: Slot, *, level: int, sell_ticks: Ticks, cycle: int) -> Slot:
    """A reconfiguration puts this slot on the new grid's level at its buy price. A slot whose
    level index changes takes the book's floor cycle: its old index's ids may be another's."""
    return evolve(
        slot, level=level, sell_ticks=sell_ticks, cycle=cycle, is_engaged=True, retiring=False
    )


def park(slot: Slot, level: int) -> Slot:
    """A retired level's lot with no free level to take it sells at its own price under
    ``level``, a level of its own, from cycle 0: its ids are nobody else's."""
    return evolve(slot, level=level, cycle=0, is_engaged=False)
