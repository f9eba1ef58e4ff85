"""Trading real markets: the venue's streams (or REST polls) drive the bot.

Each symbol's two sources feed one inbox, drained by one loop, so the orchestrator is never
entered twice at once: prices (ticker stream, REST polls while it is down) and order news (the
user-data stream). Order news is a hint that makes the bot look now, never a record it trusts:
a fill is applied from the venue's trade history (``poll_fills``, trade ids, a cursor), and an
order the stream says ended is looked up by client id before the book believes it. A stream
that breaks may have lost messages, so its breaks are followed by a REST catch-up (fills, the
venue's open orders against the book's, UNKNOWN orders); the same catch-up runs on a timer
regardless. A slow bot acts on the newest price, not on a backlog.
"""

from __future__ import annotations

import asyncio
import logging
import time
from asyncio import FIRST_COMPLETED as FIRST
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import TypeVar

from gridmaker.core.events import OrderStatus
from gridmaker.engine.orchestrator import GridOrchestrator
from gridmaker.exchange.api import RateLimited, Unavailable, UnknownOutcome, VenueStreams
from gridmaker.feeds.live_prices import price_stream
from gridmaker.feeds.order_news import STREAM_BACKOFF_S, OrderNews, order_stream

__all__ = ["run_live_session"]

log = logging.getLogger("gridmaker.venue")

COMMANDS_EVERY = 10
"""Prices between looks at the operator's queued breaker commands (prices come slowly here)."""
RECONCILE_INTERVAL_S = 15.0
"""Seconds between fill polls and UNKNOWN lookups however few prices come."""
RETRY_SOON_S = 5.0
"""Seconds before the next catch-up after the venue could not be reached."""


@dataclass(frozen=True, slots=True)
class _Crashed:
    error: BaseException


@dataclass(frozen=True, slots=True)
class _Price:
    symbol: str
    price: Decimal


@dataclass(frozen=True, slots=True)
class _News:
    symbol: str
    news: OrderNews


_Item = _Price | _News | _Crashed
_Like = TypeVar("_Like", _Price, _News)


class _Inbox:
    """Items from every source, in arrival order; a run of like items can be taken at once."""

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

    def take_like(self, item: _Like) -> list[_Like]:
        """Items of ``item``'s kind and symbol queued right behind it: a run of prices (a
        backlog to skip over) or of order news (one catch-up for all)."""
        taken: list[_Like] = []
        while self._items:
            head = self._items[0]
            if not isinstance(head, type(item)) or head.symbol != item.symbol:
                break
            taken.append(head)
            self._items.popleft()
        return taken


async def _pump(
    source: AsyncIterator[Decimal] | AsyncIterator[OrderNews], symbol: str, inbox: _Inbox
) -> None:
    try:
        async for item in source:
            inbox.put(_Price(symbol, item) if isinstance(item, Decimal) else _News(symbol, item))
    except Exception as e:  # a bug or a ban in a source must stop the session, not hide
        inbox.put(_Crashed(e))


async def run_live_session(
    orchestrator: GridOrchestrator,
    venue: VenueStreams,
    symbols: Sequence[str],
    *,
    steps: int | None,
    duration_s: float | None,
    reconcile_every: int,
    poll_interval_s: float = 2.0,
    watch_orders: bool = True,
    stream_backoff_s: Sequence[float] = STREAM_BACKOFF_S,
    reconcile_interval_s: float = RECONCILE_INTERVAL_S,
    stall_after_s: float | None = None,
    stop: asyncio.Event | None = None,
) -> dict[str, int]:
    """Trade real markets: each price from the venue goes to the bot; returns prices seen.

    Every symbol's streams feed one inbox and one loop, so the orchestrator is never entered
    twice at once (nor operator commands applied twice). Runs until every symbol has seen
    ``steps`` prices, ``duration_s`` passed, ``stop`` is set, or an operator's stop was
    applied (``orchestrator.stop``). A command queued through the API wakes the loop at once.

    Fills are polled whenever a price crosses a resting order (the orchestrator does that),
    whenever the user-data stream reports a fill or a stream gap, and every
    ``reconcile_every`` prices of a symbol; UNKNOWN orders are looked up then too. Every
    ``reconcile_interval_s`` (a quiet market sends few prices) and after a stream gap, the
    venue's open orders are also compared with the book's (``audit_orders``). Orders the
    stream says were cancelled, expired or rejected are looked up at once. A venue that is
    briefly unreachable is waited out (the next catch-up comes sooner); a ban, or answers
    that make no sense, end the session.
    """
    if isinstance(symbols, str):
        raise TypeError("symbols is a sequence of symbols, not one symbol")
    loop = _LiveLoop(orchestrator, symbols, reconcile_every, reconcile_interval_s)
    sources: list[tuple[str, AsyncGenerator[Decimal, None] | AsyncGenerator[OrderNews, None]]] = []
    for symbol in symbols:
        prices = price_stream(
            venue,
            symbol,
            poll_interval_s=poll_interval_s,
            stall_after_s=stall_after_s,
            on_source=partial(orchestrator.note_source, symbol),
        )
        sources.append((symbol, prices))
        if watch_orders and venue.has_order_stream:
            sources.append((symbol, order_stream(venue, symbol, backoff_s=stream_backoff_s)))
    pumps = [asyncio.create_task(_pump(source, symbol, loop.inbox)) for symbol, source in sources]
    stopping = asyncio.create_task(_either(stop or asyncio.Event(), orchestrator.stop))
    deadline = None if duration_s is None else time.monotonic() + duration_s
    try:
        while (
            (steps is None or min(loop.seen.values()) < steps)
            and (deadline is None or time.monotonic() < deadline)
            and not stopping.done()
            and not orchestrator.stop.is_set()  # applied just now, before the task saw it
        ):
            try:
                await loop.step(stopping, deadline)
            except (Unavailable, RateLimited, UnknownOutcome) as e:
                # Still unreachable after the retry policy: keep the books, try again soon.
                log.warning("venue unreachable, catching up in %.0fs: %s", RETRY_SOON_S, e)
                loop.next_reconcile = min(loop.next_reconcile, time.monotonic() + RETRY_SOON_S)
    finally:
        stopping.cancel()
        for pump in pumps:
            pump.cancel()
        await asyncio.gather(stopping, *pumps, return_exceptions=True)
        for _, source in sources:
            await source.aclose()
    for symbol in symbols:
        try:
            await _catch_up(orchestrator, symbol, audit=False)
        except (Unavailable, RateLimited, UnknownOutcome) as e:
            log.warning("last catch-up failed (the next start syncs) symbol=%s: %s", symbol, e)
    return loop.seen


