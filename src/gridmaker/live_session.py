"""Trading a real market: the venue's streams (or REST polls) drive the bot.

Two sources feed one inbox, drained by one loop, so the orchestrator is never entered twice at
once: prices (ticker stream, REST polls while it is down) and order news (the user-data
stream). Order news is a hint that makes the bot look now, never a record it trusts: a fill is
applied from the venue's trade history (``poll_fills``, trade ids, a cursor), and an order the
stream says ended is looked up by client id before the book believes it. A stream that breaks
may have lost messages, so its reconnect is followed by the same REST catch-up; the periodic
reconcile runs regardless. A slow bot acts on the newest price, not on a backlog.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from dataclasses import dataclass
from decimal import Decimal

from gridmaker.core.events import OrderStatus
from gridmaker.engine.orchestrator import GridOrchestrator
from gridmaker.exchange.api import Banned, ExchangeError, ExchangeOrder
from gridmaker.exchange.ccxt_venue import CcxtExchange

__all__ = ["OrderNews", "order_stream", "price_stream", "run_live_session"]

log = logging.getLogger("gridmaker.venue")

COMMANDS_EVERY = 10
"""Prices between looks at the operator's queued breaker commands (prices come slowly here)."""
RECONCILE_INTERVAL_S = 15.0
"""Seconds between fill polls and UNKNOWN lookups however few prices come."""
STREAM_BACKOFF_S = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
"""Waits before reconnecting a broken order stream, by consecutive failures."""


async def price_stream(
    venue: CcxtExchange, symbol: str, *, poll_interval_s: float = 2.0, retry_ws_after: int = 30
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


@dataclass(frozen=True, slots=True)
class OrderNews:
    """What the user-data stream said: order updates, or that some may have been missed."""

    orders: tuple[ExchangeOrder, ...] = ()
    gap: bool = False


async def order_stream(
    venue: CcxtExchange, symbol: str, *, backoff_s: Sequence[float] = STREAM_BACKOFF_S
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


@dataclass(frozen=True, slots=True)
class _Crashed:
    error: BaseException


_Item = Decimal | OrderNews | _Crashed


class _Inbox:
    """Items from the sources, in arrival order; leading prices can be taken as a run."""

    def __init__(self) -> None:
        self._items: deque[_Item] = deque()
        self._ready = asyncio.Event()

    def put(self, item: _Item) -> None:
        self._items.append(item)
        self._ready.set()

    async def get(self) -> _Item:
        while not self._items:
            self._ready.clear()
            await self._ready.wait()
        return self._items.popleft()

    def newer_prices(self) -> list[Decimal]:
        """The prices queued right behind the one just taken (a backlog to skip over)."""
        taken: list[Decimal] = []
        while self._items and isinstance(self._items[0], Decimal):
            item = self._items.popleft()
            assert isinstance(item, Decimal)
            taken.append(item)
        return taken


async def _pump(source: AsyncIterator[Decimal] | AsyncIterator[OrderNews], inbox: _Inbox) -> None:
    try:
        async for item in source:
            inbox.put(item)
    except Exception as e:  # a bug in a source must stop the session, not silence it
        inbox.put(_Crashed(e))


async def run_live_session(
    orchestrator: GridOrchestrator,
    venue: CcxtExchange,
    symbol: str,
    *,
    steps: int | None,
    duration_s: float | None,
    reconcile_every: int,
    poll_interval_s: float = 2.0,
    watch_orders: bool = True,
    stream_backoff_s: Sequence[float] = STREAM_BACKOFF_S,
    reconcile_interval_s: float = RECONCILE_INTERVAL_S,
) -> int:
    """Trade a real market: each price from the venue goes to the bot; returns prices seen.

    Fills are polled whenever a price crosses a resting order (the orchestrator does that),
    whenever the user-data stream reports a fill or a stream gap, every ``reconcile_every``
    prices and every ``reconcile_interval_s`` seconds (a quiet market sends few prices);
    UNKNOWN orders are looked up then too. Orders the stream says were cancelled, expired or
    rejected are looked up at once.
    """
    deadline = None if duration_s is None else time.monotonic() + duration_s
    next_reconcile = time.monotonic() + reconcile_interval_s
    seen = 0
    inbox = _Inbox()
    sources: list[AsyncGenerator[Decimal, None] | AsyncGenerator[OrderNews, None]] = [
        price_stream(venue, symbol, poll_interval_s=poll_interval_s)
    ]
    if watch_orders and venue.has_order_stream:
        sources.append(order_stream(venue, symbol, backoff_s=stream_backoff_s))
    pumps = [asyncio.create_task(_pump(source, inbox)) for source in sources]
    try:
        while (steps is None or seen < steps) and (deadline is None or time.monotonic() < deadline):
            if time.monotonic() >= next_reconcile:
                await orchestrator.poll_fills(symbol)
                await orchestrator.resolve_unknown(symbol)
                next_reconcile = time.monotonic() + reconcile_interval_s
            wake = next_reconcile if deadline is None else min(deadline, next_reconcile)
            try:
                # Not ``wait_for``: on 3.11 it can swallow a cancel that races a result.
                async with asyncio.timeout(max(0.0, wake - time.monotonic())):
                    item = await inbox.get()
            except TimeoutError:
                continue  # the loop checks the deadline and the reconcile
            if isinstance(item, _Crashed):
                raise item.error
            if isinstance(item, OrderNews):
                await _on_order_news(orchestrator, symbol, item)
                continue
            backlog = inbox.newer_prices()
            price = backlog[-1] if backlog else item
            now_ms = int(time.time() * 1000)
            await orchestrator.on_trade(symbol, price, now_ms)
            for _ in range(1 + len(backlog)):
                seen += 1
                if seen % COMMANDS_EVERY == 0:
                    await orchestrator.apply_commands(now_ms)  # `gridmaker breaker` while running
                if seen % reconcile_every == 0:
                    await orchestrator.poll_fills(symbol)
                    await orchestrator.resolve_unknown(symbol)
    finally:
        for pump in pumps:
            pump.cancel()
        await asyncio.gather(*pumps, return_exceptions=True)
        for source in sources:
            await source.aclose()
    await orchestrator.poll_fills(symbol)
    await orchestrator.resolve_unknown(symbol)
    return seen


_ENDED: frozenset[OrderStatus] = frozenset({OrderStatus.CANCELED, OrderStatus.REJECTED})
"""Ended without a fill (an expiry is reported as cancelled)."""


async def _on_order_news(orchestrator: GridOrchestrator, symbol: str, news: OrderNews) -> None:
    if news.gap:
        log.info("order stream back after a break: catching up over REST symbol=%s", symbol)
        await orchestrator.poll_fills(symbol)
        await orchestrator.resolve_unknown(symbol)
        return
    if any(o.filled > 0 for o in news.orders):
        await orchestrator.poll_fills(symbol)
    ended = [o.client_order_id for o in news.orders if o.status in _ENDED]
    if ended:
        await orchestrator.confirm_orders(symbol, ended)
