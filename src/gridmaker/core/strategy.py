"""The grid strategy: ``decide(state, event) -> Decision(state, actions)``.

Modes:

- ``long``: buys below the price; each completed buy is answered by a take-profit sell one level
  up; each completed sell by a buy-back one level down (the same slot, next cycle).
- ``neutral``: as ``long``, plus the slots above the start price begin holding inventory taken
  from the base balance, so sells rest above the price from the start.

Rules kept by ``decide``:

1. It never performs an action; it returns them with a state that already records the intent
   (the slot is PLACING or CANCELLING).
2. A slot is planned only when it has no live order: never two live orders on one level and side.
3. A buy is planned only below the last price and a sell only above it (post-only never crosses);
   an order below the instrument's minimum quantity or notional is never planned.
4. Funds are reserved: the buys planned never need more quote than is free, the sells never more
   base than the slot holds.
5. Balances move only on fills: ``base_steps`` and ``quote_atoms`` change by exactly what each
   fill states, fees included, so base and quote are conserved.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from gridmaker.core import risk as breaker
from gridmaker.core.events import (
    Action,
    BreakerCommand,
    BreakerOrder,
    CancelOrder,
    CandleClosed,
    Event,
    Fill,
    OrderStatus,
    OrderUpdate,
    PlaceOrder,
    PriceTick,
    Side,
)
from gridmaker.core.evolve import evolve
from gridmaker.core.grid import GridSpec
from gridmaker.core.ids import decode_cid, encode_cid
from gridmaker.core.risk import PPM, BreakerState, RiskParams, RiskState, Trigger
from gridmaker.core.slots import OrderEvent, OrderState, Phase, Slot, transition
from gridmaker.core.units import FEE_SCALE, Atoms, Instrument, Steps, Ticks, notional_atoms

LIQUIDATION_LEVEL = -(36**8 - 1)
"""The level in a stop-loss sale's client id: below every grid, so it is never a slot's."""

__all__ = [
    "LIQUIDATION_LEVEL",
    "Decision",
    "GridMode",
    "GridState",
    "StrategyParams",
    "apply_breaker_command",
    "decide",
    "needs_decision",
    "new_state",
    "replan",
]


class GridMode(StrEnum):
    LONG = "long"
    NEUTRAL = "neutral"


@dataclass(frozen=True, slots=True, kw_only=True)
class StrategyParams:
    strategy_id: str
    mode: GridMode
    order_qty_steps: Steps
    trailing: bool = False
    buy_levels: int = 0
    sell_levels: int = 0
    """With ``trailing``: how many levels below / above the price stay engaged."""


@dataclass(frozen=True, slots=True, kw_only=True)
class GridState:
    """Everything the strategy knows about one symbol; saved after every decision."""

    symbol: str
    instrument: Instrument
    grid: GridSpec
    params: StrategyParams
    slots: Mapping[int, Slot]
    """Keyed by the slot's buy price in ticks."""
    base_steps: Steps
    quote_atoms: Atoms
    is_started: bool = False
    last_price_ticks: Ticks = Ticks(0)
    price_level: int = 0
    realized_pnl_atoms: Atoms = Atoms(0)
    fees_atoms: Atoms = Atoms(0)
    buy_fills: int = 0
    sell_fills: int = 0
    completed_cycles: int = 0
    dust_steps: Steps = Steps(0)
    anomalies: int = 0
    """Fills or updates that did not match the slot's live order (late or stray): counted, kept."""
    fill_cursor: str = ""
    """The venue's cursor after the last fill applied (opaque to the core)."""
    risk: RiskState = RiskState()
    risk_params: RiskParams = RiskParams()
    liquidation_cid: str = ""
    """The stop-loss sale of the inventory while it works ("" = none)."""
    liquidation_steps: int = 0
    """What that sale still has to fill."""
    liquidations: int = 0
    """Sales sent so far: the cycle of the next one's client id."""
    """Limits may change between runs (the config wins at boot); the breaker's state may not."""

    @property
    def fills(self) -> int:
        return self.buy_fills + self.sell_fills

    def slot_for_level(self, level: int) -> Slot | None:
        if not self.grid.has_level(level):
            return None
        return self.slots.get(self.grid.price_ticks(level))


