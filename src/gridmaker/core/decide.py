"""The grid strategy: ``decide(state, event) -> Decision(state, actions)``.

Modes:

- ``long``: buys below the price; each completed buy is answered by a take-profit sell one level
  up; each completed sell by a buy-back one level down (the same slot, next cycle).
- ``neutral``: as ``long``, plus the slots above the start price begin holding inventory taken
  from the base balance, so sells rest above the price from the start.

Rules kept by ``decide`` (what an idle slot may send is ``planning``'s):

1. It never performs an action; it returns them with a state that already records the intent
   (the slot is PLACING or CANCELLING).
2. Balances move only on fills: ``base_steps`` and ``quote_atoms`` change by exactly what each
   fill states, fees included, so base and quote are conserved.
3. Every decision that plans ends the same way, in this order: what a tripped breaker forbids is
   cancelled, then a due stop-loss sale is sent, then the plan is frozen (``_settle``).
"""

from __future__ import annotations

from collections.abc import Mapping

from gridmaker.core import risk as breaker
from gridmaker.core.commanded import (
    apply_breaker_command,
    apply_operator_command,
    guarded,
    on_breaker_order,
    on_operator_order,
)
from gridmaker.core.events import (
    BreakerOrder,
    CandleClosed,
    CapitalChange,
    Event,
    Fill,
    OperatorOrder,
    OrderStatus,
    OrderUpdate,
    PriceTick,
    Reconfigure,
    Side,
)
from gridmaker.core.evolve import evolve
from gridmaker.core.ids import decode_cid
from gridmaker.core.planning import Plan, engaged_window, is_parked, settles_quietly
from gridmaker.core.reshape import is_ours, on_capital_change, on_reconfigure, on_stray_fill
from gridmaker.core.risk import BreakerState, RiskParams, RiskState
from gridmaker.core.slots import (
    OrderEvent,
    OrderState,
    Phase,
    Slot,
    complete_order,
    hand_inventory,
    spend_id,
    transition,
)
from gridmaker.core.state import Decision, GridMode, GridState, make_slot, order_qty
from gridmaker.core.units import FEE_SCALE, Atoms, Steps, notional_atoms

__all__ = [
    "apply_breaker_command",
    "apply_operator_command",
    "decide",
    "needs_decision",
    "replan",
]


def decide(state: GridState, event: Event) -> Decision:
    """The new state and the actions one event calls for. Pure and deterministic."""
    if isinstance(event, PriceTick):
        planned = _on_price(state, event)
    elif isinstance(event, Fill):
        planned = _on_fill(state, event)
    elif isinstance(event, OrderUpdate):
        planned = _on_update(state, event)
    elif isinstance(event, BreakerOrder):
        planned = on_breaker_order(state, event)
    elif isinstance(event, OperatorOrder):
        planned = on_operator_order(state, event)
    elif isinstance(event, Reconfigure):
        planned = on_reconfigure(state, event)
    elif isinstance(event, CapitalChange):
        planned = on_capital_change(state, event)
    elif isinstance(event, CandleClosed):
        candle = breaker.Candle(event.close_ticks, event.volume_steps, event.ts_event)
        planned = guarded(state, breaker.check_candle(state.risk, state.risk_params, candle))
    else:
        return Decision(state)
    return planned if isinstance(planned, Decision) else _settle(planned)


def _settle(plan: Plan) -> Decision:
    """How every planned decision ends (rule 3): the breaker first, then the sale, then freeze."""
    if settles_quietly(plan.state):
        return plan.freeze()
    plan.enforce_breaker()
    plan.liquidate_if_due()
    return plan.freeze()


def replan(state: GridState) -> Decision:
    """Plan every idle slot against the last price (a boot does this after reconciling)."""
    if not state.is_started:
        return Decision(state)
    plan = Plan(state)
    plan.plan_all_idle()
    return _settle(plan)


# --- prices ---------------------------------------------------------------------------------


def _on_price(state: GridState, tick: PriceTick) -> Plan | Decision:
    if state.trigger_ticks and not state.is_started and not _crosses_trigger(state, tick):
        return Decision(evolve(state, last_price_ticks=tick.price_ticks))
    level = state.grid.level_at_or_below(tick.price_ticks)
    if state.is_started and level == state.price_level and not _beyond_bounds(state, tick):
        # Inside the same level band nothing becomes placeable or leaves the window.
        return Decision(evolve(state, last_price_ticks=tick.price_ticks))
    price = tick.price_ticks
    risk = breaker.check_price(state.risk, state.risk_params, price, tick.ts_event)
    risk = _check_equity(state, risk, state.slots, price, tick.ts_event)
    state = evolve(state, last_price_ticks=price, price_level=level, risk=risk)
    plan = Plan(state)
    if not state.is_started:
        _start(plan, level)
        plan.state = evolve(plan.state, is_started=True)
        return plan
    if state.params.trailing:
        _move_window(plan, level)
    plan.plan_all_idle()
    return plan


