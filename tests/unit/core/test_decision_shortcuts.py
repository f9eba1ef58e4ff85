"""The shortcuts that make a decision cheaper give what the long way gives."""

from __future__ import annotations

from dataclasses import fields, replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridmaker.core import risk as breaker
from gridmaker.core.decide import decide
from gridmaker.core.events import OrderStatus, OrderUpdate, PriceTick
from gridmaker.core.evolve import evolve
from gridmaker.core.planning import Plan, settles_quietly
from gridmaker.core.risk import BreakerState, RiskParams, RiskState, Trigger
from gridmaker.core.slots import OrderEvent, OrderState, Phase, complete_order, transition
from gridmaker.core.state import Control, GridState
from gridmaker.core.units import Atoms, Steps, Ticks
from tests import kit

P0 = 5_000_000


def _started() -> GridState:
    """A book after its first price: every order PLACING, none acknowledged yet."""
    tick = PriceTick(symbol="BTC/USDT", price_ticks=Ticks(P0), qty_steps=Steps(1), ts_event=0)
    return decide(kit.state(), tick).state


STARTED = _started()

_books = st.builds(
    lambda breaker_state, trigger, control, sell_ppm, acked: _book(
        breaker_state, trigger, control, sell_ppm, acked
    ),
    st.sampled_from(list(BreakerState)),
    st.sampled_from(["", *Trigger]),
    st.sampled_from(list(Control)),
    st.sampled_from([0, 10_000]),
    st.integers(0, 10),
)


def _book(
    breaker_state: BreakerState, trigger: str, control: Control, sell_ppm: int, acked: int
) -> GridState:
    """``STARTED`` with ``acked`` of its orders acknowledged, then the given breaker and control
    (as a restart or an operator may leave them)."""
    state = STARTED
    for slot in sorted(state.slots.values(), key=lambda s: s.buy_ticks)[:acked]:
        if slot.order is OrderState.PLACING:
            state = evolve(
                state, slots={**state.slots, slot.buy_ticks: transition(slot, OrderEvent.ACKED)}
            )
    return evolve(
        state,
        risk=RiskState(breaker=breaker_state, trigger=trigger),
        risk_params=RiskParams(stop_loss_sell_ppm=sell_ppm),
        control=control,
    )


@given(book=_books)
def test_settles_quietly_true_enforcement_and_sale_change_nothing(book: GridState) -> None:
    # Arrange
    plan = Plan(book)

    # Act
    plan.enforce_breaker()
    plan.liquidate_if_due()

    # Assert
    if settles_quietly(book):
        assert plan.actions == []
        assert plan.freeze().state == book


@settings(max_examples=200)
@given(book=_books, which=st.integers(0, 100))
def test_decide_ack_shortcut_equals_the_long_way(book: GridState, which: int) -> None:
    # Arrange
    placing = sorted(
        (s for s in book.slots.values() if s.order is OrderState.PLACING), key=lambda s: s.level
    )
    if not placing:
        return
    slot = placing[which % len(placing)]
    update = OrderUpdate(
        symbol="BTC/USDT",
        client_order_id=slot.order_cid,
        status=OrderStatus.OPEN,
        filled_steps=Steps(0),
        ts_event=3,
    )
    plan = Plan(book)
    plan.plan(transition(slot, OrderEvent.ACKED))
    plan.enforce_breaker()
    plan.liquidate_if_due()
    expected = plan.freeze()

    # Act
    decision = decide(book, update)

    # Assert
    assert decision == expected


@given(
    position=st.integers(0, 10_000),
    cost=st.integers(0, 10**12),
    proceeds=st.integers(0, 10**12),
)
def test_complete_order_with_the_fill_equals_two_copies(
    position: int, cost: int, proceeds: int
) -> None:
    # Arrange
    slot = next(s for s in STARTED.slots.values() if s.order is OrderState.PLACING)
    changes = {
        "position_steps": Steps(position),
        "cost_atoms": Atoms(cost),
        "proceeds_atoms": Atoms(proceeds),
    }

    # Act
    once = complete_order(slot, **changes)

    # Assert
    assert once == complete_order(evolve(slot, **changes))
    assert once.phase is Phase.SELL
    assert once.order is OrderState.NONE


@pytest.mark.parametrize("field", ["phase", "cycle"])
def test_complete_order_phase_or_cycle_refused(field: str) -> None:
    # Arrange
    slot = next(iter(STARTED.slots.values()))

    # Act / Assert
    with pytest.raises(TypeError, match=field):
        complete_order(slot, **{field: 1})


@given(data=st.data())
def test_evolve_any_fields_equals_replace(data: st.DataObject) -> None:
    # Arrange
    names = [f.name for f in fields(GridState) if f.name not in ("slots", "risk")]
    chosen = data.draw(st.lists(st.sampled_from(names), unique=True, max_size=6))
    changes = {name: data.draw(st.integers(0, 10**9), label=name) for name in chosen}

    # Act
    copied = evolve(STARTED, **changes)

    # Assert
    assert copied == replace(STARTED, **changes)  # type: ignore[arg-type]


def test_evolve_unknown_field_refused() -> None:
    # Act / Assert
    with pytest.raises(TypeError, match="no field"):
        evolve(STARTED, no_such_field=1)


@given(
    window=st.lists(st.integers(1, 10**7), min_size=1, max_size=20),
    price=st.integers(1, 10**7),
    limit=st.integers(1, 10**6),
)
def test_move_ppm_is_what_the_fast_move_trigger_trips_on(
    window: list[int], price: int, limit: int
) -> None:
    # Arrange
    params = RiskParams(fast_move_ppm=limit, fast_move_window_ms=1_000)
    risk = RiskState(window=tuple((5, p) for p in window))

    # Act
    after = breaker.check_price(risk, params, price, 10)

    # Assert
    fires = breaker.move_ppm(min(window), max(window), price) >= limit
    assert (after.trigger == Trigger.FAST_MOVE) is fires


@given(
    high_water=st.integers(0, 10**15),
    equity=st.integers(1, 10**15),
    limit=st.integers(1, 10**6),
)
def test_drawdown_of_is_what_the_drawdown_trigger_trips_on(
    high_water: int, equity: int, limit: int
) -> None:
    # Arrange
    params = RiskParams(drawdown_ppm=limit)
    risk = RiskState(high_water_atoms=high_water)

    # Act
    after = breaker.check_equity(
        risk, params, equity_atoms=equity, inventory_steps=0, realized_pnl_atoms=0, ts_event=1
    )

    # Assert
    fires = breaker.drawdown_of(max(high_water, equity), equity) >= limit
    assert (after.trigger == Trigger.DRAWDOWN) is fires
    assert after.high_water_atoms == max(high_water, equity)
