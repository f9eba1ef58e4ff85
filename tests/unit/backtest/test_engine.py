from __future__ import annotations

import itertools
from collections import deque
from decimal import Decimal

from hypothesis import example, given
from hypothesis import strategies as st

from gridmaker.backtest import BacktestSetup, FillModel, TickSeries, fills_of, run_backtest
from gridmaker.core.decide import decide, needs_decision
from gridmaker.core.events import Event, Fill, PriceTick, Side
from gridmaker.core.grid import GridKind, GridTemplate
from gridmaker.core.state import GridMode, GridState, new_state
from gridmaker.core.units import Steps, Ticks
from tests import kit

P0 = 5_000_000
SP = 5_000


def _setup(
    *,
    mode: GridMode = GridMode.NEUTRAL,
    trailing: bool = False,
    base: str = "1",
    quote: str = "100000",
    partial_fills: bool = False,
    start_price_ticks: int | None = None,
    kind: GridKind = GridKind.ARITHMETIC,
) -> BacktestSetup:
    inst = kit.instrument()
    is_arithmetic = kind is GridKind.ARITHMETIC
    return BacktestSetup(
        instrument=inst,
        params=kit.params(mode=mode, trailing=trailing, buy_levels=5, sell_levels=5),
        template=GridTemplate(
            kind=kind,
            spacing_ticks=SP if is_arithmetic else 0,
            spacing_ppm=0 if is_arithmetic else 1_000,
            buy_levels=5,
            sell_levels=5,
            trailing=trailing,
        ),
        book_base_steps=inst.to_steps(Decimal(base)),
        book_quote_atoms=inst.to_atoms(Decimal(quote)),
        venue_base_steps=inst.to_steps(Decimal(base)),
        venue_quote_atoms=inst.to_atoms(Decimal(quote)),
        partial_fills=partial_fills,
        start_price_ticks=start_price_ticks,
        is_preflight_checked=False,
    )


def _reference(setup: BacktestSetup, series: TickSeries) -> tuple[GridState, list[Fill]]:
    """The live path, naively: every print matched, every needs_decision decided."""
    model = FillModel(
        setup.instrument,
        base_steps=setup.venue_base_steps,
        quote_atoms=setup.venue_quote_atoms,
        partial_fills=setup.partial_fills,
    )
    state: GridState | None = None
    applied: list[Fill] = []

    def process(event: Event) -> None:
        nonlocal state
        assert state is not None
        queue: deque[Event] = deque([event])
        while queue:
            decision = decide(state, queue.popleft())
            state = decision.state
            queue.extend(model.send(a) for a in decision.actions)

    def tick(price: int, ts: int) -> PriceTick:
        return PriceTick(
            symbol="BTC/USDT", price_ticks=Ticks(price), qty_steps=Steps(0), ts_event=ts
        )

    def start(price: int) -> GridState:
        return new_state(
            symbol="BTC/USDT",
            instrument=setup.instrument,
            grid=setup.template.build(price),
            params=setup.params,
            base_steps=setup.book_base_steps,
            quote_atoms=setup.book_quote_atoms,
        )

    if setup.start_price_ticks is not None:
        state = start(setup.start_price_ticks)
        process(tick(setup.start_price_ticks, 0))
    for i, price in enumerate(series.prices):
        amount = series.amounts[i] if series.amounts is not None else 0
        fills = model.match(price, price + series.spread_ticks, amount, series.ts_at(i))
        if needs_decision(state, price):
            if state is None:
                state = start(price)
            process(tick(price, series.ts_at(i)))
        for fill in fills:
            process(fill)
            applied.append(fill)
    assert state is not None
    return state, applied


def _walk(moves: list[int]) -> list[int]:
    return [max(1, P0 + m) for m in itertools.accumulate(moves)]


@given(
    moves=st.lists(st.integers(-12_000, 12_000), min_size=1, max_size=150),
    mode=st.sampled_from(list(GridMode)),
    trailing=st.booleans(),
    funds=st.sampled_from([("1", "100000"), ("0.003", "150"), ("0", "1000")]),
    partial=st.booleans(),
    spread=st.sampled_from([0, 1]),
    anchored=st.booleans(),
)
@example(
    moves=[0, -5_000, 5_000, 5_000, -5_000],
    mode=GridMode.NEUTRAL,
    trailing=False,
    funds=("1", "100000"),
    partial=False,
    spread=0,
    anchored=False,
)
def test_backtest_fast_path_gives_the_live_path_state_and_fills(
    moves: list[int],
    mode: GridMode,
    trailing: bool,
    funds: tuple[str, str],
    partial: bool,
    spread: int,
    anchored: bool,
) -> None:
    # Arrange
    prices = _walk(moves)
    series = TickSeries(
        prices=prices, amounts=[37 + i % 90 for i in range(len(prices))], spread_ticks=spread
    )
    setup = _setup(
        mode=mode,
        trailing=trailing,
        base=funds[0],
        quote=funds[1],
        partial_fills=partial,
        start_price_ticks=P0 if anchored else None,
    )

    # Act
    result = run_backtest(setup, series)
    every_level = run_backtest(setup, series, lazy_levels=False)
    state, fills = _reference(setup, series)

    # Assert
    assert result.state == state
    assert every_level.state == state
    assert fills_of(result) == [(f.side, f.price_ticks, f.qty_steps) for f in fills]


def test_backtest_geometric_grid_gives_the_live_path_state() -> None:
    # Arrange
    series = TickSeries(prices=_walk([0, -6_000, -6_000, 4_000, 9_000, 9_000, -2_000, 14_000]))
    setup = _setup(kind=GridKind.GEOMETRIC)

    # Act
    result = run_backtest(setup, series)

    # Assert
    assert result.state == _reference(setup, series)[0]
    assert result.state.fills > 0


def test_backtest_pnl_equals_last_equity_sample() -> None:
    # Arrange
    moves = [(-1) ** (i // 7) * 2_100 for i in range(400)]
    series = TickSeries(prices=_walk(moves))

    # Act
    result = run_backtest(_setup(), series)

    # Assert
    pnl = result.state.realized_pnl_atoms + result.unrealized_pnl_atoms
    last = result.curves.sample_equity[-1]
    assert result.state.fills > 10
    assert abs(float(result.setup.instrument.from_atoms(pnl)) - last) < 1e-6


def test_backtest_anchored_quotes_rest_twenty_buys_and_twenty_sells() -> None:
    # Arrange
    inst = kit.instrument()
    setup = BacktestSetup(
        instrument=inst,
        params=kit.params(strategy_id="nt"),
        template=GridTemplate(
            kind=GridKind.ARITHMETIC, spacing_ticks=SP, buy_levels=20, sell_levels=20
        ),
        book_base_steps=inst.to_steps(Decimal(10)),
        book_quote_atoms=inst.to_atoms(Decimal(1_000_000)),
        venue_base_steps=inst.to_steps(Decimal(10)),
        venue_quote_atoms=inst.to_atoms(Decimal(1_000_000)),
        start_price_ticks=P0,
        is_preflight_checked=False,
    )
    series = TickSeries(prices=[P0 + 37, P0 - SP - 1, P0 + 5], spread_ticks=1)

    # Act
    result = run_backtest(setup, series)

    # Assert
    assert result.orders == 40 + result.state.fills
    assert fills_of(result) == [(Side.BUY, P0 - SP, 100), (Side.SELL, P0, 100)]
