"""The walk through a span, page after page, keeping the cursor in step with what is written.

Rows collect in a buffer that becomes a part (``download_parts``) every ``part_rows`` rows and
at the end; the cursor saved with a part points right after its last row, so a resume asks
for the next row exactly. Trades: first by time, one-hour windows from ``--since`` until one
holds a trade, then by id from the last id + 1 until a trade at or after ``--until`` or the
venue's present (a short page). Candles: by open time, from the last open + 1 ms.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from gridmaker.cli.download_pages import Candle, Pages, Trade
    from gridmaker.cli.download_parts import PartStore

__all__ = ["walk_candles", "walk_trades"]

_HOUR_MS: Final = 3_600_000
_SAVE_EVERY_WINDOWS: Final = 24
"""While looking for the first trade, the empty windows passed are saved once a day's worth."""


def _trade_columns(rows: list[Trade]) -> list[list[Any]]:
    return [
        [t.ts_ms for t in rows],
        [t.price for t in rows],
        [t.amount for t in rows],
        [str(t.id) for t in rows],
    ]


def _candle_columns(rows: list[Candle]) -> list[list[Any]]:
    return [[c.ts_ms for c in rows]] + [[c.ohlcv[k] for c in rows] for k in range(5)]


async def walk_trades(
    pages: Pages,
    market_id: str,
    store: PartStore,
    cursor: dict[str, Any] | None,
    since_ms: int,
    until_ms: int,
    part_rows: int,
    page: int,
    advanced: Callable[[int], None],
) -> None:
    """Every trade in ``[since_ms, until_ms)`` after ``cursor`` into ``store``."""
    state = dict(cursor or {"next_id": None, "window_ms": since_ms})
    buffer: list[Trade] = []

    def flush(final: bool = False) -> None:
        if buffer and (final or len(buffer) >= part_rows):
            store.append(_trade_columns(buffer), dict(state))
            buffer.clear()

    windows = 0
    while state["next_id"] is None and state["window_ms"] < until_ms:
        start = int(state["window_ms"])
        end = min(start + _HOUR_MS, until_ms - 1)
        found = await pages.trades_in_window(market_id, start, end, page)
        if found:
            buffer += found
            state["next_id"] = found[-1].id + 1
            advanced(found[-1].ts_ms)
            flush()
        else:
            state["window_ms"] = end + 1
            advanced(end + 1)
            windows += 1
            if windows % _SAVE_EVERY_WINDOWS == 0:
                store.save(dict(state))
    while state["next_id"] is not None:
        from_id = int(state["next_id"])
        fetched = await pages.trades_from_id(market_id, from_id, page)
        kept = [t for t in fetched if t.ts_ms < until_ms]
        if kept:
            buffer += kept
            state["next_id"] = kept[-1].id + 1
            advanced(kept[-1].ts_ms)
        if len(kept) < len(fetched) or len(fetched) < page:
            break  # past --until, or the venue's present
        flush()
    flush(final=True)


async def walk_candles(
    pages: Pages,
    symbol: str,
    timeframe: str,
    store: PartStore,
    cursor: dict[str, Any] | None,
    since_ms: int,
    until_ms: int,
    part_rows: int,
    page: int,
    advanced: Callable[[int], None],
) -> None:
    """Every candle opening in ``[since_ms, until_ms)`` after ``cursor`` into ``store``."""
    state = dict(cursor or {"next_ms": since_ms})
    buffer: list[Candle] = []
    while state["next_ms"] < until_ms:
        start = int(state["next_ms"])
        fetched = await pages.candles_since(symbol, timeframe, start, page)
        kept = [c for c in fetched if c.ts_ms < until_ms]
        if kept:
            buffer += kept
            state["next_ms"] = kept[-1].ts_ms + 1
            advanced(kept[-1].ts_ms)
        if len(kept) < len(fetched) or len(fetched) < page:
            break
        if len(buffer) >= part_rows:
            store.append(_candle_columns(buffer), dict(state))
            buffer.clear()
    if buffer:
        store.append(_candle_columns(buffer), dict(state))
