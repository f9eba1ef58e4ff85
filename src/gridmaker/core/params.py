"""What a grid's strategy is set to: its mode and sizes (kept apart from the book so that the
events that carry new settings can name them)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from gridmaker.core.units import Steps

__all__ = ["GridMode", "StrategyParams"]


class GridMode(StrEnum):
    LONG = "long"
    NEUTRAL = "neutral"


@dataclass(frozen=True, slots=True, kw_only=True)
class StrategyParams:
    strategy_id: str
    mode: GridMode
    order_qty_steps: Steps
    trailing: bool = False
    buy_levels: int = 0
    sell_levels: int = 0
    """With ``trailing``: how many levels below / above the price stay engaged."""
    compound: bool = False
    """Realized profit grows the order sizes (``order_qty``), within the free quote."""
