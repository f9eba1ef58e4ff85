"""A live venue's prices: its ticker stream while that works, REST polls while it does not.

The bot must keep hearing prices through a broken stream (the grid acts on them), so a failed
stream falls back to polling and is reconnected later; only a ban ends the prices.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator
from decimal import Decimal

from gridmaker.exchange.api import Banned, ExchangeError, PriceStream

__all__ = ["price_stream"]

log = logging.getLogger("gridmaker.venue")


async def price_stream(
    venue: PriceStream, symbol: str, *, poll_interval_s: float = 2.0, retry_ws_after: int = 30
) -> AsyncGenerator[Decimal, None]:
    """Prices from the venue's ticker stream; while it fails, from REST polls.

    A failed stream is retried (reconnected) after ``retry_ws_after`` polls. A failed poll is
    skipped (logged); the next poll tries again. A ban is raised (polling on would feed it).
    Ends only when cancelled.
    """
    use_ws = venue.has_streams
    polls = 0
    while True:
        if use_ws:
            try:
                price = await venue.watch_last_price(symbol)
            except Banned:
                raise
            except ExchangeError as e:
                log.warning("price stream failed, polling symbol=%s error=%s", symbol, e)
                use_ws, polls = False, 0
                continue
        else:
            await asyncio.sleep(poll_interval_s)
            polls += 1
            use_ws = venue.has_streams and polls >= retry_ws_after
            try:
                price = await venue.fetch_last_price(symbol)
            except Banned:
                raise
            except ExchangeError as e:
                log.warning("price poll failed symbol=%s error=%s", symbol, e)
                continue
        if price is not None:
            yield price
