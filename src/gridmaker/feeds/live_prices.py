"""A live venue's prices: its ticker stream while that works, REST polls while it does not.

The bot must keep hearing prices through a broken stream (the grid acts on them), so a failed
stream falls back to polling and is retried later; only a ban ends the prices.

A stream can also fail without failing: the socket stays open, pings are answered, and no
ticker comes. A venue's ticker stream publishes at least every second, so one that has given
no price for ``stall_after_s`` is treated as failed too. Retries run alongside the polls, so a
retry that is still silent costs no price.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from decimal import Decimal

from gridmaker.exchange.api import Banned, ExchangeError, PriceStream

__all__ = ["POLLING", "STREAM", "SourceCallback", "price_stream"]

log = logging.getLogger("gridmaker.venue")

STREAM = "stream"
POLLING = "polling"
SourceCallback = Callable[[str, str], None]
"""Told ``(STREAM | POLLING, reason)`` each time the prices start coming from the other source."""


async def price_stream(
    venue: PriceStream,
    symbol: str,
    *,
    poll_interval_s: float = 2.0,
    retry_ws_after: int = 30,
    stall_after_s: float | None = None,
    on_source: SourceCallback | None = None,
) -> AsyncGenerator[Decimal, None]:
    """Prices from the venue's ticker stream; while it fails or stays silent, from REST polls.

    The stream has failed when it raises, or (with ``stall_after_s``) when it has given no
    price for that many seconds while open. Prices are then polled every ``poll_interval_s``;
    after ``retry_ws_after`` polls the stream is tried again while the polls go on, and is the
    source again from its first price. A retry that fails, or stays silent for
    ``stall_after_s``, is dropped and tried again after as many polls. A failed poll is skipped
    (logged); a ban is raised (polling on would feed it). ``on_source`` hears every change of
    source, the first one included, before the price that proves it; it must not raise (what
    it raises ends the prices). Ends only when cancelled.
    """
    sources = _Sources(symbol, on_source)
    retry = _Retry(venue, symbol, stall_after_s)
    if not venue.has_streams:
        sources.switch(POLLING, "the venue has no ticker stream")
    try:
        while True:
            if venue.has_streams:
                streamed = _stream(venue, symbol, stall_after_s, sources, retry.price)
                async with aclosing(streamed):
                    async for price in streamed:
                        yield price
            retry.price = None
            polled = _polls(venue, symbol, poll_interval_s, retry_ws_after, retry)
            async with aclosing(polled):
                async for price in polled:
                    yield price
    finally:
        retry.cancel()


class _Sources:
    """Where the prices come from now; a change is logged and told to ``on_source``."""

    def __init__(self, symbol: str, on_source: SourceCallback | None) -> None:
        self.symbol = symbol
        self.current: str | None = None
        self._on_source = on_source

    def switch(self, source: str, reason: str) -> None:
        if source == self.current:
            return
        self.current = source
        if source == POLLING:
            log.warning("prices polled symbol=%s: %s", self.symbol, reason)
        else:
            log.info("prices streamed symbol=%s: %s", self.symbol, reason)
        if self._on_source is not None:
            self._on_source(source, reason)


async def _stream(
    venue: PriceStream,
    symbol: str,
    stall_after_s: float | None,
    sources: _Sources,
    first: Decimal | None,
) -> AsyncGenerator[Decimal, None]:
    """The stream's prices (after ``first``, one a retry took) until it fails or falls silent;
    the switch to polling is told before it ends."""
    loop = asyncio.get_running_loop()
    if first is not None:
        sources.switch(STREAM, "the ticker stream gives prices again")
        yield first
    silent_since = loop.time()
    while True:
        try:
            if stall_after_s is None:
                price = await venue.watch_last_price(symbol)
            else:
                # Not ``wait_for``: on 3.11 it loses a cancel that meets the answer.
                async with asyncio.timeout_at(silent_since + stall_after_s):
                    price = await venue.watch_last_price(symbol)
        except TimeoutError:
            sources.switch(POLLING, f"the ticker stream gave no price for {stall_after_s:g} s")
            return
        except Banned:
            raise
        except ExchangeError as e:
            sources.switch(POLLING, f"the ticker stream failed: {e}")
            return
        if price is not None:
            sources.switch(STREAM, "the ticker stream gives prices")
            yield price
            silent_since = loop.time()  # the time the consumer took is not the stream's silence


async def _polls(
    venue: PriceStream, symbol: str, interval_s: float, retry_after: int, retry: _Retry
) -> AsyncGenerator[Decimal, None]:
    """Polled prices until a retry of the stream gives one (left in ``retry.price``)."""
    loop = asyncio.get_running_loop()
    polls = 0
    while True:
        if venue.has_streams and retry.task is None and polls >= retry_after:
            retry.start()
        due = loop.time() + interval_s
        while True:
            if retry.task is None:
                await asyncio.sleep(max(due - loop.time(), 0.0))
                break
            ended = await retry.wait(min(due, retry.deadline))
            if retry.price is not None:
                return
            if ended:
                polls = 0  # the retry ended without a price: count the polls to the next again
            if loop.time() >= due:
                break
        polls += 1
        try:
            price = await venue.fetch_last_price(symbol)
        except Banned:
            raise
        except ExchangeError as e:
            log.warning("price poll failed symbol=%s error=%s", symbol, e)
            continue
        if price is not None:
            yield price


class _Retry:
    """One more try of the stream, run beside the polls: it ends with its first price, its
    failure, or (with ``stall_after_s``) its silence."""

    def __init__(self, venue: PriceStream, symbol: str, stall_after_s: float | None) -> None:
        self.venue = venue
        self.symbol = symbol
        self.stall_after_s = stall_after_s
        self.task: asyncio.Task[Decimal] | None = None
        self.deadline = math.inf
        self.price: Decimal | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self._first_price())
        now = asyncio.get_running_loop().time()
        self.deadline = math.inf if self.stall_after_s is None else now + self.stall_after_s

    async def _first_price(self) -> Decimal:
        while True:
            price = await self.venue.watch_last_price(self.symbol)
            if price is not None:
                return price

    async def wait(self, until: float) -> bool:
        """Until the retry ends or ``until``; a retry past its deadline is dropped. True when
        the retry is over (its price, if it gave one, in ``price``)."""
        task = self.task
        assert task is not None
        loop = asyncio.get_running_loop()
        await asyncio.wait({task}, timeout=max(until - loop.time(), 0.0))
        if task.done():
            self.task = None
            error = task.exception()
            if error is None:
                self.price = task.result()
            elif isinstance(error, Banned) or not isinstance(error, ExchangeError):
                raise error  # a ban, or a bug: not a stream to retry
            else:
                log.info("price stream retry failed symbol=%s error=%s", self.symbol, error)
            return True
        if loop.time() >= self.deadline:
            log.info("price stream retry silent symbol=%s", self.symbol)
            self.cancel()
            return True
        return False

    def cancel(self) -> None:
        task, self.task = self.task, None
        if task is None:
            return
        if task.done():
            if not task.cancelled():
                task.exception()  # retrieved: a retry nobody waits for any more is no error
        else:
            task.cancel()
