"""Market feeds: deterministic, restartable streams of public trades that drive the simulation."""

from __future__ import annotations

from gridmaker.feeds.base import FeedError, MarketFeed, MarketTrade
from gridmaker.feeds.random_walk import RandomWalkFeed
from gridmaker.feeds.replay import ReplayFeed

__all__ = ["FeedError", "MarketFeed", "MarketTrade", "RandomWalkFeed", "ReplayFeed"]
