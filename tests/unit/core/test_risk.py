from __future__ import annotations

from dataclasses import replace

import pytest

from gridmaker.core import risk as breaker
from gridmaker.core.decide import decide
from gridmaker.core.events import (
    BreakerCommand,
    BreakerOrder,
    CancelOrder,
    PlaceOrder,
    PriceTick,
    Side,
)
from gridmaker.core.risk import BreakerState, Candle, OnTrip, RiskParams, RiskState, Trigger
from gridmaker.core.state import GridMode, GridState
from gridmaker.core.units import Steps, Ticks
from tests import kit
from tests.kit.venue import PaperVenue, run_session

P0 = 5_000_000
SP = 5_000
FAST = RiskParams(fast_move_ppm=50_000, fast_move_window_ms=60_000)  # 5 % within a minute


def _price(risk: RiskState, params: RiskParams, price: int, ts: int) -> RiskState:
    return breaker.check_price(risk, params, price, ts)


def test_fast_move_inside_the_window_trips() -> None:
    risk = _price(RiskState(), FAST, 1000, 0)
    risk = _price(risk, FAST, 949, 30_000)
    assert risk.breaker is BreakerState.REDUCING and risk.trigger == Trigger.FAST_MOVE
    assert risk.tripped_at == 30_000 and "5.10%" in risk.reason


def test_same_move_spread_beyond_the_window_does_not_trip() -> None:
    risk = _price(RiskState(), FAST, 1000, 0)
    risk = _price(risk, FAST, 970, 40_000)
    risk = _price(risk, FAST, 949, 100_001)  # the 1000 sample left the window
    assert risk.is_active


def test_fast_move_off_when_not_configured() -> None:
    risk = _price(RiskState(), RiskParams(), 1000, 0)
    assert _price(risk, RiskParams(), 10, 1).is_active


def test_fast_move_clears_only_after_cooldown_and_back_in_band() -> None:
    params = replace(FAST, cooldown_ms=120_000)
    risk = _price(_price(RiskState(), params, 1000, 0), params, 940, 10_000)
    assert not risk.is_active
    # Still inside the cooldown: stays tripped even though the window has calmed.
    risk = _price(risk, params, 940, 100_000)
    assert not risk.is_active
    # After the cooldown, but the move within the window is still above half the limit.
    risk = _price(risk, params, 975, 131_000)
    assert not risk.is_active
    # After the cooldown and back within half the limit: cleared, and it says why.
    risk = _price(risk, params, 976, 200_000)
    assert risk.is_active and risk.cleared_by.startswith("auto after 120000 ms cooldown")


def test_no_cooldown_means_only_a_manual_reset_clears() -> None:
    risk = _price(_price(RiskState(), FAST, 1000, 0), FAST, 940, 10_000)
    risk = _price(risk, FAST, 940, 10_000_000)
    assert not risk.is_active
    assert breaker.clear(risk, "manual reset: ok", 1).is_active


def test_drawdown_from_high_water_trips_and_hysteresis_clears() -> None:
    params = RiskParams(drawdown_ppm=100_000, cooldown_ms=1)
    kwargs = {"inventory_steps": 0, "realized_pnl_atoms": 0}
    risk = breaker.check_equity(RiskState(), params, equity_atoms=1000, ts_event=0, **kwargs)
    risk = breaker.check_equity(risk, params, equity_atoms=950, ts_event=1, **kwargs)
    assert risk.is_active and risk.high_water_atoms == 1000
    risk = breaker.check_equity(risk, params, equity_atoms=900, ts_event=2, **kwargs)
    assert risk.trigger == Trigger.DRAWDOWN
    risk = breaker.check_equity(risk, params, equity_atoms=940, ts_event=3, **kwargs)
    assert not risk.is_active  # 6 % below: not back under half the 10 % limit
    risk = breaker.check_equity(risk, params, equity_atoms=960, ts_event=4, **kwargs)
    assert risk.is_active and "drawdown back to 4.00%" in risk.cleared_by


