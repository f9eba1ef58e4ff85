"""A trigger-price grid replays the same in the backtester as live on the SimExchange: built
around its trigger at the first price, nothing placed until the price crosses it."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from decimal import Decimal
from itertools import islice
from pathlib import Path

import pytest

from gridmaker.backtest import fills_of, run_backtest, series_from_feed
from gridmaker.config import (
    Config,
    MarketConfig,
    SimExchangeConfig,
    backtest_setup,
    book_setup,
    sim_instrument,
)
from gridmaker.core.events import Side
from gridmaker.core.state import GridState
from gridmaker.engine.orchestrator import GridOrchestrator
from gridmaker.engine.sessions.market import run_market_session
from gridmaker.engine.simple import SimpleExecutor
from gridmaker.exchange.sim import SimExchange
from gridmaker.feeds import RandomWalkFeed
from gridmaker.store import Store

pytestmark = pytest.mark.integration

SYMBOL = "BTC/USDT"
TRADES = 2_000
WAIT = 200
"""The trigger is a price the walk first reaches after this many prints."""


def _feed() -> RandomWalkFeed:
    return RandomWalkFeed(
        seed=7,
        start_price=Decimal("50000"),
        tick_size=Decimal("0.01"),
        step_size=Decimal("0.00001"),
        volatility=Decimal("0.0015"),
        reversion=Decimal("0.002"),
        max_amount=Decimal("0.002"),
    )


def _trigger() -> tuple[Decimal, int]:
    """A price beyond every print of the first ``WAIT`` (a tick past the lowest, or the
    highest), and the index of the first print at or across it."""
    prices = [t.price for t in islice(_feed().trades(0), TRADES)]
    early = prices[:WAIT]
    low, high = min(early) - Decimal("0.01"), max(early) + Decimal("0.01")
    crossings = [
        (i, trigger)
        for trigger, sign in ((low, -1), (high, 1))
        for i in [next((i for i, p in enumerate(prices) if sign * (p - trigger) >= 0), TRADES)]
    ]
    index, trigger = min(crossings)
    return trigger, index


def _config(mode: str, trigger: Decimal, *, bounded: bool = False) -> Config:
    grid = {"spacing": "0.25%"}
    if bounded:  # levels from 45000: the trigger falls between two of them
        grid |= {"lower": "45000", "upper": "55000", "spacing": "150"}
    market = MarketConfig.model_validate(
        {"mode": mode, "grid": grid, "trigger_price": str(trigger)}
    )
    return Config(markets=[market], sim=SimExchangeConfig())


async def _live(config: Config, data_dir: Path) -> tuple[GridState, list[tuple[Side, int, int]]]:
    inst = sim_instrument(config, SYMBOL)
    sim = SimExchange(
        instruments=[inst], initial_balances=config.sim.balances, path=data_dir / "x.sqlite"
    )
    executor = SimpleExecutor(store=Store(data_dir / "gridmaker.sqlite"), exchange=sim)
    orchestrator = GridOrchestrator(
        exchange=sim, executor=executor, setups=[book_setup(config.markets[0], inst)]
    )
    try:
        await orchestrator.boot()
        await run_market_session(orchestrator, sim, _feed(), SYMBOL, steps=TRADES)
        state = orchestrator.state(SYMBOL)
        fills: list[tuple[Side, int, int]] = [
            (f.side, inst.to_ticks(f.price), inst.to_steps(f.amount)) for f in sim.all_fills(SYMBOL)
        ]
    finally:
        await executor.close()
        await sim.close()
    assert state is not None
    return state, fills


@pytest.mark.parametrize(
    ("mode", "bounded"), [("neutral", False), ("long", False), ("neutral", True)]
)
def test_triggered_grid_backtest_and_live_session_give_the_same_fills_and_book(
    tmp_path: Path, mode: str, bounded: bool
) -> None:
    # Arrange
    trigger, crossed = _trigger()
    config = _config(mode, trigger, bounded=bounded)
    inst = sim_instrument(config, SYMBOL)
    series = series_from_feed(_feed(), inst, TRADES)

    # Act
    live_state, live_fills = asyncio.run(_live(config, tmp_path))
    result = run_backtest(backtest_setup(config), series)

    # Assert: it started at the crossing, around its trigger, and both agree fill for fill.
    assert WAIT <= crossed < TRADES - 500
    assert len(live_fills) > 10
    assert result.curves.fill_index[0] >= crossed
    assert result.state.trigger_ticks == inst.to_ticks(trigger)
    if not bounded:
        assert result.state.grid.anchor_ticks == inst.to_ticks(trigger)
    assert result.start_price_ticks == series.prices[crossed]
    assert fills_of(result) == live_fills
    assert result.state == replace(live_state, fill_cursor="")


def test_triggered_grid_never_crossed_places_nothing_in_the_backtest() -> None:
    # Arrange: a trigger far below anything the walk prints.
    config = _config("neutral", Decimal("30000"))
    inst = sim_instrument(config, SYMBOL)

    # Act
    result = run_backtest(backtest_setup(config), series_from_feed(_feed(), inst, TRADES))

    # Assert
    assert result.orders == 0
    assert not result.state.is_started
    assert result.state.slots == {}