@dataclass(frozen=True, slots=True)
class Decision:
    state: GridState
    actions: tuple[Action, ...] = ()


def new_state(
    *,
    symbol: str,
    instrument: Instrument,
    grid: GridSpec,
    params: StrategyParams,
    base_steps: int,
    quote_atoms: int,
) -> GridState:
    """A book before its first price: no slots yet, balances as the venue reported them."""
    return GridState(
        symbol=symbol,
        instrument=instrument,
        grid=grid,
        params=params,
        slots={},
        base_steps=Steps(base_steps),
        quote_atoms=Atoms(quote_atoms),
    )


def decide(state: GridState, event: Event) -> Decision:
    """The new state and the actions one event calls for. Pure and deterministic."""
    if isinstance(event, PriceTick):
        return _on_price(state, event)
    if isinstance(event, Fill):
        return _on_fill(state, event)
    if isinstance(event, OrderUpdate):
        return _on_update(state, event)
    if isinstance(event, BreakerOrder):
        return _on_breaker_order(state, event)
    if isinstance(event, CandleClosed):
        candle = breaker.Candle(event.close_ticks, event.volume_steps, event.ts_event)
        return _guarded(state, breaker.check_candle(state.risk, state.risk_params, candle))
    return Decision(state)


# --- planning -------------------------------------------------------------------------------


class _Plan:
    """A decision under construction: a private, mutable copy that ``decide`` freezes again."""

    def __init__(self, state: GridState) -> None:
        self.state = state
        self.slots: dict[int, Slot] = dict(state.slots)
        self.actions: list[Action] = []
        self._free_quote: int | None = None
        self._free_base: int | None = None

    @property
    def free_quote(self) -> int:
        """Quote not reserved by live buys; computed once per decision, when first needed."""
        if self._free_quote is None:
            self._free_quote, self._free_base = _free_funds(self._with_slots())
        return self._free_quote

    @free_quote.setter
    def free_quote(self, value: int) -> None:
        self._free_quote = value

    @property
    def free_base(self) -> int:
        if self._free_base is None:
            self._free_quote, self._free_base = _free_funds(self._with_slots())
        return self._free_base

    @free_base.setter
    def free_base(self, value: int) -> None:
        self._free_base = value

    def _with_slots(self) -> GridState:
        return evolve(self.state, slots=self.slots)

    def freeze(self, **changes: object) -> Decision:
        self.enforce_breaker()
        self.liquidate_if_due()
        new = evolve(self.state, slots=self.slots, **changes)
        return Decision(new, tuple(self.actions))

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
            self.free_quote -= _buy_reserve(st.instrument, price_ticks, qty_steps)
        return slot

    def cancel(self, slot: Slot) -> Slot:
        self.actions.append(
            CancelOrder(symbol=self.state.symbol, client_order_id=slot.order_cid, level=slot.level)
        )
        return transition(slot, OrderEvent.CANCEL_SENT)

    def plan(self, slot: Slot) -> Slot:
        """Give a slot without a live order the order its phase calls for, if any; store it."""
        if slot.order is OrderState.NONE:
            slot = self._plan_buy(slot) if slot.phase is Phase.BUY else self._plan_sell(slot)
        self.put(slot)
        return slot

    def _plan_buy(self, slot: Slot) -> Slot:
        st = self.state
        remaining = st.params.order_qty_steps - slot.position_steps
        price = slot.buy_ticks
        if remaining <= 0 or not st.instrument.is_tradeable(price, remaining):
            if slot.position_steps > 0:
                return self._plan_sell(evolve(slot, phase=Phase.SELL))
            return slot
        if not slot.is_engaged:
            if slot.position_steps > 0:
                return self._plan_sell(evolve(slot, phase=Phase.SELL))
            return slot
        if price >= st.last_price_ticks or not st.risk.is_active:
            return slot
        if _buy_reserve(st.instrument, price, remaining) > self.free_quote:
            return slot
        return self.place(slot, Side.BUY, price, remaining)

    def _plan_sell(self, slot: Slot) -> Slot:
        st = self.state
        qty = slot.position_steps
        if qty <= 0 or not st.instrument.is_tradeable(slot.sell_ticks, qty):
            slot = self._complete_cycle(slot)
            return self._plan_buy(slot) if slot.is_engaged else slot
        if slot.sell_ticks <= st.last_price_ticks or st.risk.breaker is BreakerState.HALTED:
            return slot
        return self.place(slot, Side.SELL, slot.sell_ticks, qty)

    def _complete_cycle(self, slot: Slot) -> Slot:
        """The round trip is over: realize its PnL, set aside any unsellable dust, next cycle."""
        pnl = slot.proceeds_atoms - slot.cost_atoms
        self.state = evolve(
            self.state,
            realized_pnl_atoms=Atoms(self.state.realized_pnl_atoms + pnl),
            completed_cycles=self.state.completed_cycles + 1,
            dust_steps=Steps(self.state.dust_steps + slot.position_steps),
        )
        return evolve(
            slot,
            phase=Phase.BUY,
            position_steps=Steps(0),
            cost_atoms=Atoms(0),
            proceeds_atoms=Atoms(0),
            cycle=slot.cycle + 1,
        )

    def enforce_breaker(self) -> None:
        """Tripped: cancel open buys (and, when HALTED, open sells); in flight ones on ack."""
        risk = self.state.risk
        if risk.is_active:
            return
        for tick in sorted(self.slots):
            slot = self.slots[tick]
            if slot.order is not OrderState.OPEN:
                continue
            if slot.order_side is Side.BUY or risk.breaker is BreakerState.HALTED:
                self.put(self.cancel(slot))

    def liquidate_if_due(self) -> None:
        """Stop-loss with a sale configured: once no order works, sell the whole inventory."""
        st = self.state
        params = st.risk_params
        if (
            st.risk.trigger != Trigger.STOP_LOSS
            or not params.stop_loss_sell_ppm
            or st.liquidation_cid
            or any(s.has_live_order for s in self.slots.values())
        ):
            return
        qty = sum(s.position_steps for s in self.slots.values()) + st.dust_steps
        price = st.last_price_ticks * (PPM - params.stop_loss_sell_ppm) // PPM
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

    def plan_all_idle(self) -> None:
        none = OrderState.NONE  # hoisted: an enum member lookup per slot costs more than the test
        idle = [
            tick
            for tick, slot in self.slots.items()
            if slot.order is none and (slot.is_engaged or slot.position_steps)
        ]
        # Highest first: when quote is short, the buys nearest the price get it.
        for tick in sorted(idle, reverse=True):
            self.plan(self.slots[tick])


