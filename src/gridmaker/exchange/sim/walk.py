"""The simulator's market moving on its own: a feed printed at a pace, no bot involved.

With it, ``gridmaker sim-exchange`` behaves like a real venue: the market trades whether or not
a bot is connected, and a bot pointed at it is only a client (prices from the ticker stream,
fills from the trade history) — the path ``gridmaker run`` takes on Binance itself.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Protocol

from gridmaker.exchange.sim.http import BinanceSimServer

__all__ = ["walk_market"]

log = logging.getLogger("gridmaker.sim")


class _Trade(Protocol):
    @property
    def price(self) -> Decimal: ...
    @property
    def amount(self) -> Decimal: ...
    @property
    def ts_event(self) -> int: ...


class _Feed(Protocol):
    """What of ``feeds.MarketFeed`` is used here (``exchange`` does not import ``feeds``)."""

    @property
    def key(self) -> str: ...
    def trades(self, start: int = 0) -> Iterator[_Trade]: ...


async def walk_market(
    server: BinanceSimServer,
    feeds: Mapping[str, _Feed],
    *,
    interval_s: float,
    limit: int | None = None,
) -> int:
    """Print one trade of each symbol's feed every ``interval_s`` until cancelled, a feed
    ends or ``limit`` rounds are printed; continues each feed where the exchange's state file
    left it. Returns trades printed."""
    trades = {}
    for symbol, feed in feeds.items():
        start = server.sim.bind_feed(symbol, feed.key)
        trades[symbol] = feed.trades(start)
    server.moves_itself = True
    printed = 0
    rounds = 0
    try:
        while limit is None or rounds < limit:
            rounds += 1
            for symbol, source in trades.items():
                trade = next(source, None)
                if trade is None:
                    log.info("feed of %s ended after %d trades: the market stops", symbol, printed)
                    return printed
                await server.print_trade(symbol, trade.price, trade.amount, trade.ts_event)
                printed += 1
            await asyncio.sleep(interval_s)
        log.info("walk of %d rounds done: the market stops", rounds)
        return printed
    finally:
        server.moves_itself = False
