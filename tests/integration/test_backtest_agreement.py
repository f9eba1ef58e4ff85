"""The backtester and a live session on the SimExchange agree, fill for fill."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from decimal import Decimal
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
TRADES = 2_500


def _config(*, partial_fills: bool, mode: str) -> Config:
    market = MarketConfig.model_validate({"mode": mode, "grid": {"spacing": "0.25%"}})
    return Config(markets=[market], sim=SimExchangeConfig(partial_fills=partial_fills))


def _feed(config: Config) -> RandomWalkFeed:
    inst = sim_instrument(config, SYMBOL)
    return RandomWalkFeed(
        seed=7,
        start_price=Decimal("50000"),
        tick_size=inst.tick_size,
        step_size=inst.step_size,
        volatility=Decimal("0.0015"),
        reversion=Decimal("0.002"),
        max_amount=Decimal("0.002"),
    )


def _live(config: Config, data_dir: Path) -> tuple[GridState, list[tuple[Side, int, int]]]:
    inst = sim_instrument(config, SYMBOL)

    async def main() -> tuple[GridState, list[tuple[Side, int, int]]]:
        sim = SimExchange(
            instruments=[inst],
            initial_balances=config.sim.balances,
            path=data_dir / "exchange.sqlite",
            partial_fills=config.sim.partial_fills,
        )
        executor = SimpleExecutor(store=Store(data_dir / "gridmaker.sqlite"), exchange=sim)
        setup = book_setup(config.markets[0], inst)
        orchestrator = GridOrchestrator(exchange=sim, executor=executor, setups=[setup])
        try:
            await orchestrator.boot()
            await run_market_session(orchestrator, sim, _feed(config), SYMBOL, steps=TRADES)
            state = orchestrator.state(SYMBOL)
            fills: list[tuple[Side, int, int]] = [
                (f.side, inst.to_ticks(f.price), inst.to_steps(f.amount))
                for f in sim.all_fills(SYMBOL)
            ]
        finally:
            await executor.close()
            await sim.close()
        assert state is not None
        return state, fills

    return asyncio.run(main())


@pytest.mark.parametrize(
    ("partial_fills", "mode"), [(False, "neutral"), (True, "neutral"), (False, "long")]
)
def test_backtest_and_live_session_on_sim_exchange_give_the_same_fills_and_pnl(
    tmp_path: Path, partial_fills: bool, mode: str
) -> None:
    # Arrange
    config = _config(partial_fills=partial_fills, mode=mode)
    inst = sim_instrument(config, SYMBOL)
    series = series_from_feed(_feed(config), inst, TRADES)

    # Act
    live_state, live_fills = _live(config, tmp_path)
    result = run_backtest(backtest_setup(config), series)

    # Assert
    assert len(live_fills) > 20
    assert fills_of(result) == live_fills
    assert result.state.buy_fills == live_state.buy_fills
    assert result.state.sell_fills == live_state.sell_fills
    assert result.state.realized_pnl_atoms == live_state.realized_pnl_atoms
    assert result.state.fees_atoms == live_state.fees_atoms
    assert result.state == replace(live_state, fill_cursor="")
