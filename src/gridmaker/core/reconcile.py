"""``reconcile(state, snapshot)``: match a stored book against what the venue says at boot.

Invariants:

1. Every fill in the snapshot is applied exactly once (a trade id delivered twice counts once),
   oldest first, before any order state is concluded from absence (a filled order is not a
   zombie).
2. A slot whose order the venue lists as open, or a lookup by client id finds open, is OPEN
   afterwards (matched).
3. Absence from the open orders proves nothing by itself: a slot whose order the venue does not
   list and that no fill completed is judged by the lookup of its client id. Not found: PLACING
   or UNKNOWN orders never reached the venue and keep their client id (resolved); OPEN or
   CANCELLING orders are zombies. Cancelled or rejected: a zombie whatever the slot's state (the
   id is spent). Filled with trades missing from the snapshot, not looked up, or a lookup that
   did not answer: UNKNOWN, never freed, so nothing is placed twice.
4. An open order with our strategy's prefix that no slot tracks is adopted when its intent is in
   our journal and its slot is free and would send exactly that order; otherwise it is
   cancelled. An order without our prefix is foreign: reported, never touched.
5. Pure: the same state and snapshot always give the same decision and report.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from gridmaker.core import risk as breaker
from gridmaker.core.decide import decide, needs_decision, replan
from gridmaker.core.events import (
    Action,
    CancelOrder,
    Fill,
    OrderStatus,
    OrderUpdate,
    PriceTick,
    Side,
)
from gridmaker.core.ids import decode_cid
from gridmaker.core.risk import Trigger
from gridmaker.core.slots import OrderEvent, OrderState, transition
from gridmaker.core.state import Decision, GridState
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
    last_price_ticks: Ticks | None = None
    """The venue's last traded price, decided on before the fills (as it printed first)."""
    journaled: frozenset[str] = frozenset()
    """Client ids of open orders whose placement intent is in our journal."""
    lookups: Mapping[str, OrderStatus] = field(default_factory=dict)
    """What a lookup by client id said of each tracked order absent from ``open_orders``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ReconcileReport:
    matched: tuple[str, ...] = ()
    zombies: tuple[str, ...] = ()
    ghost_fills: tuple[str, ...] = ()
    resolved: tuple[str, ...] = ()
    unknown_ours: tuple[str, ...] = ()
    foreign: tuple[str, ...] = ()
    unproven: tuple[str, ...] = ()
    """Absent from the open orders, but nothing proves them gone: left UNKNOWN."""

    def counts(self) -> dict[str, int]:
        return {
            "matched": len(self.matched),
            "zombies": len(self.zombies),
            "ghost_fills": len(self.ghost_fills),
            "resolved": len(self.resolved),
            "unknown_ours": len(self.unknown_ours),
            "foreign": len(self.foreign),
            "unproven": len(self.unproven),
        }


def _adopt(state: GridState, order: VenueOrder) -> GridState | None:
    """Take over a journaled order of ours when its slot is free and would send exactly it."""
    decoded = decode_cid(order.client_order_id)
    slot = None if decoded is None else state.slot_for_level(decoded.level)
    if decoded is None or slot is None or slot.order is not OrderState.NONE:
        return None
    expected_price = slot.buy_ticks if decoded.side is Side.BUY else slot.sell_ticks
    if (
        decoded.cycle != slot.cycle
        or decoded.side.value != slot.phase.value
        or order.side is not decoded.side
        or order.price_ticks != expected_price
    ):
        return None
    slot = transition(
        slot,
        OrderEvent.INTENT_RECORDED,
        order_cid=order.client_order_id,
        order_side=order.side,
        order_price_ticks=order.price_ticks,
        order_qty_steps=order.qty_steps,
        order_filled_steps=order.filled_steps,
    )
    slot = transition(slot, OrderEvent.ACKED)
    return replace(state, slots={**state.slots, slot.buy_ticks: slot})


def _level_of(cid: str) -> int:
    decoded = decode_cid(cid)
    return 0 if decoded is None else decoded.level


def _check_divergence(
    state: GridState, snapshot: Snapshot, tracked: dict[str, OrderState]
) -> GridState:
    """Too many orders the venue and the book disagree about: trip before planning anything."""
    limit = state.risk_params.divergence_limit
    if not limit:
        return state
    venue = {o.client_order_id for o in snapshot.open_orders}
    filled = {f.client_order_id for f in snapshot.fills}
    zombies = [
        cid
        for cid, s in tracked.items()
        if s in (OrderState.OPEN, OrderState.CANCELLING)
        and cid not in venue | filled
        and snapshot.lookups.get(cid) in _GONE
    ]
    prefix = state.params.strategy_id
    strays = [
        cid
        for cid in venue - tracked.keys()
        if (d := decode_cid(cid)) is not None and d.strategy == prefix
    ]
    divergence = len(zombies) + len(strays)
    if divergence <= limit:
        return state
    reason = f"boot sync found {divergence} diverging orders (limit {limit})"
    risk = breaker.trip(
        state.risk, state.risk_params, Trigger.DIVERGENCE, reason, snapshot.ts_event
    )
    return replace(state, risk=risk)


_GONE = frozenset({OrderStatus.NOT_FOUND, OrderStatus.CANCELED, OrderStatus.REJECTED})
"""What a lookup may answer for an order that is gone without (more) fills."""


def _unique_oldest_first(fills: tuple[Fill, ...]) -> list[Fill]:
    """Each trade id once, oldest first (a venue paging by time repeats its page boundary)."""
    seen: set[str] = set()
    unique = [f for f in fills if not (f.trade_id in seen or seen.add(f.trade_id))]  # type: ignore[func-returns-value]
    return sorted(unique, key=lambda f: f.ts_event)


def _absent_status(order_state: OrderState, looked_up: OrderStatus | None) -> OrderStatus:
    """What an order missing from the venue's open orders is taken to be (invariant 3)."""
    if looked_up is OrderStatus.NOT_FOUND:
        return OrderStatus.NOT_FOUND
    if looked_up in (OrderStatus.CANCELED, OrderStatus.REJECTED):
        return OrderStatus.CANCELED
    if looked_up is OrderStatus.OPEN:
        return OrderStatus.OPEN
    return OrderStatus.UNKNOWN  # filled but trades missing, not asked, or no answer