def test_inventory_and_realized_loss_limits_trip() -> None:
    params = RiskParams(inventory_limit_steps=500, realized_loss_limit_atoms=1000)
    risk = breaker.check_equity(
        RiskState(), params, equity_atoms=1, inventory_steps=501, realized_pnl_atoms=0, ts_event=1
    )
    assert risk.trigger == Trigger.INVENTORY
    risk = breaker.check_equity(
        RiskState(), params, equity_atoms=1, inventory_steps=0, realized_pnl_atoms=-1000, ts_event=1
    )
    assert risk.trigger == Trigger.REALIZED_LOSS


def test_crash_detector_needs_heavy_volume_and_a_low_close() -> None:
    params = RiskParams(crash_volume_multiple_ppm=3_000_000, crash_ma_candles=3)
    risk = RiskState()
    for i in range(3):
        risk = breaker.check_candle(risk, params, Candle(1000, 10, i))
    heavy_but_high = breaker.check_candle(risk, params, Candle(1010, 40, 3))
    light_and_low = breaker.check_candle(risk, params, Candle(900, 20, 3))
    heavy_and_low = breaker.check_candle(risk, params, Candle(990, 31, 3))
    assert heavy_but_high.is_active and light_and_low.is_active
    assert heavy_and_low.trigger == Trigger.CRASH


def test_stop_loss_and_take_profit_halt_whatever_on_trip_says() -> None:
    params = RiskParams(stop_loss_ticks=900, take_profit_ticks=1100, on_trip=OnTrip.REDUCE)
    assert _price(RiskState(), params, 900, 1).breaker is BreakerState.HALTED
    assert _price(RiskState(), params, 1100, 1).breaker is BreakerState.HALTED
    assert _price(RiskState(), params, 1000, 1).is_active


def test_hard_trigger_escalates_a_reduce_trip_and_keeps_the_first_reason_otherwise() -> None:
    risk = breaker.trip(RiskState(), RiskParams(), Trigger.MANUAL, "first", 1)
    again = breaker.trip(risk, RiskParams(), Trigger.DRAWDOWN, "second", 2)
    assert again == risk
    banned = breaker.trip(risk, RiskParams(), Trigger.BAN, "418", 3)
    assert banned.breaker is BreakerState.HALTED and banned.reason == "418"


# --- the breaker inside the book ----------------------------------------------------------------


def _running(mode: GridMode = GridMode.NEUTRAL, **risk: object) -> tuple[GridState, PaperVenue]:
    state = replace(kit.state(params_=kit.params(mode=mode)), risk_params=RiskParams(**risk))  # type: ignore[arg-type]
    venue = PaperVenue(state.instrument, state.base_steps, state.quote_atoms)
    state, _ = run_session(state, venue, [(P0, None)])
    return state, venue


def _order(state: GridState, command: BreakerCommand) -> BreakerOrder:
    return BreakerOrder(symbol=state.symbol, command=command, reason="test", ts_event=5)


def test_trip_cancels_open_buys_and_keeps_take_profit_sells() -> None:
    # Arrange
    state, _ = _running()

    # Act
    decision = decide(state, _order(state, BreakerCommand.TRIP))

    # Assert
    cancelled = {a.level for a in decision.actions if isinstance(a, CancelOrder)}
    buys = {s.level for s in state.slots.values() if s.order_side is Side.BUY}
    assert cancelled == buys and len(cancelled) == 20
    assert decision.state.risk.breaker is BreakerState.REDUCING


def test_halt_cancels_every_order() -> None:
    state, _ = _running(on_trip=OnTrip.HALT)
    decision = decide(state, _order(state, BreakerCommand.TRIP))
    assert len([a for a in decision.actions if isinstance(a, CancelOrder)]) == 40


