"""``Plan``: one decision under construction, and the rules for what an idle slot may send.

A plan is a private, mutable copy of the book that ``decide`` builds and then freezes into a
``Decision``. Its fields are plain; nothing runs behind the caller's back: ``freeze`` only
freezes, and ``decide`` calls the breaker's enforcement and the stop-loss sale itself.

Rules kept here:

1. A slot is planned only when it has no live order: never two live orders on one level and side.
2. A buy is planned only below the last price and a sell only above it (post-only never crosses);
   an order below the instrument's minimum quantity or notional is never planned.
3. Funds are reserved: the buys planned never need more quote than is free, the sells never more
   base than the slot holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gridmaker.core.events import Action, CancelOrder, PlaceOrder, Side
from gridmaker.core.evolve import evolve
from gridmaker.core.ids import encode_cid
from gridmaker.core.risk import PPM, BreakerState, Trigger
from gridmaker.core.slots import (
    OrderEvent,
    OrderState,
    Phase,
    Slot,
    complete_cycle,
    park,
    take_lot,
    to_sell_phase,
    transition,
)
from gridmaker.core.state import Control, Decision, GridState, order_qty
from gridmaker.core.units import FEE_SCALE, Atoms, Instrument, Steps, Ticks, notional_atoms

__all__ = [
    "LIQUIDATION_LEVEL",
    "PARKED_LEVELS",
    "Funds",
    "Plan",
    "engaged_window",
    "free_funds",
    "is_parked",
    "settles_quietly",
]

LIQUIDATION_LEVEL = -(36**8 - 1)
"""The level in a stop-loss sale's client id: below every grid, so it is never a slot's."""
PARKED_LEVELS = LIQUIDATION_LEVEL + 1
"""The first of the levels a parked lot sells under (``Plan.retire``): far below any grid's
own levels, one fresh level per parked lot, so their client ids are nobody else's."""
_PARKED_ZONE = -(36**7)
"""Levels below this are parked lots' (no grid reaches that many levels below its anchor)."""


@dataclass(slots=True)
class Funds:
    """What one decision may still spend: quote no live buy reserves, base no slot holds."""

    quote: int
    base: int