def _buy_reserve(instrument: Instrument, price_ticks: int, qty_steps: int) -> int:
    return notional_atoms(price_ticks, qty_steps) + instrument.fee(price_ticks, qty_steps)


def _free_funds(state: GridState) -> tuple[int, int]:
    """Quote not reserved by live buys; base that no slot holds (a slot sells only its own).

    One pass, integer products only: this runs on every decision that plans a buy.
    """
    locked = 0
    held: int = state.dust_steps
    buy = Side.BUY
    for slot in state.slots.values():
        held += slot.position_steps
        if slot.order_side is buy:  # set only while an order is live
            locked += slot.order_price_ticks * (slot.order_qty_steps - slot.order_filled_steps)
    reserve_rate = FEE_SCALE + state.instrument.maker_fee_ppm
    return state.quote_atoms - locked * reserve_rate, state.base_steps - held


# --- prices ---------------------------------------------------------------------------------


def _window(state: GridState, level: int) -> tuple[int, int]:
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


def _make_slot(grid: GridSpec, level: int) -> Slot | None:
    if not (grid.has_level(level) and grid.has_level(level + 1)):
        return None
    return Slot(
        level=level, buy_ticks=grid.price_ticks(level), sell_ticks=grid.price_ticks(level + 1)
    )


def _on_price(state: GridState, tick: PriceTick) -> Decision:
    level = state.grid.level_at_or_below(tick.price_ticks)
    if state.is_started and level == state.price_level and not _beyond_bounds(state, tick):
        # Inside the same level band nothing becomes placeable or leaves the window.
        return Decision(evolve(state, last_price_ticks=tick.price_ticks))
    risk = breaker.check_price(state.risk, state.risk_params, tick.price_ticks, tick.ts_event)
    state = evolve(state, last_price_ticks=tick.price_ticks, price_level=level, risk=risk)
    state = evolve(state, risk=_check_equity(state, tick.ts_event))
    plan = _Plan(state)
    if not state.is_started:
        _start(plan, level)
        return plan.freeze(is_started=True)
    if state.params.trailing:
        _move_window(plan, level)
    plan.plan_all_idle()
    return plan.freeze()


