"""``order_stream``: updates while the user-data stream works, a REST catch-up around breaks."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from decimal import Decimal

import pytest

from gridmaker.core.events import OrderStatus, Side
from gridmaker.exchange.api import Banned, ExchangeError, ExchangeOrder, Unavailable
from gridmaker.feeds.live_prices import price_stream
from gridmaker.feeds.order_news import OrderNews, order_stream


def _order(n: int) -> ExchangeOrder:
    return ExchangeOrder(
        symbol="BTC/USDT",
        order_id=str(n),
        client_order_id=f"gm{n}",
        side=Side.BUY,
        price=Decimal(100),
        amount=Decimal(1),
        filled=Decimal(0),
        status=OrderStatus.OPEN,
        ts_event=n,
    )


class ScriptedStreamVenue:
    """Answers ``watch_orders`` from a script: an error to raise or a batch to deliver."""

    has_streams = True

    def __init__(self, script: Sequence[ExchangeError | int]) -> None:
        self.script = list(script)
        self.calls = 0

    async def watch_orders(self, symbol: str) -> list[ExchangeOrder]:
        self.calls += 1
        step = self.script.pop(0)
        if isinstance(step, ExchangeError):
            raise step
        return [_order(step)]

    async def watch_last_price(self, symbol: str) -> Decimal | None:
        raise Banned("418", symbol=symbol)


def _take(venue: ScriptedStreamVenue, n: int) -> list[OrderNews]:
    async def main() -> list[OrderNews]:
        stream = order_stream(venue, "BTC/USDT", backoff_s=(0.0,))  # type: ignore[arg-type]
        try:
            return [await anext(stream) for _ in range(n)]
        finally:
            await stream.aclose()

    return asyncio.run(main())


def _ids(news: list[OrderNews]) -> list[str]:
    return ["gap" if n.gap else ",".join(o.order_id for o in n.orders) for n in news]


def test_a_working_stream_delivers_updates_and_no_gaps() -> None:
    venue = ScriptedStreamVenue([1, 2, 3])
    assert _ids(_take(venue, 3)) == ["1", "2", "3"]


def test_each_break_and_the_first_delivery_after_it_ask_for_a_catch_up() -> None:
    down = Unavailable("stream closed", symbol="BTC/USDT")
    venue = ScriptedStreamVenue([1, down, down, 2, 3])

    news = _take(venue, 6)

    # A gap per failed attempt (the caller polls while it stays down), one when it is back.
    assert _ids(news) == ["1", "gap", "gap", "gap", "2", "3"]
    assert venue.calls == 5


def test_a_ban_on_either_stream_is_raised_not_retried() -> None:
    venue = ScriptedStreamVenue([1, Banned("418", symbol="BTC/USDT"), 2])

    with pytest.raises(Banned):
        _take(venue, 3)
    assert venue.calls == 2

    async def first_price() -> Decimal:
        stream = price_stream(venue, "BTC/USDT", poll_interval_s=0.0)  # type: ignore[arg-type]
        try:
            return await anext(stream)
        finally:
            await stream.aclose()

    with pytest.raises(Banned):
        asyncio.run(first_price())
