"""A live venue's order news: its user-data stream, with a ``gap`` wherever messages may be lost.

The news is a hint, never a record: the session reacts to it by asking the venue over REST. A
``gap`` tells it that some news may be missing, so it catches up the same way.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass

from gridmaker.exchange.api import Banned, ExchangeError, ExchangeOrder, OrderStream

__all__ = ["STREAM_BACKOFF_S", "OrderNews", "order_stream"]

log = logging.getLogger("gridmaker.venue")

STREAM_BACKOFF_S = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
"""Waits before reconnecting a broken order stream, by consecutive failures."""


@dataclass(frozen=True, slots=True)
class OrderNews:
    """What the user-data stream said: order updates, or that some may have been missed."""

    orders: tuple[ExchangeOrder, ...] = ()
    gap: bool = False


async def order_stream(
    venue: OrderStream, symbol: str, *, backoff_s: Sequence[float] = STREAM_BACKOFF_S
) -> AsyncGenerator[OrderNews, None]:
    """Order updates from the venue's user-data stream; a ``gap`` after each break.

    Each failure yields a ``gap`` (catch up over REST: messages may have been lost), then the
    stream is reconnected after a backoff that grows with consecutive failures, so while it
    stays down the caller polls at the backoff's pace. The first delivery after a break
    yields another ``gap`` (for what happened while reconnecting). A ban is raised, never
    retried. Ends only when cancelled.
    """
    failures = 0
    while True:
        try:
            orders = await venue.watch_orders(symbol)
        except Banned:
            raise
        except ExchangeError as e:
            wait = backoff_s[min(failures, len(backoff_s) - 1)]
            failures += 1
            log.warning(
                "order stream failed, reconnecting in %.1fs symbol=%s error=%s", wait, symbol, e
            )
            yield OrderNews(gap=True)
            await asyncio.sleep(wait)
            continue
        if failures:
            failures = 0
            yield OrderNews(gap=True)
        yield OrderNews(orders=tuple(orders))