def test_tripped_book_places_no_buy_and_reset_places_them_again() -> None:
    # Arrange: tripped, cancels acknowledged.
    state, venue = _running()
    state, _ = run_session(*_tripped(state, venue), [])

    # Act: the market moves; then the operator resets.
    state, while_tripped = run_session(state, venue, [(P0 - 3 * SP, None), (P0 + 2 * SP, None)])
    reset = decide(state, _order(state, BreakerCommand.RESET))

    # Assert
    assert not [a for a in while_tripped if isinstance(a, PlaceOrder) and a.side is Side.BUY]
    assert [a for a in reset.actions if isinstance(a, PlaceOrder) and a.side is Side.BUY]
    assert reset.state.risk.cleared_by == "manual reset: test"


def _tripped(state: GridState, venue: PaperVenue) -> tuple[GridState, PaperVenue]:
    decision = decide(state, _order(state, BreakerCommand.TRIP))
    state = decision.state
    for action in decision.actions:
        state = decide(state, venue.send(action)).state
    return state, venue


def test_fast_move_through_the_book_trips_on_a_price_event() -> None:
    state, _ = _running(fast_move_ppm=30_000, fast_move_window_ms=60_000)
    crash = PriceTick(
        symbol=state.symbol, price_ticks=Ticks(P0 - 40 * SP), qty_steps=Steps(1), ts_event=1
    )
    decision = decide(state, crash)
    assert decision.state.risk.trigger == Trigger.FAST_MOVE
    assert not [a for a in decision.actions if isinstance(a, PlaceOrder) and a.side is Side.BUY]


@pytest.mark.parametrize("price", [P0 - 3 * SP - 1, P0 - 3 * SP])
def test_stop_loss_is_checked_on_every_price_not_only_level_changes(price: int) -> None:
    from gridmaker.core.decide import needs_decision

    state, _ = _running(stop_loss_ticks=P0 - 3 * SP)
    assert needs_decision(state, price)
    assert (
        decide(
            state,
            PriceTick(
                symbol=state.symbol, price_ticks=Ticks(price), qty_steps=Steps(1), ts_event=1
            ),
        ).state.risk.breaker
        is BreakerState.HALTED
    )


def test_stop_loss_with_a_sale_cancels_everything_then_sells_the_inventory() -> None:
    # Arrange: a neutral grid holding inventory, a stop-loss 3 levels down with a 1 % sale.
    state, venue = _running(stop_loss_ticks=P0 - 3 * SP, stop_loss_sell_ppm=10_000)
    held = sum(s.position_steps for s in state.slots.values())
    assert held > 0

    # Act: the price falls through the stop (buys fill on the way down).
    state, actions = run_session(state, venue, [(P0 - 3 * SP, None)])

    # Assert: halted; every order gone; the inventory sold, including what the buys that
    # filled on the way down brought in (their fills arrive after the price).
    sales = [a for a in actions if isinstance(a, PlaceOrder) and not a.post_only]
    assert state.risk.breaker is BreakerState.HALTED and state.risk.trigger == Trigger.STOP_LOSS
    assert {a.side for a in sales} == {Side.SELL}
    assert {a.price_ticks for a in sales} == {(P0 - 3 * SP) * 99 // 100}
    assert sum(a.qty_steps for a in sales) == held + 3 * 100
    assert len({a.client_order_id for a in sales}) == len(sales)
    assert not venue.open()
    assert sum(s.position_steps for s in state.slots.values()) + state.dust_steps == 0
    assert (state.base_steps, state.quote_atoms) == (venue.base, venue.quote)
    assert state.liquidation_cid == "" and state.liquidation_steps == 0


def test_stop_loss_without_a_sale_keeps_the_inventory() -> None:
    state, venue = _running(stop_loss_ticks=P0 - 3 * SP)
    state, actions = run_session(state, venue, [(P0 - 3 * SP, None)])
    assert state.risk.breaker is BreakerState.HALTED
    assert not [a for a in actions if isinstance(a, PlaceOrder) and not a.post_only]
    assert sum(s.position_steps for s in state.slots.values()) > 0