class Plan:
    """A decision under construction: ``state`` and ``slots`` change as it plans, then freeze."""

    def __init__(self, state: GridState) -> None:
        self.state = state
        self.slots: dict[int, Slot] = dict(state.slots)
        self.actions: list[Action] = []
        self._funds: Funds | None = None

    def funds(self) -> Funds:
        """The free funds, counted the first time this decision asks (a pass over every slot,
        which most decisions never need), then kept current by whoever spends them."""
        if self._funds is None:
            self._funds = free_funds(self.state, self.slots)
        return self._funds

    def book(self) -> GridState:
        """The book as planned so far (for checks that read slots and balances together)."""
        return evolve(self.state, slots=self.slots)

    def freeze(self) -> Decision:
        return Decision(evolve(self.state, slots=self.slots), tuple(self.actions))

    def put(self, slot: Slot) -> None:
        self.slots[slot.buy_ticks] = slot

    def place(self, slot: Slot, side: Side, price_ticks: int, qty_steps: int) -> Slot:
        st = self.state
        cid = encode_cid(st.params.strategy_id, slot.level, side, slot.cycle)
        slot = transition(
            slot,
            OrderEvent.INTENT_RECORDED,
            order_cid=cid,
            order_side=side,
            order_price_ticks=Ticks(price_ticks),
            order_qty_steps=Steps(qty_steps),
            order_filled_steps=Steps(0),
        )
        self.actions.append(
            PlaceOrder(
                symbol=st.symbol,
                client_order_id=cid,
                level=slot.level,
                side=side,
                price_ticks=Ticks(price_ticks),
                qty_steps=Steps(qty_steps),
            )
        )
        if side is Side.BUY:
            self.funds().quote -= _buy_reserve(st.instrument, price_ticks, qty_steps)
        return slot

    def cancel(self, slot: Slot) -> Slot:
        self.actions.append(
            CancelOrder(symbol=self.state.symbol, client_order_id=slot.order_cid, level=slot.level)
        )
        return transition(slot, OrderEvent.CANCEL_SENT)

    def plan(self, slot: Slot) -> Slot:
        """Give a slot without a live order the order its phase calls for, if any; store it."""
        if slot.retiring:
            return self.retire(slot)
        if slot.order is OrderState.NONE:
            slot = self._plan_buy(slot) if slot.phase is Phase.BUY else self._plan_sell(slot)
        self.put(slot)
        return slot

    def plan_all_idle(self) -> None:
        none = OrderState.NONE  # hoisted: an enum member lookup per slot costs more than the test
        sell = Phase.SELL
        # A disengaged (or retiring) level is planned while it holds or has sold: its round
        # trip is booked then, not when a window or a new grid brings it back.
        idle = [
            tick
            for tick, slot in self.slots.items()
            if slot.order is none and (slot.is_engaged or slot.phase is sell or slot.position_steps)
        ]
        # Highest first: when quote is short, the buys nearest the price get it.
        for tick in sorted(idle, reverse=True):
            self.plan(self.slots[tick])

    def retire(self, slot: Slot) -> Slot:
        """A level a reconfiguration removed: its open order is cancelled; once it has none,
        what it holds goes to a level of the new grid (``rehome``) and the slot is forgotten.

        With no free level to take it, the lot is parked: it sells at its own sell price under
        a level of its own (``PARKED_LEVELS``), so that no held inventory is left unoffered."""
        parked = is_parked(slot)
        if slot.order is OrderState.OPEN and not parked:
            slot = self.cancel(slot)
        elif slot.order is OrderState.NONE:
            if slot.position_steps <= 0:
                if slot.cost_atoms or slot.proceeds_atoms:
                    slot = self.close_cycle(slot)  # its sell filled before the cancel landed
                self.slots.pop(slot.buy_ticks, None)
                return slot
            home = self.rehome(slot)
            if home is not None:
                return home
            if not parked:
                slot = park(slot, PARKED_LEVELS + self.state.parked)
                self.state = evolve(self.state, parked=self.state.parked + 1)
            slot = self._plan_sell(to_sell_phase(slot))
        self.put(slot)
        return slot

    def rehome(self, lot: Slot) -> Slot | None:
        """Hand what ``lot`` holds, at its cost, to the free level whose sell recovers that
        cost at the lowest price (any free level, nearest first, when losses are allowed);
        ``None`` when there is none: the lot stays where it is, placing nothing."""
        st = self.state
        qty, owed = lot.position_steps, lot.cost_atoms - lot.proceeds_atoms
        best: Slot | None = None
        for tick in sorted(self.slots):
            slot = self.slots[tick]
            if (
                slot.retiring
                or not slot.is_engaged
                or slot.order is not OrderState.NONE
                or slot.position_steps
                or slot.phase is not Phase.BUY
            ):
                continue
            price = slot.sell_ticks
            if notional_atoms(price, qty) - st.instrument.fee(price, qty) >= owed:
                best = slot
                break
            if st.loss_allowed:
                best = slot  # the highest free level: the nearest to its cost
        if best is None:
            return None
        self.slots.pop(lot.buy_ticks, None)
        return self.plan(take_lot(best, lot))

    def _plan_buy(self, slot: Slot) -> Slot:
        st = self.state
        size = st.params.order_qty_steps if not st.sizing_atoms else order_qty(st)
        remaining = size - slot.position_steps
        price = slot.buy_ticks
        if remaining <= 0 or not st.instrument.is_tradeable(price, remaining):
            if slot.position_steps > 0:
                return self._plan_sell(to_sell_phase(slot))
            return slot
        if not slot.is_engaged:
            if slot.position_steps > 0:
                return self._plan_sell(to_sell_phase(slot))
            return slot
        if price >= st.last_price_ticks or not st.risk.is_active or st.control is not _TRADING:
            return slot
        if _buy_reserve(st.instrument, price, remaining) > self.funds().quote:
            return slot
        return self.place(slot, Side.BUY, price, remaining)

    def _plan_sell(self, slot: Slot) -> Slot:
        st = self.state
        qty = slot.position_steps
        if qty <= 0 or not st.instrument.is_tradeable(slot.sell_ticks, qty):
            slot = self.close_cycle(slot)
            return self._plan_buy(slot) if slot.is_engaged else slot
        if (
            slot.sell_ticks <= st.last_price_ticks
            or st.risk.breaker is BreakerState.HALTED
            or st.control in _NO_SELLS
        ):
            return slot
        return self.place(slot, Side.SELL, slot.sell_ticks, qty)

    def close_cycle(self, slot: Slot) -> Slot:
        """The round trip is over: book its PnL, set aside any unsellable dust, next cycle."""
        pnl = slot.proceeds_atoms - slot.cost_atoms
        self.state = evolve(
            self.state,
            realized_pnl_atoms=Atoms(self.state.realized_pnl_atoms + pnl),
            completed_cycles=self.state.completed_cycles + 1,
            dust_steps=Steps(self.state.dust_steps + slot.position_steps),
        )
        return complete_cycle(slot)

    def enforce_breaker(self) -> None:
        """Tripped, or told by the operator: cancel open buys (and, when HALTED or STOPPED,
        open sells); in flight ones on ack. A pause cancels nothing."""
        st = self.state
        control = st.control
        if st.risk.is_active and control not in _CANCELS:
            return
        sells_too = st.risk.breaker is BreakerState.HALTED or control in _STOPS
        for tick in sorted(self.slots):
            slot = self.slots[tick]
            if slot.order is not OrderState.OPEN:
                continue
            if slot.order_side is Side.BUY or sells_too:
                self.put(self.cancel(slot))

    def liquidate_if_due(self) -> None:
        """Stop-loss with a sale configured: once no order works, sell the whole inventory."""
        st = self.state
        params = st.risk_params
        closing = st.control is Control.CLOSING
        if (
            not closing
            and (
                st.risk.trigger != Trigger.STOP_LOSS
                or st.control is Control.STOPPED  # a pause or take-profit only does not hold it
                or not params.stop_loss_sell_ppm
            )
        ) or (st.liquidation_cid or any(s.has_live_order for s in self.slots.values())):
            return
        qty = sum(s.position_steps for s in self.slots.values()) + st.dust_steps
        ppm = st.close_ppm if closing else params.stop_loss_sell_ppm
        price = st.last_price_ticks * (PPM - ppm) // PPM
        if qty <= 0 or not st.instrument.is_tradeable(price, qty):
            return
        cid = encode_cid(st.params.strategy_id, LIQUIDATION_LEVEL, Side.SELL, st.liquidations)
        self.actions.append(
            PlaceOrder(
                symbol=st.symbol,
                client_order_id=cid,
                level=LIQUIDATION_LEVEL,
                side=Side.SELL,
                price_ticks=Ticks(price),
                qty_steps=Steps(qty),
                post_only=False,
            )
        )
        self.state = evolve(
            st, liquidation_cid=cid, liquidation_steps=qty, liquidations=st.liquidations + 1
        )


