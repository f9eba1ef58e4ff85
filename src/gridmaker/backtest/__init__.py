"""The backtester: history replayed through the same pure core the live engines use."""

from __future__ import annotations

from gridmaker.backtest.engine import (
    Backtester,
    BacktestRefused,
    BacktestResult,
    BacktestSetup,
    Curves,
    fills_of,
    run_backtest,
)
from gridmaker.backtest.fill_model import FillModel
from gridmaker.backtest.series import TickSeries, series_from_feed, series_from_trades

__all__ = [
    "BacktestRefused",
    "BacktestResult",
    "BacktestSetup",
    "Backtester",
    "Curves",
    "FillModel",
    "TickSeries",
    "fills_of",
    "run_backtest",
    "series_from_feed",
    "series_from_trades",
]
