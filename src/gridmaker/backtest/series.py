"""``TickSeries``: a market history in integer ticks, ready for a tight replay loop.

A series is either trades (``spread_ticks`` = 0: bid = ask = the trade's price) or quotes
(``prices`` are bids and every ask is ``spread_ticks`` above). Amounts (whole steps) matter
only with partial fills; ``ts_event`` is epoch ms per print.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING

from gridmaker.core.display import plain
from gridmaker.core.errors import OffTick
from gridmaker.core.units import Instrument
from gridmaker.feeds.base import FeedError, MarketFeed, MarketTrade

if TYPE_CHECKING:  # pyarrow loads only when a history file is read
    from gridmaker.history import History

__all__ = ["TickSeries", "series_from_feed", "series_from_history", "series_from_trades"]

_MAX_STEPS = 2**63 - 1


@dataclass(frozen=True, slots=True, kw_only=True)
class TickSeries:
    prices: Sequence[int]
    """Trade prices (or bids) in ticks: a ``list``, or an ``array('q')`` (or a ``memoryview``
    cast to ``q``) for long histories, 8 bytes a print instead of a Python int each."""
    amounts: Sequence[int] | None = None
    """Whole steps printed per trade; ``None`` when unknown (no partial fills possible)."""
    ts_event: Sequence[int] | None = None
    """Epoch ms per print; ``None`` numbers the prints 0, 1, 2, …"""
    spread_ticks: int = 0
    """0 for trades; for quotes, ask - bid in ticks."""

    def __post_init__(self) -> None:
        n = len(self.prices)
        if n == 0:
            raise ValueError("a backtest needs at least one price, found none")
        for name in ("amounts", "ts_event"):
            other = getattr(self, name)
            if other is not None and len(other) != n:
                raise ValueError(f"{name} has {len(other)} entries for {n} prices")
        if self.spread_ticks < 0:
            raise ValueError(f"invalid spread_ticks, was {self.spread_ticks}; must be >= 0")

    def __len__(self) -> int:
        return len(self.prices)

    def ts_at(self, index: int) -> int:
        return index if self.ts_event is None else self.ts_event[index]

    def head(self, n: int) -> TickSeries:
        """The first ``n`` prints."""
        return TickSeries(
            prices=self.prices[:n],
            amounts=None if self.amounts is None else self.amounts[:n],
            ts_event=None if self.ts_event is None else self.ts_event[:n],
            spread_ticks=self.spread_ticks,
        )


def series_from_trades(trades: Iterable[MarketTrade], instrument: Instrument) -> TickSeries:
    """Trades in venue units → ticks and steps; raises ``FeedError`` for an off-tick price.

    Amounts round down to the step, as the simulated exchange rounds a printed amount, and are
    capped at the largest 64-bit count (an amount only limits a partial fill, which no order
    that large awaits).
    """
    prices: list[int] = []
    amounts = array("q")
    stamps = array("q")
    tick, step = instrument.tick_size, instrument.step_size
    for number, trade in enumerate(trades, start=1):
        ticks = trade.price / tick
        whole = int(ticks)
        if whole != ticks:
            error = OffTick(
                f"price {plain(trade.price)} is not a multiple of the tick {plain(tick)}"
            )
            raise FeedError(f"trade {number}: {error}")
        prices.append(whole)
        amounts.append(min(int(trade.amount / step), _MAX_STEPS))
        stamps.append(trade.ts_event)
    if not prices:
        raise FeedError("the feed holds no trades")
    return TickSeries(prices=prices, amounts=amounts, ts_event=stamps)


def series_from_feed(feed: MarketFeed, instrument: Instrument, limit: int | None) -> TickSeries:
    """The first ``limit`` trades of ``feed`` (all of a finite feed when ``None``)."""
    return series_from_trades(islice(feed.trades(0), limit), instrument)


def series_from_history(history: History) -> TickSeries:
    """A loaded history file as a series: its compact arrays, shared, not copied."""
    return TickSeries(prices=history.prices, amounts=history.amounts, ts_event=history.ts_ms)