def settles_quietly(state: GridState) -> bool:
    """True when ``enforce_breaker`` and ``liquidate_if_due`` can do nothing on this book (the
    breaker is active, the operator cancels nothing, no stop-loss sale can be due): a decision
    then ends with ``freeze`` alone. Mirrors their first tests; checked with them in tests."""
    risk = state.risk
    return (
        risk.is_active
        and state.control not in _CANCELS
        and (risk.trigger != Trigger.STOP_LOSS or not state.risk_params.stop_loss_sell_ppm)
    )


_TRADING = Control.TRADING
_STOPS = frozenset({Control.STOPPED, Control.CLOSING})
_NO_SELLS = frozenset({Control.PAUSED, *_STOPS})
_CANCELS = frozenset({Control.TAKE_PROFIT_ONLY, *_STOPS})
"""Controls under which no sell is placed (take-profit only still sells what is held), and
those whose working orders are cancelled (buys; sells too when stopped)."""


def is_parked(slot: Slot) -> bool:
    """A retired level's lot selling under a level of its own (``Plan.retire``)."""
    return slot.level < _PARKED_ZONE


def engaged_window(state: GridState, level: int) -> tuple[int, int]:
    """The slot levels engaged at price level ``level`` (inclusive)."""
    grid, params = state.grid, state.params
    if params.trailing:
        low, high = level - params.buy_levels + 1, level + params.sell_levels
        if grid.is_bounded:
            assert grid.min_level is not None and grid.max_level is not None
            low, high = max(low, grid.min_level), min(high, grid.max_level - 1)
        return low, high
    assert grid.min_level is not None and grid.max_level is not None
    return grid.min_level, grid.max_level - 1


def _buy_reserve(instrument: Instrument, price_ticks: int, qty_steps: int) -> int:
    return notional_atoms(price_ticks, qty_steps) + instrument.fee(price_ticks, qty_steps)


def free_funds(state: GridState, slots: Mapping[int, Slot]) -> Funds:
    """Quote not reserved by live buys; base that no slot holds (a slot sells only its own).

    One pass, integer products only: this runs on every decision that plans a buy.
    """
    locked = 0
    held: int = state.dust_steps
    buy = Side.BUY
    for slot in slots.values():
        held += slot.position_steps
        if slot.order_side is buy:  # set only while an order is live
            locked += slot.order_price_ticks * (slot.order_qty_steps - slot.order_filled_steps)
    reserve_rate = FEE_SCALE + state.instrument.maker_fee_ppm
    return Funds(quote=state.quote_atoms - locked * reserve_rate, base=state.base_steps - held)