def _start(plan: _Plan, level: int) -> None:
    """First price: create the slots; in neutral mode hand inventory to the slots above."""
    state = plan.state
    low, high = _window(state, level)
    slots = [s for lv in range(low, high + 1) if (s := _make_slot(state.grid, lv)) is not None]
    if state.params.mode is GridMode.NEUTRAL:
        qty = state.params.order_qty_steps
        for slot in slots:  # ascending: inventory goes to the levels nearest the price first
            if slot.buy_ticks < state.last_price_ticks or plan.free_base < qty:
                plan.put(slot)
                continue
            plan.free_base -= qty
            mark = notional_atoms(state.last_price_ticks, qty)
            plan.put(evolve(slot, phase=Phase.SELL, position_steps=qty, cost_atoms=mark))
    else:
        for slot in slots:
            plan.put(slot)
    plan.plan_all_idle()


def _move_window(plan: _Plan, level: int) -> None:
    low, high = _window(plan.state, level)
    for tick in list(plan.slots):
        slot = plan.slots[tick]
        inside = low <= slot.level <= high
        if inside == slot.is_engaged:
            continue
        slot = evolve(slot, is_engaged=inside)
        if not inside and slot.phase is Phase.BUY and slot.order is OrderState.OPEN:
            slot = plan.cancel(slot)
        plan.put(slot)
    known = {s.level for s in plan.slots.values()}
    for lv in range(low, high + 1):
        new_slot = None if lv in known else _make_slot(plan.state.grid, lv)
        if new_slot is not None:
            plan.put(new_slot)


# --- fills and order updates ----------------------------------------------------------------


def _slot_of(state: GridState, cid: str) -> Slot | None:
    decoded = decode_cid(cid)
    if decoded is None or decoded.strategy != state.params.strategy_id:
        return None
    slot = state.slot_for_level(decoded.level)
    if slot is None:
        slot = _make_slot(state.grid, decoded.level)
    return slot


def _on_fill(state: GridState, fill: Fill) -> Decision:
    if state.liquidation_cid and fill.client_order_id == state.liquidation_cid:
        return _on_liquidation_fill(state, fill)
    slot = _slot_of(state, fill.client_order_id)
    if slot is None:
        # Not ours (foreign or another strategy): never touched, never counted.
        return Decision(evolve(state, anomalies=state.anomalies + 1))
    notional = notional_atoms(fill.price_ticks, fill.qty_steps)
    is_buy = fill.side is Side.BUY
    is_its_order = slot.order_cid == fill.client_order_id and slot.has_live_order
    state = evolve(
        state,
        base_steps=Steps(state.base_steps + (fill.qty_steps if is_buy else -fill.qty_steps)),
        quote_atoms=Atoms(state.quote_atoms - fill.fee_atoms + (-notional if is_buy else notional)),
        fees_atoms=Atoms(state.fees_atoms + fill.fee_atoms),
        buy_fills=state.buy_fills + (1 if is_buy else 0),
        sell_fills=state.sell_fills + (0 if is_buy else 1),
        anomalies=state.anomalies + (0 if is_its_order else 1),
    )
    filled = slot.order_filled_steps + (fill.qty_steps if is_its_order else 0)
    if is_buy:
        slot = evolve(
            slot,
            position_steps=Steps(slot.position_steps + fill.qty_steps),
            cost_atoms=Atoms(slot.cost_atoms + notional + fill.fee_atoms),
            order_filled_steps=Steps(filled),
        )
    else:
        slot = evolve(
            slot,
            position_steps=Steps(max(0, slot.position_steps - fill.qty_steps)),
            proceeds_atoms=Atoms(slot.proceeds_atoms + notional - fill.fee_atoms),
            order_filled_steps=Steps(filled),
        )
    if is_its_order and filled >= slot.order_qty_steps:
        slot = transition(slot, OrderEvent.FILLED, phase=Phase.SELL)
    plan = _Plan(state)
    plan.put(slot)
    if _has_equity_triggers(state.risk_params):
        plan.state = evolve(plan.state, risk=_check_equity(_with(plan), fill.ts_event))
    if is_buy:
        # A buy fill frees no quote (its reserve turns into cost) and moves no price: no other
        # idle slot can become placeable, so only this one is planned.
        plan.plan(plan.slots[slot.buy_ticks])
    else:
        plan.plan_all_idle()
    return plan.freeze()


