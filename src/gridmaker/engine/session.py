"""A session on a simulated market: each feed trade prints on the exchange, then the bot sees it.

The market is the feed; the exchange matches our resting orders against each trade before the
bot hears of it — as on a real venue, where a fill can precede the price update we receive.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from itertools import islice
from typing import Protocol

from gridmaker import failpoints
from gridmaker.engine.orchestrator import GridOrchestrator
from gridmaker.exchange.api import ExchangeFill
from gridmaker.feeds import MarketFeed

__all__ = ["SessionResult", "SimulatedMarket", "run_market_session"]


class SimulatedMarket(Protocol):
    def apply_trade(
        self, symbol: str, price: Decimal, amount: Decimal, ts_event: int
    ) -> list[ExchangeFill]: ...

    def bind_feed(self, symbol: str, key: str) -> int: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionResult:
    trades: int
    """Trades printed in this session."""
    feed_position: int
    """Trades printed on this market since it was created (sessions continue the feed)."""
    elapsed_s: float


async def run_market_session(
    orchestrator: GridOrchestrator,
    market: SimulatedMarket,
    feed: MarketFeed,
    symbol: str,
    *,
    steps: int | None,
    duration_s: float | None = None,
    reconcile_every: int = 1000,
    commands_every: int = 100,
    on_progress: Callable[[int], None] | None = None,
    progress_every: int = 500,
) -> SessionResult:
    """Print up to ``steps`` trades (or for ``duration_s`` seconds) and let the bot trade them."""
    start = market.bind_feed(symbol, feed.key)
    started = time.monotonic()
    deadline = None if duration_s is None else started + duration_s
    done = 0
    for trade in islice(feed.trades(start), steps):
        market.apply_trade(symbol, trade.price, trade.amount, trade.ts_event)
        failpoints.hit("trade:printed")
        await orchestrator.on_trade(symbol, trade.price, trade.ts_event, trade.amount)
        done += 1
        if done % commands_every == 0:
            await orchestrator.apply_commands(trade.ts_event)
        if done % reconcile_every == 0:
            # Catch fills no crossing revealed and resolve any UNKNOWN order.
            await orchestrator.poll_fills(symbol)
            await orchestrator.resolve_unknown(symbol)
        if on_progress is not None and done % progress_every == 0:
            on_progress(done)
        if deadline is not None and time.monotonic() >= deadline:
            break
    await orchestrator.poll_fills(symbol)
    await orchestrator.resolve_unknown(symbol)
    return SessionResult(
        trades=done, feed_position=start + done, elapsed_s=time.monotonic() - started
    )