def _bucket(status: OrderStatus, order_state: OrderState) -> str:
    """The report's name for a tracked order the venue answered ``status`` about."""
    if status is OrderStatus.OPEN:
        return "matched"
    if status is OrderStatus.UNKNOWN:
        return "unproven"
    if status is OrderStatus.NOT_FOUND and order_state in (OrderState.PLACING, OrderState.UNKNOWN):
        return "resolved"  # never reached the venue: the same id is sent again
    return "zombies"


def _tracked(state: GridState) -> dict[str, OrderState]:
    tracked = {s.order_cid: s.order for s in state.slots.values() if s.has_live_order}
    if state.liquidation_cid:
        tracked[state.liquidation_cid] = OrderState.OPEN  # the stop-loss sale is ours too
    return tracked


def reconcile(state: GridState, snapshot: Snapshot) -> tuple[Decision, ReconcileReport]:
    """The book after the venue's snapshot, the actions it calls for, and what was found."""
    actions: list[Action] = []
    venue = {o.client_order_id: o for o in snapshot.open_orders}
    before = _tracked(state)
    state = _check_divergence(state, snapshot, before)

    # 0. The price the market is at now: a trade printed before the fills it caused.
    if snapshot.last_price_ticks is not None and needs_decision(state, snapshot.last_price_ticks):
        tick = PriceTick(
            symbol=state.symbol,
            price_ticks=snapshot.last_price_ticks,
            qty_steps=Steps(0),
            ts_event=snapshot.ts_event,
        )
        decision = decide(state, tick)
        state = decision.state
        actions.extend(decision.actions)

    # 1. Fills first: an order they complete is neither open nor a zombie.
    ghost: list[str] = []
    for fill in _unique_oldest_first(snapshot.fills):
        decision = decide(state, fill)
        state = decision.state
        actions.extend(decision.actions)
        ghost.append(fill.trade_id)

    # 2. Every order we still think is live: matched, or gone.
    matched: list[str] = []
    zombies: list[str] = []
    resolved: list[str] = []
    unproven: list[str] = []
    for cid, order_state in sorted(_tracked(state).items()):
        if cid not in before:
            continue  # placed just now by step 1; the venue cannot know it yet
        status = (
            OrderStatus.OPEN
            if cid in venue
            else _absent_status(order_state, snapshot.lookups.get(cid))
        )
        buckets = {"matched": matched, "resolved": resolved, "unproven": unproven}
        buckets.get(_bucket(status, order_state), zombies).append(cid)
        if status is OrderStatus.OPEN and order_state is OrderState.CANCELLING:
            # The cancel was recorded but may never have been sent: send it (again).
            level = _level_of(cid)
            actions.append(CancelOrder(symbol=state.symbol, client_order_id=cid, level=level))
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
        adopted = _adopt(state, venue[cid]) if cid in snapshot.journaled else None
        if adopted is not None:
            state = adopted
            continue
        actions.append(CancelOrder(symbol=state.symbol, client_order_id=cid, level=decoded.level))

    # 4. Whatever is idle now (freed slots, a reset breaker) is planned against the price.
    decision = replan(state)
    state = decision.state
    actions.extend(decision.actions)

    report = ReconcileReport(
        matched=tuple(matched),
        zombies=tuple(zombies),
        ghost_fills=tuple(ghost),
        resolved=tuple(resolved),
        unknown_ours=tuple(unknown_ours),
        foreign=tuple(foreign),
        unproven=tuple(unproven),
    )
    return Decision(state, tuple(actions)), report