def _crosses_trigger(state: GridState, tick: PriceTick) -> bool:
    """The price reached the trigger, or moved across it since the last price seen."""
    trigger, price, last = state.trigger_ticks, tick.price_ticks, state.last_price_ticks
    return price == trigger or (last > 0 and (last < trigger) != (price < trigger))


def _start(plan: Plan, level: int) -> None:
    """First price: create the slots; in neutral mode hand inventory to the slots above."""
    state = plan.state = evolve(plan.state, start_price_ticks=plan.state.last_price_ticks)
    if state.params.compound and not state.sizing_atoms:
        # Compounding needs the capital the configured size stands for: the start's equity.
        equity = state.quote_atoms + state.base_steps * state.last_price_ticks * FEE_SCALE
        state = plan.state = evolve(state, capital_atoms=equity, sizing_atoms=equity)
    low, high = engaged_window(state, level)
    floor = state.cycle_floor
    slots = [
        s for lv in range(low, high + 1) if (s := make_slot(state.grid, lv, floor)) is not None
    ]
    if state.params.mode is GridMode.NEUTRAL:
        qty = Steps(order_qty(state))
        funds = plan.funds()
        for slot in slots:  # ascending: inventory goes to the levels nearest the price first
            if slot.buy_ticks < state.last_price_ticks or funds.base < qty:
                plan.put(slot)
                continue
            funds.base -= qty
            plan.put(hand_inventory(slot, qty, notional_atoms(state.last_price_ticks, qty)))
    else:
        for slot in slots:
            plan.put(slot)
    plan.plan_all_idle()


def _move_window(plan: Plan, level: int) -> None:
    low, high = engaged_window(plan.state, level)
    for tick in list(plan.slots):
        slot = plan.slots[tick]
        inside = low <= slot.level <= high
        if inside == slot.is_engaged:
            continue
        slot = evolve(slot, is_engaged=inside)
        if not inside and slot.phase is Phase.BUY and slot.order is OrderState.OPEN:
            slot = plan.cancel(slot)
        plan.put(slot)
    known = {s.level for s in plan.slots.values() if not s.retiring}
    floor = plan.state.cycle_floor
    for lv in range(low, high + 1):
        new_slot = None if lv in known else make_slot(plan.state.grid, lv, floor)
        if new_slot is not None:
            plan.put(new_slot)


# --- fills and order updates ----------------------------------------------------------------


def _slot_of(state: GridState, cid: str) -> Slot | None:
    decoded = decode_cid(cid)
    if decoded is None or decoded.strategy != state.params.strategy_id:
        return None
    slot = state.slot_for_level(decoded.level)
    if state.reshapes and (slot is None or slot.order_cid != cid):
        # After a reconfiguration an order kept (or being retired) may carry its old level,
        # and an old level index may name another price: only the id itself is trusted.
        for other in state.slots.values():
            if other.order_cid == cid:
                return other
        return None
    if slot is None:
        slot = make_slot(state.grid, decoded.level, state.cycle_floor)
    return slot


def _on_fill(state: GridState, fill: Fill) -> Plan | Decision:
    if state.liquidation_cid and fill.client_order_id == state.liquidation_cid:
        return _on_liquidation_fill(state, fill)
    slot = _slot_of(state, fill.client_order_id)
    if slot is None:
        if state.reshapes and is_ours(state, fill.client_order_id):
            return on_stray_fill(state, fill)
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
        position = Steps(slot.position_steps + fill.qty_steps)
        money = {"cost_atoms": Atoms(slot.cost_atoms + notional + fill.fee_atoms)}
    else:
        position = Steps(max(0, slot.position_steps - fill.qty_steps))
        money = {"proceeds_atoms": Atoms(slot.proceeds_atoms + notional - fill.fee_atoms)}
    if is_its_order and filled >= slot.order_qty_steps:
        slot = complete_order(slot, position_steps=position, **money)  # one copy, not two
    else:
        slot = evolve(slot, position_steps=position, order_filled_steps=Steps(filled), **money)
    plan = Plan(state)
    plan.put(slot)
    if _has_equity_triggers(state.risk_params):
        price = state.last_price_ticks
        risk = _check_equity(state, state.risk, plan.slots, price, fill.ts_event)
        if risk is not state.risk:
            plan.state = evolve(state, risk=risk)
    if is_buy:
        # A buy fill frees no quote (its reserve turns into cost) and moves no price: no other
        # idle slot can become placeable, so only this one is planned.
        plan.plan(plan.slots[slot.buy_ticks])
    else:
        plan.plan_all_idle()
    return plan


