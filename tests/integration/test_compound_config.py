"""``compound: true`` in a market reaches the strategy: a backtest of the config grows its buys
with the realized profit; without it every buy keeps the configured size."""

from __future__ import annotations

import pytest

from gridmaker.backtest import fills_of, run_backtest, series_from_feed
from gridmaker.config import Config, backtest_setup, sim_instrument
from gridmaker.core.events import Side

pytestmark = pytest.mark.integration


def _buy_sizes(compound: bool) -> list[int]:
    config = Config.model_validate(
        {
            "markets": [
                {
                    "mode": "long",
                    "compound": compound,
                    "order_size": "0.002",
                    "budget_base": "0",
                    "budget_quote": "500",
                    "grid": {"spacing": "1%", "buy_levels": 4, "sell_levels": 4},
                    "risk": {"fast_move": None, "drawdown": None},
                }
            ],
            "feed": {"volatility": "0.004", "seed": 3},
        }
    )
    inst = sim_instrument(config, "BTC/USDT")
    series = series_from_feed(config.feed.random_walk(inst), inst, 20_000)
    result = run_backtest(backtest_setup(config), series)
    return [qty for side, _, qty in fills_of(result) if side is Side.BUY]


def test_compound_config_grows_later_buys_with_profit() -> None:
    # Act
    compounding, flat = _buy_sizes(True), _buy_sizes(False)

    # Assert: 200 steps = 0.002 BTC, the configured size
    assert len(flat) > 20 and set(flat) == {200}
    assert compounding[0] == 200
    assert max(compounding) > 200
    assert compounding[-1] >= compounding[len(compounding) // 2] >= 200
