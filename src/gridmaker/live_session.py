"""Trading a real market: prices from the venue's stream (or REST polls) drive the bot."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator
from decimal import Decimal

from gridmaker.engine.orchestrator import GridOrchestrator
from gridmaker.exchange.api import ExchangeError
from gridmaker.exchange.ccxt_venue import CcxtExchange

__all__ = ["price_stream", "run_live_session"]

log = logging.getLogger("gridmaker.venue")

COMMANDS_EVERY = 10
"""Prices between looks at the operator's queued breaker commands (prices come slowly here)."""


async def price_stream(
    venue: CcxtExchange, symbol: str, *, poll_interval_s: float = 2.0, retry_ws_after: int = 30
) -> AsyncGenerator[Decimal, None]:
    """Prices from the venue's ticker stream; while it fails, from REST polls.

    A failed stream is retried (reconnected) after ``retry_ws_after`` polls. A failed poll is
    skipped (logged); the next poll tries again. Ends only when cancelled.
    """
    use_ws = venue.has_streams
    polls = 0
    while True:
        if use_ws:
            try:
                price = await venue.watch_last_price(symbol)
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
            except ExchangeError as e:
                log.warning("price poll failed symbol=%s error=%s", symbol, e)
                continue
        if price is not None:
            yield price


async def run_live_session(
    orchestrator: GridOrchestrator,
    venue: CcxtExchange,
    symbol: str,
    *,
    steps: int | None,
    duration_s: float | None,
    reconcile_every: int,
    poll_interval_s: float = 2.0,
) -> int:
    """Trade a real market: each price from the venue goes to the bot; returns prices seen.

    Fills are polled whenever a price crosses a resting order (the orchestrator does that) and
    every ``reconcile_every`` prices; UNKNOWN orders are looked up then too.
    """
    deadline = None if duration_s is None else time.monotonic() + duration_s
    seen = 0
    stream = price_stream(venue, symbol, poll_interval_s=poll_interval_s)
    try:
        while (steps is None or seen < steps) and (deadline is None or time.monotonic() < deadline):
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                price = await asyncio.wait_for(anext(stream), timeout)
            except TimeoutError:
                break
            now_ms = int(time.time() * 1000)
            await orchestrator.on_trade(symbol, price, now_ms)
            seen += 1
            if seen % COMMANDS_EVERY == 0:
                await orchestrator.apply_commands(now_ms)  # `gridmaker breaker` while running
            if seen % reconcile_every == 0:
                await orchestrator.poll_fills(symbol)
                await orchestrator.resolve_unknown(symbol)
    finally:
        await stream.aclose()
    await orchestrator.poll_fills(symbol)
    await orchestrator.resolve_unknown(symbol)
    return seen
