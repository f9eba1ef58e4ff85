"""``Book``: what the orchestrator holds for one symbol while it runs.

The grid's state is the core's; around it sit what the engine needs between events: the
instrument, the starting budget, why the symbol does not trade, the candle being built and
the best live prices that tell a market print it may have filled something.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gridmaker.core.events import Side
from gridmaker.core.reconcile import ReconcileReport
from gridmaker.core.setup import BookSetup
from gridmaker.core.state import GridState
from gridmaker.core.units import Instrument

__all__ = ["Book", "best_prices"]


@dataclass(slots=True)
class Book:
    setup: BookSetup
    instrument: Instrument | None = None
    state: GridState | None = None
    base_steps: int = 0
    quote_atoms: int = 0
    best_buy: int = 0
    best_sell: int = 0
    fresh_cursor: str = ""
    halted: str = ""
    """Why this symbol does not trade ("" = it trades)."""
    candle_bucket: int | None = None
    candle_close: int = 0
    candle_volume: int = 0
    report: ReconcileReport = field(default_factory=ReconcileReport)


def best_prices(state: GridState | None) -> tuple[int, int]:
    """Highest live buy and lowest live sell (0 when none): the only prices a tick can cross."""
    best_buy, best_sell = 0, 0
    if state is not None:
        buy, sell = Side.BUY, Side.SELL  # hoisted: enum member lookups are slow in a loop
        for slot in state.slots.values():
            side = slot.order_side  # set only while an order is live
            if side is buy:
                best_buy = max(best_buy, slot.order_price_ticks)
            elif side is sell and (best_sell == 0 or slot.order_price_ticks < best_sell):
                best_sell = slot.order_price_ticks
    return best_buy, best_sell