class _LiveLoop:
    """The one consumer of the inbox: decides what each item means for the orchestrator."""

    def __init__(
        self,
        orchestrator: GridOrchestrator,
        symbols: Sequence[str],
        reconcile_every: int,
        reconcile_interval_s: float,
    ) -> None:
        self.orchestrator = orchestrator
        self.symbols = tuple(symbols)
        self.reconcile_every = reconcile_every
        self.reconcile_interval_s = reconcile_interval_s
        self.next_reconcile = time.monotonic() + reconcile_interval_s
        self.seen = dict.fromkeys(symbols, 0)
        self.inbox = _Inbox()

    async def step(self, stopping: asyncio.Task[object], deadline: float | None) -> None:
        """The timer's catch-up when due, else the next item (or nothing, at a wake-up)."""
        if time.monotonic() >= self.next_reconcile:
            self.next_reconcile = time.monotonic() + self.reconcile_interval_s
            await self.orchestrator.apply_commands(int(time.time() * 1000))
            for symbol in self.symbols:
                await _catch_up(self.orchestrator, symbol, audit=True)
        if self.orchestrator.commands_waiting:  # queued through the API just now
            await self.orchestrator.apply_commands(int(time.time() * 1000))
            if self.orchestrator.stop.is_set():
                return
        wake = self.next_reconcile if deadline is None else min(deadline, self.next_reconcile)
        item = await _next(
            self.inbox,
            stopping,
            max(0.0, wake - time.monotonic()),
            self.orchestrator.commands_queued,
        )
        if isinstance(item, _Crashed):
            raise item.error
        if isinstance(item, _News):
            news = [item.news, *(n.news for n in self.inbox.take_like(item))]
            await _on_order_news(self.orchestrator, item.symbol, news)
        elif isinstance(item, _Price):
            await self._on_prices(item)

    async def _on_prices(self, item: _Price) -> None:
        backlog = [p.price for p in self.inbox.take_like(item)]
        price = backlog[-1] if backlog else item.price
        now_ms = int(time.time() * 1000)
        await self.orchestrator.on_trade(item.symbol, price, now_ms)
        for _ in range(1 + len(backlog)):
            self.seen[item.symbol] += 1
            count = self.seen[item.symbol]
            if count % COMMANDS_EVERY == 0:
                await self.orchestrator.apply_commands(now_ms)  # `gridmaker breaker` running
            if count % self.reconcile_every == 0:
                await _catch_up(self.orchestrator, item.symbol, audit=False)


async def _either(first: asyncio.Event, second: asyncio.Event) -> None:
    """Wait until either event is set (a signal's stop or an operator's)."""
    waits = {asyncio.ensure_future(first.wait()), asyncio.ensure_future(second.wait())}
    try:
        await asyncio.wait(waits, return_when=FIRST)
    finally:
        for wait in waits:
            wait.cancel()
        await asyncio.gather(*waits, return_exceptions=True)


async def _next(
    inbox: _Inbox, stopping: asyncio.Task[object], timeout_s: float, commands: asyncio.Event
) -> _Item | None:
    """The next item, or ``None`` at the timeout, when stopping or when a command waits."""
    getting = asyncio.ensure_future(inbox.get())
    commanded = asyncio.ensure_future(commands.wait())
    try:
        await asyncio.wait({getting, stopping, commanded}, timeout=timeout_s, return_when=FIRST)
    finally:
        for waiting in (getting, commanded):
            if not waiting.done():
                waiting.cancel()
        await asyncio.gather(getting, commanded, return_exceptions=True)
    return getting.result() if getting.done() and not getting.cancelled() else None


async def _catch_up(orchestrator: GridOrchestrator, symbol: str, *, audit: bool) -> None:
    """Over REST: fills not applied yet, orders the venue ended unseen, UNKNOWN orders."""
    await orchestrator.poll_fills(symbol)
    if audit:
        await orchestrator.audit_orders(symbol)
    await orchestrator.resolve_unknown(symbol)


_ENDED: frozenset[OrderStatus] = frozenset({OrderStatus.CANCELED, OrderStatus.REJECTED})
"""Ended without a fill (an expiry is reported as cancelled)."""


async def _on_order_news(
    orchestrator: GridOrchestrator, symbol: str, batch: Sequence[OrderNews]
) -> None:
    if any(n.gap for n in batch):
        log.info("order stream broke or came back: catching up over REST symbol=%s", symbol)
        await _catch_up(orchestrator, symbol, audit=True)
        return
    orders = [o for n in batch for o in n.orders]
    if any(o.filled > 0 for o in orders):
        await orchestrator.poll_fills(symbol)
    ended = [o.client_order_id for o in orders if o.status in _ENDED]
    if ended:
        await orchestrator.confirm_orders(symbol, ended)
