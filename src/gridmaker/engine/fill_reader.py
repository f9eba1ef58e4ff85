"""``FillReader``: the venue's fills after a cursor that the books have not applied yet.

Both the boot sync and the running loop's fill poll read fills this way, page by page through
the retry policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from gridmaker.core.events import Fill
from gridmaker.core.units import Instrument
from gridmaker.engine.executor import GridExecutor
from gridmaker.engine.retry import Retrier
from gridmaker.engine.translate import to_fill
from gridmaker.exchange.api import Exchange

__all__ = ["FillReader"]


@dataclass(frozen=True, slots=True)
class FillReader:
    """Built per read from the orchestrator's current venue, executor, retrier and page size."""

    exchange: Exchange
    executor: GridExecutor
    retrier: Retrier
    page_limit: int

    async def new_fills(
        self, symbol: str, cursor: str, instrument: Instrument, *, keep: bool = True
    ) -> tuple[list[Fill], str]:
        """Every fill after ``cursor`` not applied yet, oldest first, and the cursor after them.

        A page is fetched and validated as one read: a malformed fill is retried, never skipped.
        ``keep=False`` only advances the cursor (a new book starts after the venue's history).
        """
        fills: list[Fill] = []
        seen: set[str] = set()
        while True:
            page = partial(self._page, symbol, cursor, instrument, keep=keep)
            new, cursor, has_more = await self.retrier.read(f"fills {symbol}", page)
            # A venue paging by time (``since`` inclusive) repeats the fill at a page boundary.
            fills.extend(f for f in new if not (f.trade_id in seen or seen.add(f.trade_id)))  # type: ignore[func-returns-value]
            if not has_more:
                return fills, cursor

    async def _page(
        self, symbol: str, cursor: str, instrument: Instrument, *, keep: bool
    ) -> tuple[list[Fill], str, bool]:
        got = await self.exchange.fetch_fills(symbol, cursor, self.page_limit)
        new = [
            to_fill(f, instrument)
            for f in got.fills
            if keep and not self.executor.is_fill_applied(symbol, f.trade_id)
        ]
        return new, got.cursor, got.has_more