def _on_liquidation_fill(state: GridState, fill: Fill) -> Decision:
    """The stop-loss sale filled (in part): the held levels give up their inventory, lowest
    first, and each emptied level realizes its round trip; dust goes last."""
    notional = notional_atoms(fill.price_ticks, fill.qty_steps)
    state = evolve(
        state,
        base_steps=Steps(state.base_steps - fill.qty_steps),
        quote_atoms=Atoms(state.quote_atoms + notional - fill.fee_atoms),
        fees_atoms=Atoms(state.fees_atoms + fill.fee_atoms),
        sell_fills=state.sell_fills + 1,
        liquidation_steps=max(0, state.liquidation_steps - fill.qty_steps),
    )
    plan = _Plan(state)
    left: int = fill.qty_steps
    fee: int = fill.fee_atoms
    for tick in sorted(plan.slots):
        slot = plan.slots[tick]
        take = min(left, slot.position_steps)
        if take <= 0:
            continue
        share = notional_atoms(fill.price_ticks, take) - fee
        fee, left = 0, left - take
        slot = evolve(
            slot,
            position_steps=Steps(slot.position_steps - take),
            proceeds_atoms=Atoms(slot.proceeds_atoms + share),
        )
        plan.put(plan._complete_cycle(slot) if slot.position_steps == 0 else slot)
    if left:
        plan.state = evolve(plan.state, dust_steps=Steps(max(0, plan.state.dust_steps - left)))
    if plan.state.liquidation_steps == 0:
        plan.state = evolve(plan.state, liquidation_cid="")
    return plan.freeze()


_ENDED_WITHOUT_FILL = {
    OrderStatus.CANCELED: OrderEvent.CANCELED,
    OrderStatus.REJECTED: OrderEvent.REJECTED,
}


def _on_update(state: GridState, update: OrderUpdate) -> Decision:
    if state.liquidation_cid and update.client_order_id == state.liquidation_cid:
        if update.status in (OrderStatus.REJECTED, OrderStatus.CANCELED, OrderStatus.NOT_FOUND):
            # The sale did not happen (or only in part): a fresh one is sent for what is left.
            return _Plan(evolve(state, liquidation_cid="")).freeze()
        return Decision(state)
    slot = _slot_of(state, update.client_order_id)
    if slot is None or slot.order_cid != update.client_order_id or not slot.has_live_order:
        return Decision(state)  # stale: about an order this slot no longer works
    if update.status is OrderStatus.OPEN:
        slot = transition(slot, OrderEvent.ACKED)
    elif update.status is OrderStatus.UNKNOWN:
        slot = transition(slot, OrderEvent.AMBIGUOUS)
    elif update.status is OrderStatus.NOT_FOUND:
        # Never reached the venue: the same id may be sent again (lookup-before-resend).
        was_acked = slot.order in (OrderState.OPEN, OrderState.CANCELLING)
        slot = transition(slot, OrderEvent.FOUND_GONE)
        if was_acked:
            slot = evolve(slot, cycle=slot.cycle + 1)
    elif update.status in _ENDED_WITHOUT_FILL:
        # The id is spent at the venue; the slot's next order needs a fresh one. It is planned
        # on the next price level or fill, not now: re-sending at once into the same market
        # would be refused again (post-only crossing, funds) and loop.
        slot = transition(slot, _ENDED_WITHOUT_FILL[update.status], cycle=slot.cycle + 1)
        plan = _Plan(state)
        plan.put(slot)
        return plan.freeze()  # no planning; a breaker may still have something to do
    else:
        return Decision(state)  # FILLED: the fills themselves move the slot
    plan = _Plan(state)
    plan.plan(slot)
    return plan.freeze()


