"""``price_stream`` through a ticker stream that stays open and goes silent (a stall).

The fake venue keeps its state like a real one: a market that prints a new price every few
milliseconds, a ticker stream that tells each waiting watcher of a print unless it is silenced,
and REST that always answers the last price.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal

import pytest

from gridmaker.exchange.api import Banned, Unavailable
from gridmaker.feeds.live_prices import POLLING, STREAM, price_stream
from tests.kit.waiting import eventually_async

SYMBOL = "BTC/USDT"
STALL_S = 0.5


class TickerVenue:
    """A market that keeps printing; its stream can be silenced (open, but no prices)."""

    has_streams = True

    def __init__(self) -> None:
        self.last = Decimal(100)
        self.silent = False
        self.failing: Exception | None = None
        self.watchers: set[asyncio.Future[Decimal]] = set()
        self.watches = 0
        self.abandoned_watches = 0
        self.polls = 0
        self._polls_beside_this_watch = 0
        self.most_polls_beside_one_watch = 0

    def trade(self) -> None:
        self.last += 1
        if self.silent:
            return
        for waiter in self.watchers:
            if not waiter.done():
                waiter.set_result(self.last)
        self.watchers.clear()

    async def watch_last_price(self, symbol: str) -> Decimal | None:
        self.watches += 1
        if self.failing is not None:
            raise self.failing
        waiter: asyncio.Future[Decimal] = asyncio.get_running_loop().create_future()
        self._polls_beside_this_watch = 0
        self.watchers.add(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            self.abandoned_watches += 1
            self.watchers.discard(waiter)
            raise

    async def fetch_last_price(self, symbol: str) -> Decimal | None:
        self.polls += 1
        if any(not waiter.done() for waiter in self.watchers):
            self._polls_beside_this_watch += 1
            self.most_polls_beside_one_watch = max(
                self.most_polls_beside_one_watch, self._polls_beside_this_watch
            )
        return self.last


@dataclass
class Reader:
    """What the consumer of ``price_stream`` saw: prices, and the sources it was told of."""

    prices: list[Decimal] = field(default_factory=list)
    sources: list[tuple[str, str]] = field(default_factory=list)
    task: asyncio.Task[None] | None = None

    def kinds(self) -> list[str]:
        return [source for source, _ in self.sources]

    def told(self, source: str, count: int = 1) -> bool:
        return self.kinds().count(source) >= count

    async def more_prices(self, n: int) -> None:
        target = len(self.prices) + n
        await eventually_async(lambda: len(self.prices) >= target, timeout_s=10, what="prices")


async def _market(venue: TickerVenue) -> None:
    while True:
        await asyncio.sleep(0.005)
        venue.trade()


@asynccontextmanager
async def reading(venue: TickerVenue, *, retry_ws_after: int = 5) -> AsyncIterator[Reader]:
    reader = Reader()

    async def consume() -> None:
        stream = price_stream(
            venue,
            SYMBOL,
            poll_interval_s=0.01,
            retry_ws_after=retry_ws_after,
            stall_after_s=STALL_S,
            on_source=lambda source, reason: reader.sources.append((source, reason)),
        )
        async for price in stream:
            reader.prices.append(price)

    market = asyncio.create_task(_market(venue))
    reader.task = asyncio.create_task(consume())
    try:
        yield reader
    finally:
        market.cancel()
        reader.task.cancel()
        await asyncio.gather(market, reader.task, return_exceptions=True)


def test_price_stream_silent_stream_switches_to_polls_then_back_to_the_stream() -> None:
    async def main() -> tuple[TickerVenue, Reader, int]:
        venue = TickerVenue()
        async with reading(venue) as reader:
            await eventually_async(lambda: reader.told(STREAM), what="the stream")
            await reader.more_prices(3)
            assert venue.polls == 0

            venue.silent = True  # the stall: the socket stays, the prices stop
            await eventually_async(lambda: reader.told(POLLING), what="the switch to polls")
            await reader.more_prices(5)
            # Retried while silent (each retry abandoned at its deadline), still polling.
            await eventually_async(lambda: venue.abandoned_watches >= 2, what="a silent retry")
            assert reader.kinds() == [STREAM, POLLING]

            venue.silent = False
            await eventually_async(lambda: reader.told(STREAM, 2), what="the stream again")
            polls = venue.polls
            await reader.more_prices(5)
        return venue, reader, polls

    venue, reader, polls_at_recovery = asyncio.run(main())

    assert reader.kinds() == [STREAM, POLLING, STREAM]
    assert f"no price for {STALL_S:g} s" in reader.sources[1][1]
    assert venue.polls == polls_at_recovery  # back on the stream: nothing polled
    assert reader.prices == sorted(reader.prices)  # the market's prices, in its order


def test_price_stream_silent_retry_keeps_the_polled_prices_coming() -> None:
    async def main() -> TickerVenue:
        venue = TickerVenue()
        venue.silent = True
        async with reading(venue, retry_ws_after=2) as reader:
            await eventually_async(lambda: reader.told(POLLING), what="the switch to polls")
            # A retry waits on the stream for STALL_S (50 poll intervals): polls go on.
            await eventually_async(
                lambda: venue.most_polls_beside_one_watch >= 5,
                timeout_s=5,
                what="polls beside a retry",
            )
            assert reader.kinds() == [POLLING]
        return venue

    venue = asyncio.run(main())

    assert venue.watches >= 2


def test_price_stream_failing_then_silent_stream_is_told_once_as_polling() -> None:
    async def main() -> Reader:
        venue = TickerVenue()
        venue.failing = Unavailable("stream closed", symbol=SYMBOL)
        async with reading(venue, retry_ws_after=2) as reader:
            await eventually_async(lambda: reader.told(POLLING), what="the switch to polls")
            await eventually_async(lambda: venue.watches >= 3, what="failed retries")
            venue.failing = None
            venue.silent = True  # the stream reconnects but says nothing
            await eventually_async(lambda: venue.abandoned_watches >= 1, what="a silent retry")
            venue.silent = False
            await eventually_async(lambda: reader.told(STREAM), what="the stream")
        return reader

    reader = asyncio.run(main())

    assert reader.kinds() == [POLLING, STREAM]
    assert "stream closed" in reader.sources[0][1]


def test_price_stream_ban_on_a_retry_is_raised() -> None:
    async def main() -> None:
        venue = TickerVenue()
        venue.silent = True
        async with reading(venue, retry_ws_after=2) as reader:
            await eventually_async(lambda: reader.told(POLLING), what="the switch to polls")
            venue.failing = Banned("418", symbol=SYMBOL)
            task = reader.task
            assert task is not None
            await asyncio.wait_for(asyncio.shield(task), timeout=10)

    with pytest.raises(Banned):
        asyncio.run(main())


def test_price_stream_venue_without_streams_is_told_polling_once() -> None:
    async def main() -> tuple[TickerVenue, Reader]:
        venue = TickerVenue()
        venue.has_streams = False
        async with reading(venue, retry_ws_after=1) as reader:
            await reader.more_prices(5)
        return venue, reader

    venue, reader = asyncio.run(main())

    assert reader.kinds() == [POLLING]
    assert venue.watches == 0


def test_price_stream_cancelled_as_a_price_arrives_ends() -> None:
    async def main() -> bool:
        venue = TickerVenue()
        prices: list[Decimal] = []

        async def consume() -> None:
            async for price in price_stream(venue, SYMBOL, stall_after_s=STALL_S):
                prices.append(price)

        task = asyncio.create_task(consume())
        await eventually_async(lambda: venue.watchers, what="a watch")
        # Act: the price and the cancel meet (a session stopping while the market moves).
        venue.trade()
        task.cancel()
        await asyncio.wait({task}, timeout=10)
        return task.done() and task.cancelled()

    assert asyncio.run(main())  # the cancel was not lost to the price
