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
from gridmaker.engine.notices import Audited

__all__ = ["Book", "BookView", "best_prices"]


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
    last_price_ms: int = 0
    """When the last market price reached the bot (wall clock, epoch ms; 0: none yet)."""
    last_decision_ms: int = 0
    synced_ms: int = 0
    """The last time the venue's fills were read through (the boot sync, a fill poll)."""
    audit: Audited | None = None
    """The last audit of the book's orders against the venue's."""
    unknown_since: dict[str, int] = field(default_factory=dict)
    """UNKNOWN orders and when an audit first saw them so (epoch ms)."""
    source: str = ""
    """Where prices come from: ``stream``, ``polling`` or ``market`` (a printed feed)."""

    def view(self) -> BookView:
        return BookView(
            symbol=self.setup.symbol,
            state=self.state,
            instrument=self.instrument,
            report=self.report,
            halted=self.halted,
            last_price_ms=self.last_price_ms,
            last_decision_ms=self.last_decision_ms,
            synced_ms=self.synced_ms,
            audit=self.audit,
            source=self.source,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class BookView:
    """One symbol as observers may read it: immutable, taken between two events."""

    symbol: str
    state: GridState | None
    """The book (``None`` before its first price); frozen, as every decision leaves it."""
    instrument: Instrument | None
    report: ReconcileReport
    """The boot sync's reconciliation ("while you were away")."""
    halted: str
    last_price_ms: int
    last_decision_ms: int
    synced_ms: int
    audit: Audited | None
    source: str


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
