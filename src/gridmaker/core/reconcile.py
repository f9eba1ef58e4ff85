"""``reconcile(state, snapshot)``: match a stored book against what the venue says at boot.

Invariants:

1. Every fill in the snapshot is applied exactly once, oldest first, before any order state is
   concluded from absence (a filled order is not a zombie).
2. A slot whose order the venue lists as open is OPEN afterwards (matched).
3. A slot whose order the venue does not list and that no fill completed is freed: PLACING or
   UNKNOWN orders never reached the venue and keep their client id; OPEN or CANCELLING orders
   existed (zombies) and the slot moves to a fresh id.
4. An open order with our strategy's prefix that no slot tracks is cancelled (no intent of ours
   stands behind it); an order without our prefix is foreign: reported, never touched.
5. Pure: the same state and snapshot always give the same decision and report.
"""

from __future__ import annotations

from dataclasses import dataclass

from gridmaker.core.events import (
    Action,
    CancelOrder,
    Fill,
    OrderStatus,
    OrderUpdate,
    Side,
)
from gridmaker.core.ids import decode_cid
from gridmaker.core.slots import OrderState
from gridmaker.core.strategy import Decision, GridState, decide
from gridmaker.core.units import Steps, Ticks

__all__ = ["ReconcileReport", "Snapshot", "VenueOrder", "reconcile"]


@dataclass(frozen=True, slots=True, kw_only=True)
class VenueOrder:
    client_order_id: str
    side: Side
    price_ticks: Ticks
    qty_steps: Steps
    filled_steps: Steps


@dataclass(frozen=True, slots=True, kw_only=True)
class Snapshot:
    """What the venue reported for one symbol: open orders and the fills we have not applied."""

    open_orders: tuple[VenueOrder, ...]
    fills: tuple[Fill, ...]
    ts_event: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ReconcileReport:
    matched: tuple[str, ...] = ()
    zombies: tuple[str, ...] = ()
    ghost_fills: tuple[str, ...] = ()
    resolved: tuple[str, ...] = ()
    unknown_ours: tuple[str, ...] = ()
    foreign: tuple[str, ...] = ()

    def counts(self) -> dict[str, int]:
        return {
            "matched": len(self.matched),
            "zombies": len(self.zombies),
            "ghost_fills": len(self.ghost_fills),
            "resolved": len(self.resolved),
            "unknown_ours": len(self.unknown_ours),
            "foreign": len(self.foreign),
        }


def _tracked(state: GridState) -> dict[str, OrderState]:
    return {s.order_cid: s.order for s in state.slots.values() if s.has_live_order}


def reconcile(state: GridState, snapshot: Snapshot) -> tuple[Decision, ReconcileReport]:
    """The book after the venue's snapshot, the actions it calls for, and what was found."""
    actions: list[Action] = []
    venue = {o.client_order_id: o for o in snapshot.open_orders}
    before = _tracked(state)

    # 1. Fills first: an order they complete is neither open nor a zombie.
    ghost: list[str] = []
    for fill in snapshot.fills:
        decision = decide(state, fill)
        state = decision.state
        actions.extend(decision.actions)
        ghost.append(fill.trade_id)

    # 2. Every order we still think is live: matched, or gone.
    matched: list[str] = []
    zombies: list[str] = []
    resolved: list[str] = []
    for cid, order_state in sorted(_tracked(state).items()):
        if cid not in before:
            continue  # placed just now by step 1; the venue cannot know it yet
        if cid in venue:
            status = OrderStatus.OPEN
            matched.append(cid)
        else:
            status = OrderStatus.NOT_FOUND
            if order_state in (OrderState.PLACING, OrderState.UNKNOWN):
                resolved.append(cid)
            else:
                zombies.append(cid)
        update = OrderUpdate(
            symbol=state.symbol,
            client_order_id=cid,
            status=status,
            filled_steps=venue[cid].filled_steps if cid in venue else Steps(0),
            ts_event=snapshot.ts_event,
        )
        decision = decide(state, update)
        state = decision.state
        actions.extend(decision.actions)

    # 3. Venue orders nobody here tracks.
    tracked = _tracked(state)
    unknown_ours: list[str] = []
    foreign: list[str] = []
    for cid in sorted(venue):
        if cid in tracked:
            continue
        decoded = decode_cid(cid)
        if decoded is None or decoded.strategy != state.params.strategy_id:
            foreign.append(cid)
            continue
        unknown_ours.append(cid)
        actions.append(CancelOrder(symbol=state.symbol, client_order_id=cid, level=decoded.level))

    report = ReconcileReport(
        matched=tuple(matched),
        zombies=tuple(zombies),
        ghost_fills=tuple(ghost),
        resolved=tuple(resolved),
        unknown_ours=tuple(unknown_ours),
        foreign=tuple(foreign),
    )
    return Decision(state, tuple(actions)), report
