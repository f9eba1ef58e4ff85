"""A session on a simulated market: each feed trade prints on the exchange, then the bot sees it.

The market is the feed; the exchange matches our resting orders against each trade before the
bot hears of it — as on a real venue, where a fill can precede the price update we receive.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sized
from dataclasses import dataclass
from itertools import islice
from typing import Literal

from gridmaker import failpoints
from gridmaker.engine.orchestrator import GridOrchestrator
from gridmaker.exchange.api import SimulatedMarket
from gridmaker.feeds import MarketFeed

__all__ = ["Progress", "SessionResult", "run_market_session"]

YIELD_EVERY = 16
"""Trades between yields to the event loop: a simulated market's awaits may all complete at
once, and a signal handler (``stop``) only runs when the loop gets a turn."""

Ending = Literal["", "steps", "feed", "duration", "stop"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Progress:
    """Where a session is: reported every ``progress_every`` trades and once at its end."""

    done: int
    """Trades printed in this session."""
    start: int
    """The market's feed position when the session began (earlier sessions' trades)."""
    end: int | None
    """The position the session stops at if nothing stops it first: ``start + steps``, capped
    by the feed's length when it is known; ``None``: neither is known (a duration, a walk)."""
    feed_length: int | None
    """Trades in the feed (a recorded file), ``None`` for an endless one."""
    ended: Ending = ""
    """Why the session ended ("" while it runs): steps done, feed exhausted, duration over,
    or ``stop`` set (a signal)."""

    @property
    def position(self) -> int:
        """Trades printed on this market so far, earlier sessions included."""
        return self.start + self.done


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionResult:
    trades: int
    """Trades printed in this session."""
    feed_position: int
    """Trades printed on this market since it was created (sessions continue the feed)."""
    elapsed_s: float
    ended: Ending = "steps"
    """Why the session ended: steps done, feed exhausted, duration over, or ``stop`` set."""


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
    on_progress: Callable[[Progress], None] | None = None,
    progress_every: int = 500,
    stop: asyncio.Event | None = None,
) -> SessionResult:
    """Print up to ``steps`` trades (or for ``duration_s`` seconds) and let the bot trade them.

    ``stop`` ends the session between two trades (never inside a decision or a send); the
    fills are then polled once more, as at any end, so the book is saved complete.
    """
    start = market.bind_feed(symbol, feed.key)
    started = time.monotonic()
    deadline = None if duration_s is None else started + duration_s
    length = len(feed) if isinstance(feed, Sized) else None
    end = None if steps is None else start + steps
    if length is not None:
        end = length if end is None else min(end, length)

    def progress(ended: Ending = "") -> Progress:
        return Progress(done=done, start=start, end=end, feed_length=length, ended=ended)

    done = 0
    ended: Ending = "steps"
    orchestrator.note_source(symbol, "market", "the feed is printed on the simulated market")
    stopped = orchestrator.stop  # an operator's stop, applied by the loop
    for trade in islice(feed.trades(start), steps):
        if (stop is not None and stop.is_set()) or stopped.is_set():
            ended = "stop"
            break
        market.apply_trade(symbol, trade.price, trade.amount, trade.ts_event)
        failpoints.hit("trade:printed")
        await orchestrator.on_trade(symbol, trade.price, trade.ts_event, trade.amount)
        done += 1
        if done % commands_every == 0 or orchestrator.commands_waiting:
            await orchestrator.apply_commands(trade.ts_event)
        if done % reconcile_every == 0:
            # Catch fills no crossing revealed, compare the venue's open orders with the
            # book's, and resolve any UNKNOWN order.
            await orchestrator.poll_fills(symbol)
            await orchestrator.audit_orders(symbol)
            await orchestrator.resolve_unknown(symbol)
        if on_progress is not None and done % progress_every == 0:
            on_progress(progress())
        if done % YIELD_EVERY == 0:
            await asyncio.sleep(0)
        if deadline is not None and time.monotonic() >= deadline:
            ended = "duration"
            break
    else:
        if length is not None and start + done >= length:
            ended = "feed"
    await orchestrator.poll_fills(symbol)
    await orchestrator.resolve_unknown(symbol)
    if on_progress is not None:
        on_progress(progress(ended))
    return SessionResult(
        trades=done, feed_position=start + done, elapsed_s=time.monotonic() - started, ended=ended
    )
