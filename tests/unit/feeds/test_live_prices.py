"""``price_stream``: the venue's stream while it works, REST polls while it does not."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from gridmaker.exchange.api import Unavailable
from gridmaker.feeds.live_prices import price_stream


class FlakyStreamVenue:
    """A venue whose stream fails for its first ``broken`` calls; polls always answer."""

    has_streams = True

    def __init__(self, broken: int) -> None:
        self.broken = broken
        self.stream_calls = 0
        self.polls = 0

    async def watch_last_price(self, symbol: str) -> Decimal | None:
        self.stream_calls += 1
        if self.stream_calls <= self.broken:
            raise Unavailable("stream closed", symbol=symbol)
        return Decimal(1000 + self.stream_calls)

    async def fetch_last_price(self, symbol: str) -> Decimal | None:
        self.polls += 1
        return Decimal(self.polls)


def _take(venue: FlakyStreamVenue, n: int, retry_ws_after: int) -> list[Decimal]:
    async def main() -> list[Decimal]:
        stream = price_stream(
            venue,
            "BTC/USDT",
            poll_interval_s=0.0,
            retry_ws_after=retry_ws_after,
        )
        try:
            return [await anext(stream) for _ in range(n)]
        finally:
            await stream.aclose()

    return asyncio.run(main())


def test_working_stream_is_used_and_nothing_is_polled() -> None:
    venue = FlakyStreamVenue(broken=0)
    assert _take(venue, 3, retry_ws_after=2) == [Decimal(1001), Decimal(1002), Decimal(1003)]
    assert venue.polls == 0


def test_broken_stream_falls_back_to_polls_and_reconnects_later() -> None:
    # Arrange: the first stream attempt fails, the second works.
    venue = FlakyStreamVenue(broken=1)

    # Act
    prices = _take(venue, 5, retry_ws_after=3)

    # Assert: three polled prices, then the stream again.
    assert prices == [Decimal(1), Decimal(2), Decimal(3), Decimal(1002), Decimal(1003)]
    assert venue.stream_calls == 3


def test_stream_that_keeps_failing_keeps_the_prices_coming_from_polls() -> None:
    venue = FlakyStreamVenue(broken=100)
    prices = _take(venue, 7, retry_ws_after=2)
    assert prices == [Decimal(i) for i in range(1, 8)]
    assert venue.stream_calls == 4  # retried after every 2 polls, failing each time
