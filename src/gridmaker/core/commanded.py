"""Commands addressed to a book's breaker or control, as ``decide`` applies them, and as they
are applied to a stored book at rest (before the next boot's sync sends anything)."""

from __future__ import annotations

from gridmaker.core import risk as breaker
from gridmaker.core.events import BreakerCommand, BreakerOrder, OperatorCommand, OperatorOrder
from gridmaker.core.evolve import evolve
from gridmaker.core.planning import Plan
from gridmaker.core.risk import RiskState, Trigger
from gridmaker.core.state import Control, GridState

__all__ = [
    "apply_breaker_command",
    "apply_operator_command",
    "guarded",
    "on_breaker_order",
    "on_operator_order",
]


def guarded(state: GridState, risk: RiskState) -> Plan:
    """The book with a new breaker state: cancels what a trip forbids, replans on a clear."""
    was_active = state.risk.is_active
    plan = Plan(evolve(state, risk=risk))
    if risk.is_active and not was_active:
        plan.plan_all_idle()
    return plan


def on_breaker_order(state: GridState, order: BreakerOrder) -> Plan:
    risk, params = state.risk, state.risk_params
    if order.command is BreakerCommand.RESET:
        risk = breaker.clear(risk, f"manual reset: {order.reason}", order.ts_event)
    elif order.command is BreakerCommand.BAN:
        risk = breaker.trip(risk, params, Trigger.BAN, order.reason, order.ts_event)
    else:
        risk = breaker.trip(risk, params, Trigger.MANUAL, order.reason, order.ts_event)
    return guarded(state, risk)


_CONTROL_OF: dict[OperatorCommand, Control] = {
    OperatorCommand.PAUSE: Control.PAUSED,
    OperatorCommand.RESUME: Control.TRADING,
    OperatorCommand.TAKE_PROFIT_ONLY: Control.TAKE_PROFIT_ONLY,
    OperatorCommand.STOP: Control.STOPPED,
    OperatorCommand.CLOSE: Control.CLOSING,
}


def on_operator_order(state: GridState, order: OperatorOrder) -> Plan:
    """The operator's control: what it forbids is cancelled when settled, what it allows
    again is planned at once (every idle slot against the last price)."""
    control = _CONTROL_OF[order.command]
    plan = Plan(evolve(state, control=control, close_ppm=order.limit_ppm))
    if state.is_started:
        plan.plan_all_idle()
    return plan


def apply_operator_command(state: GridState, command: OperatorCommand) -> GridState:
    """An operator command applied to a stored book at rest: only the control changes; the
    next boot's reconciliation cancels what it forbids before anything new is sent."""
    return evolve(state, control=_CONTROL_OF[command])


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