def _with(plan: _Plan) -> GridState:
    return evolve(plan.state, slots=plan.slots)


def _has_equity_triggers(params: RiskParams) -> bool:
    return bool(
        params.drawdown_ppm or params.inventory_limit_steps or params.realized_loss_limit_atoms
    )


def _check_equity(state: GridState, ts_event: int) -> RiskState:
    if not _has_equity_triggers(state.risk_params):
        return state.risk
    held = sum(s.position_steps for s in state.slots.values()) + state.dust_steps
    equity = state.quote_atoms + state.base_steps * state.last_price_ticks * FEE_SCALE
    return breaker.check_equity(
        state.risk,
        state.risk_params,
        equity_atoms=equity,
        inventory_steps=held,
        realized_pnl_atoms=state.realized_pnl_atoms,
        ts_event=ts_event,
    )


def _beyond_bounds(state: GridState, tick: PriceTick) -> bool:
    """A stop-loss or take-profit bound is crossed (checked on every price, not per level)."""
    params = state.risk_params
    return bool(
        state.risk.breaker is not BreakerState.HALTED
        and (
            (params.stop_loss_ticks and tick.price_ticks <= params.stop_loss_ticks)
            or (params.take_profit_ticks and tick.price_ticks >= params.take_profit_ticks)
        )
    )


def _guarded(state: GridState, risk: RiskState) -> Decision:
    """The book with a new breaker state: cancels what a trip forbids, replans on a clear."""
    was_active = state.risk.is_active
    plan = _Plan(evolve(state, risk=risk))
    if risk.is_active and not was_active:
        plan.plan_all_idle()
    return plan.freeze()


def _on_breaker_order(state: GridState, order: BreakerOrder) -> Decision:
    risk, params = state.risk, state.risk_params
    if order.command is BreakerCommand.RESET:
        risk = breaker.clear(risk, f"manual reset: {order.reason}", order.ts_event)
    elif order.command is BreakerCommand.BAN:
        risk = breaker.trip(risk, params, Trigger.BAN, order.reason, order.ts_event)
    else:
        risk = breaker.trip(risk, params, Trigger.MANUAL, order.reason, order.ts_event)
    return _guarded(state, risk)


def replan(state: GridState) -> Decision:
    """Plan every idle slot against the last price (a boot does this after reconciling)."""
    if not state.is_started:
        return Decision(state)
    plan = _Plan(state)
    plan.plan_all_idle()
    return plan.freeze()


def apply_breaker_command(
    state: GridState, command: BreakerCommand, reason: str, ts_event: int
) -> GridState:
    """An operator command applied to a stored book at rest: only the breaker changes.

    Its orders are dealt with by the next boot's reconciliation, which cancels what a trip
    forbids before anything new is sent.
    """
    risk = state.risk
    if command is BreakerCommand.RESET:
        risk = breaker.clear(risk, f"manual reset: {reason}", ts_event)
    else:
        trigger = Trigger.BAN if command is BreakerCommand.BAN else Trigger.MANUAL
        risk = breaker.trip(risk, state.risk_params, trigger, reason, ts_event)
    return evolve(state, risk=risk)


def needs_decision(state: GridState | None, price_ticks: int) -> bool:
    """False for a price that changes nothing: same level band as the last decision.

    The live engines and the backtester both call ``decide`` for a price only when this says so,
    which keeps the two identical and the common tick at one division and one comparison.
    """
    if state is None or not state.is_started:
        return True
    params = state.risk_params
    if (params.stop_loss_ticks and price_ticks <= params.stop_loss_ticks) or (
        params.take_profit_ticks and price_ticks >= params.take_profit_ticks
    ):
        return state.risk.breaker is not BreakerState.HALTED
    return state.grid.level_at_or_below(price_ticks) != state.price_level
