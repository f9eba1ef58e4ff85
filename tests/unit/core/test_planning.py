from __future__ import annotations

from gridmaker.core import risk as breaker
from gridmaker.core.decide import decide
from gridmaker.core.events import (
    BreakerCommand,
    BreakerOrder,
    CancelOrder,
    OrderStatus,
    OrderUpdate,
    PriceTick,
    Side,
)
from gridmaker.core.evolve import evolve
from gridmaker.core.planning import Plan
from gridmaker.core.risk import OnTrip, RiskParams, Trigger
from gridmaker.core.slots import OrderState
from gridmaker.core.state import GridState, make_slot
from gridmaker.core.units import Steps, Ticks, notional_atoms
from tests import kit

P0 = 5_000_000


def _acked(state: GridState) -> GridState:
    """The book after its first price, every order acknowledged by the venue."""
    tick = PriceTick(symbol=state.symbol, price_ticks=Ticks(P0), qty_steps=Steps(1), ts_event=0)
    state = decide(state, tick).state
    for slot in list(state.slots.values()):
        update = OrderUpdate(
            symbol=state.symbol,
            client_order_id=slot.order_cid,
            status=OrderStatus.OPEN,
            filled_steps=Steps(0),
            ts_event=1,
        )
        state = decide(state, update).state
    return state


def _tripped(state: GridState, on_trip: OnTrip = OnTrip.REDUCE) -> GridState:
    params = RiskParams(on_trip=on_trip)
    risk = breaker.trip(state.risk, params, Trigger.MANUAL, "test", 2)
    return evolve(state, risk=risk, risk_params=params)


def test_freeze_only_freezes_even_when_the_breaker_forbids_open_orders() -> None:
    # Arrange
    state = _tripped(_acked(kit.state()))

    # Act
    decision = Plan(state).freeze()

    # Assert
    assert decision.actions == ()
    assert decision.state.slots == state.slots


def test_enforce_breaker_cancels_open_buys_and_keeps_sells() -> None:
    # Arrange
    plan = Plan(_tripped(_acked(kit.state())))

    # Act
    plan.enforce_breaker()

    # Assert
    cancelled = {a.client_order_id for a in plan.actions if isinstance(a, CancelOrder)}
    buys = {s.order_cid for s in plan.state.slots.values() if s.order_side is Side.BUY}
    assert cancelled == buys
    sells = [s for s in plan.slots.values() if s.order_side is Side.SELL]
    assert sells and all(s.order is OrderState.OPEN for s in sells)


def test_enforce_breaker_when_halted_cancels_every_open_order() -> None:
    plan = Plan(_tripped(_acked(kit.state()), OnTrip.HALT))
    plan.enforce_breaker()
    assert all(s.order is OrderState.CANCELLING for s in plan.slots.values() if s.order_side)


def test_a_breaker_order_through_decide_settles_what_freeze_alone_does_not() -> None:
    # Arrange
    state = evolve(_acked(kit.state()), risk_params=RiskParams(on_trip=OnTrip.REDUCE))
    order = BreakerOrder(symbol=state.symbol, command=BreakerCommand.TRIP, reason="t", ts_event=2)

    # Act
    decision = decide(state, order)

    # Assert
    buys = [s for s in state.slots.values() if s.order_side is Side.BUY]
    assert len([a for a in decision.actions if isinstance(a, CancelOrder)]) == len(buys)


def test_funds_are_counted_once_and_a_planned_buy_spends_its_reserve() -> None:
    # Arrange: a started book with no slot working anything.
    state = evolve(kit.state(), last_price_ticks=Ticks(P0 + 1), is_started=True)
    slot = make_slot(state.grid, 0)
    assert slot is not None
    plan = Plan(state)
    funds = plan.funds()
    free_quote, free_base = funds.quote, funds.base

    # Act
    plan.place(slot, Side.BUY, P0, 100)

    # Assert
    assert plan.funds() is funds
    reserve = notional_atoms(P0, 100) + state.instrument.fee(P0, 100)
    assert (funds.quote, funds.base) == (free_quote - reserve, free_base)
    assert (free_quote, free_base) == (state.quote_atoms, state.base_steps)
