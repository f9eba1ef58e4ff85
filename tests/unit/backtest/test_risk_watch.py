"""The backtester's risk watch: level changes that trip nothing are not decided, same result."""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import replace
from decimal import Decimal

from hypothesis import example, given, settings
from hypothesis import strategies as st

from gridmaker.backtest import BacktestSetup, FillModel, TickSeries, fills_of, run_backtest
from gridmaker.backtest.risk_watch import is_watchable
from gridmaker.core.decide import decide, needs_decision
from gridmaker.core.events import Event, Fill, PriceTick
from gridmaker.core.grid import GridKind, GridTemplate
from gridmaker.core.risk import OnTrip, RiskParams
from gridmaker.core.state import GridMode, GridState, new_state
from gridmaker.core.units import Steps, Ticks
from tests import kit

P0 = 5_000_000
SP = 5_000
DEFAULT_RISK = RiskParams(fast_move_ppm=50_000, fast_move_window_ms=300_000, drawdown_ppm=100_000)
"""The config's defaults: 5 % in 300 s, 10 % drawdown."""


def _setup(
    risk: RiskParams, *, mode: GridMode = GridMode.NEUTRAL, quote: str = "100000"
) -> BacktestSetup:
    inst = kit.instrument()
    return BacktestSetup(
        instrument=inst,
        params=kit.params(mode=mode),
        template=GridTemplate(
            kind=GridKind.ARITHMETIC, spacing_ticks=SP, buy_levels=5, sell_levels=5
        ),
        book_base_steps=inst.to_steps(Decimal(1)),
        book_quote_atoms=inst.to_atoms(Decimal(quote)),
        venue_base_steps=inst.to_steps(Decimal(1)),
        venue_quote_atoms=inst.to_atoms(Decimal(quote)),
        start_price_ticks=P0,
        is_preflight_checked=False,
        risk=risk,
    )


def _reference(setup: BacktestSetup, series: TickSeries) -> tuple[GridState, list[Fill]]:
    """The live path, naively: every print matched, every ``needs_decision`` decided."""
    model = FillModel(
        setup.instrument, base_steps=setup.venue_base_steps, quote_atoms=setup.venue_quote_atoms
    )
    state = new_state(
        symbol="BTC/USDT",
        instrument=setup.instrument,
        grid=setup.template.build(P0),
        params=setup.params,
        base_steps=setup.book_base_steps,
        quote_atoms=setup.book_quote_atoms,
    )
    state = replace(state, risk_params=setup.risk)
    applied: list[Fill] = []

    def process(event: Event) -> None:
        nonlocal state
        queue: deque[Event] = deque([event])
        while queue:
            decision = decide(state, queue.popleft())
            state = decision.state
            queue.extend(model.send(a) for a in decision.actions)

    def tick(price: int, ts: int) -> PriceTick:
        return PriceTick(
            symbol="BTC/USDT", price_ticks=Ticks(price), qty_steps=Steps(0), ts_event=ts
        )

    process(tick(P0, series.ts_at(0)))
    for i, price in enumerate(series.prices):
        fills = model.match(price, price, 0, series.ts_at(i))
        if needs_decision(state, price):
            process(tick(price, series.ts_at(i)))
        for fill in fills:
            process(fill)
            applied.append(fill)
    return state, applied


def _series(moves: list[int], gaps: list[int]) -> TickSeries:
    prices = [max(1, P0 + m) for m in itertools.accumulate(moves)]
    stamps = list(itertools.accumulate(gaps[i % len(gaps)] for i in range(len(prices))))
    return TickSeries(prices=prices, ts_event=[1_000_000 + t for t in stamps])


_risks = st.builds(
    RiskParams,
    fast_move_ppm=st.sampled_from([0, 1_500, 3_000, 8_000, 50_000]),
    fast_move_window_ms=st.sampled_from([0, 50, 400, 300_000]),
    drawdown_ppm=st.sampled_from([0, 1, 3, 20, 60, 400, 100_000]),
    stop_loss_ticks=st.sampled_from([0, P0 - 4 * SP]),
    take_profit_ticks=st.sampled_from([0, P0 + 4 * SP]),
    on_trip=st.sampled_from(list(OnTrip)),
    cooldown_ms=st.sampled_from([0, 30, 300]),
)


@settings(max_examples=250, deadline=None)
@given(
    moves=st.lists(st.integers(-9_000, 9_000), min_size=1, max_size=120),
    gaps=st.lists(st.integers(-3, 40), min_size=1, max_size=6),
    risk=_risks,
    mode=st.sampled_from(list(GridMode)),
    quote=st.sampled_from(["100000", "260"]),
)
@example(
    moves=[0, 5_000, 5_000, -5_000, -5_000, -5_000, 5_000, 5_000, 5_000, -5_000],
    gaps=[10],
    risk=replace(DEFAULT_RISK, fast_move_ppm=1_500, drawdown_ppm=20, cooldown_ms=30),
    mode=GridMode.NEUTRAL,
    quote="100000",
)
def test_risk_watch_any_limits_give_the_live_path_state_and_fills(
    moves: list[int], gaps: list[int], risk: RiskParams, mode: GridMode, quote: str
) -> None:
    # Arrange
    series = _series(moves, gaps)
    setup = _setup(risk, mode=mode, quote=quote)

    # Act
    watched = run_backtest(setup, series)
    every_level = run_backtest(setup, series, lazy_levels=False)
    state, fills = _reference(setup, series)

    # Assert
    assert watched.state == state
    assert every_level.state == state
    assert fills_of(watched) == [(f.side, f.price_ticks, f.qty_steps) for f in fills]
    assert watched.decisions <= every_level.decisions


def test_risk_watch_default_limits_skip_the_quiet_level_changes() -> None:
    # Arrange: a price that swings across levels without touching an order's price twice
    moves = [-3_000, 3_000] * 200
    series = _series(moves, [1_000])
    setup = _setup(DEFAULT_RISK)

    # Act
    watched = run_backtest(setup, series)
    every_level = run_backtest(setup, series, lazy_levels=False)

    # Assert: the same book, reached with a fraction of the decisions
    assert watched.state == every_level.state
    assert watched.state.risk.window == every_level.state.risk.window
    assert every_level.decisions > 300
    assert watched.decisions < every_level.decisions // 10


def test_risk_watch_fast_move_trips_as_the_live_path() -> None:
    # Arrange: a 1 % fall within the window trips the fast-move trigger
    risk = replace(DEFAULT_RISK, fast_move_ppm=10_000, fast_move_window_ms=60_000)
    moves = [0] + [-6_000] * 10
    series = _series(moves, [1_000])
    setup = _setup(risk)

    # Act
    watched = run_backtest(setup, series)
    state, _ = _reference(setup, series)

    # Assert
    assert watched.state.risk.trigger == "fast_move"
    assert watched.state == state


def test_risk_watch_limits_it_cannot_check_decide_every_level_change() -> None:
    # Arrange
    risk = replace(DEFAULT_RISK, inventory_limit_steps=10_000)
    series = _series([-3_000, 3_000] * 50, [1_000])

    # Act
    watched = run_backtest(_setup(risk), series)
    every_level = run_backtest(_setup(risk), series, lazy_levels=False)

    # Assert
    assert not is_watchable(risk)
    assert watched.decisions == every_level.decisions
    assert watched.state == every_level.state
