"""``BookSetup``: what the config asks for one symbol, in the core's types.

The config is parsed once into these (``gridmaker.config.book_setups``); the engine receives
them as they are and never sees the config's text or its models.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from gridmaker.core.grid import GridTemplate
from gridmaker.core.risk import RiskParams
from gridmaker.core.state import StrategyParams

__all__ = ["BookSetup"]


@dataclass(frozen=True, slots=True, kw_only=True)
class BookSetup:
    """What the config asks for one symbol."""

    symbol: str
    params: StrategyParams
    template: GridTemplate
    budget_base: Decimal | None = None
    budget_quote: Decimal | None = None
    risk: RiskParams = RiskParams()
    crash_candle_ms: int = 60_000
    trigger_ticks: int = 0
    """Nothing is placed until the price crosses this (0: trade from the first price)."""