def _on_liquidation_fill(state: GridState, fill: Fill) -> Plan:
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
    plan = Plan(state)
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
        plan.put(plan.close_cycle(slot) if slot.position_steps == 0 else slot)
    if left:
        plan.state = evolve(plan.state, dust_steps=Steps(max(0, plan.state.dust_steps - left)))
    if plan.state.liquidation_steps == 0:
        plan.state = evolve(plan.state, liquidation_cid="")
    return plan


_ENDED_WITHOUT_FILL = {
    OrderStatus.CANCELED: OrderEvent.CANCELED,
    OrderStatus.REJECTED: OrderEvent.REJECTED,
}


def _on_update(state: GridState, update: OrderUpdate) -> Plan | Decision:
    if state.liquidation_cid and update.client_order_id == state.liquidation_cid:
        if update.status in (OrderStatus.REJECTED, OrderStatus.CANCELED, OrderStatus.NOT_FOUND):
            # The sale did not happen (or only in part): a fresh one is sent for what is left.
            return Plan(evolve(state, liquidation_cid=""))
        return Decision(state)
    slot = _slot_of(state, update.client_order_id)
    if slot is None or slot.order_cid != update.client_order_id or not slot.has_live_order:
        return Decision(state)  # stale: about an order this slot no longer works
    if update.status is OrderStatus.OPEN:
        slot = transition(slot, OrderEvent.ACKED)
        if (
            slot.order_side is Side.SELL
            and slot.order_price_ticks != slot.sell_ticks
            and slot.order is OrderState.OPEN
        ):
            # Sent before a reconfiguration moved this level's sell price: re-price it.
            plan = Plan(state)
            plan.put(plan.cancel(slot))
            return plan
        if settles_quietly(state) and not slot.retiring:
            # The common answer: only the slot changes, and a slot with a live order plans
            # nothing; the breaker and the sale have nothing to do (``_settle``).
            return Decision(evolve(state, slots={**state.slots, slot.buy_ticks: slot}))
    elif update.status is OrderStatus.UNKNOWN:
        slot = transition(slot, OrderEvent.AMBIGUOUS)
    elif update.status is OrderStatus.NOT_FOUND:
        # Never reached the venue: the same id may be sent again (lookup-before-resend).
        # One that did reach it (it was acked) has spent its id there.
        if slot.order in (OrderState.OPEN, OrderState.CANCELLING):
            slot = spend_id(slot, OrderEvent.FOUND_GONE)
        else:
            slot = transition(slot, OrderEvent.FOUND_GONE)
    elif update.status in _ENDED_WITHOUT_FILL:
        # The id is spent at the venue; the slot's next order needs a fresh one. It is planned
        # on the next price level or fill, not now: re-sending at once into the same market
        # would be refused again (post-only crossing, funds) and loop. One we cancelled
        # ourselves (a repriced or retired level) is planned at once.
        ours = slot.order is OrderState.CANCELLING or (slot.retiring and not is_parked(slot))
        slot = spend_id(slot, _ENDED_WITHOUT_FILL[update.status])
        plan = Plan(state)
        if ours:
            plan.plan(slot)
        else:
            plan.put(slot)
        return plan  # a breaker may still have something to do
    else:
        return Decision(state)  # FILLED: the fills themselves move the slot
    plan = Plan(state)
    plan.plan(slot)
    return plan


def _has_equity_triggers(params: RiskParams) -> bool:
    return bool(
        params.drawdown_ppm or params.inventory_limit_steps or params.realized_loss_limit_atoms
    )


def _check_equity(
    state: GridState, risk: RiskState, slots: Mapping[int, Slot], price: int, ts_event: int
) -> RiskState:
    """``risk`` after the equity triggers, for ``state``'s balances with ``slots`` at ``price``.

    The inventory is summed only when its limit is set: nothing else reads it.
    """
    params = state.risk_params
    if not _has_equity_triggers(params):
        return risk
    held = 0
    if params.inventory_limit_steps:
        held = sum(s.position_steps for s in slots.values()) + state.dust_steps
    equity = state.quote_atoms + state.base_steps * price * FEE_SCALE
    return breaker.check_equity(
        risk,
        params,
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


def needs_decision(state: GridState | None, price_ticks: int) -> bool:
    """False for a price that changes nothing: same level band as the last decision.

    The live engines and the backtester both call ``decide`` for a price only when this says so,
    which keeps the two identical and the common tick at one division and one comparison.
    """
    if state is None:
        return True
    if not state.is_started:
        # A triggered grid waits: only its first price and a crossing are worth a decision.
        trigger, last = state.trigger_ticks, state.last_price_ticks
        if not (trigger and last) or price_ticks == trigger:
            return True
        return (price_ticks < trigger) != (last < trigger)
    params = state.risk_params
    if (params.stop_loss_ticks and price_ticks <= params.stop_loss_ticks) or (
        params.take_profit_ticks and price_ticks >= params.take_profit_ticks
    ):
        return state.risk.breaker is not BreakerState.HALTED
    return state.grid.level_at_or_below(price_ticks) != state.price_level
