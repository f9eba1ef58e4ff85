"""Market feeds: deterministic, restartable streams of public trades that drive the simulation."""

from __future__ import annotations

from gridmaker.feeds.base import FeedError, MarketFeed, MarketTrade
from gridmaker.feeds.candles import CandleFeed, is_candle_csv
from gridmaker.feeds.random_walk import RandomWalkFeed
from gridmaker.feeds.replay import ReplayFeed

__all__ = [
    "CandleFeed",
    "FeedError",
    "MarketFeed",
    "MarketTrade",
    "RandomWalkFeed",
    "ReplayFeed",
    "is_candle_csv",
]
