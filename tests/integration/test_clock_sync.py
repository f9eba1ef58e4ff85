"""Binance's ``-1021`` (our timestamp outside the venue's window) against the real ccxt client.

The simulator refuses a signed request whose timestamp is more than ``recvWindow`` behind its
clock or a second ahead, as Binance does; its clock can be set off the host's.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from gridmaker.core.events import Side
from gridmaker.engine.retry import Retrier
from gridmaker.exchange.api import OrderRequest, Unavailable
from tests.kit.http_venue import SYMBOL, running_server, venue

pytestmark = pytest.mark.integration

SKEW_MS = 60_000
"""Far outside ccxt's 10 s ``recvWindow``."""


def _order(cid: str) -> OrderRequest:
    return OrderRequest(
        symbol=SYMBOL,
        client_order_id=cid,
        side=Side.BUY,
        price=Decimal("40000"),
        amount=Decimal("0.001"),
    )


def test_a_venue_clock_far_off_ours_is_measured_at_start() -> None:
    async def main() -> None:
        async with running_server() as (server, url):
            server.clock_offset_ms = SKEW_MS
            naive, ours = venue(url), venue(url)
            naive.client.options["adjustForTimeDifference"] = False
            try:
                # Without the measurement every signed request is refused...
                await naive.fetch_instrument(SYMBOL)
                with pytest.raises(Unavailable, match="clock"):
                    await naive.fetch_balances()
                # ...with it (our default), the client signs with the venue's time.
                await ours.fetch_instrument(SYMBOL)
                assert "USDT" in await ours.fetch_balances()
                await ours.place_order(_order("gmclock1"))
                assert server.sim.place_calls["gmclock1"] == 1
            finally:
                await naive.close()
                await ours.close()

    asyncio.run(main())


def test_a_client_given_venue_share_signs_with_the_measured_clock() -> None:
    from gridmaker.exchange.ccxt.venue_share import share_venue

    async def main() -> None:
        async with running_server() as (server, url):
            server.clock_offset_ms = SKEW_MS
            loader, sharer = venue(url), venue(url)
            try:
                await loader.fetch_instrument(SYMBOL)  # loads the markets, measures the clock
                time_calls = server.stats.calls["GET time"]
                await sharer.fetch_instrument(SYMBOL)  # given them: no request at all

                # Act: a signed request from the client that measured nothing itself
                balances = await sharer.fetch_balances()

                # Assert: accepted the first time, no clock error and no second measurement
                assert "USDT" in balances
                assert server.stats.calls["GET time"] == time_calls
                assert server.stats.calls["GET exchangeInfo"] == 1
            finally:
                await loader.close()
                await sharer.close()

    share_venue(60.0)
    try:
        asyncio.run(main())
    finally:
        share_venue(None)


def test_a_clock_that_drifts_later_is_resynced_and_the_write_sent_once() -> None:
    async def main() -> None:
        async with running_server() as (server, url):
            client = venue(url)
            try:
                await client.fetch_instrument(SYMBOL)
                assert "USDT" in await client.fetch_balances()

                # Act: the venue's clock jumps; the engine's write policy sends the order.
                server.clock_offset_ms = -SKEW_MS
                retrier = Retrier()
                order = await retrier.write("place", lambda: client.place_order(_order("gmclock2")))

                # Assert: refused once (-1021, certainly not executed), then the clock was
                # measured again and the order went through exactly once.
                assert retrier.retries == 1
                assert order.client_order_id == "gmclock2"
                assert server.sim.place_calls["gmclock2"] == 1
                assert server.stats.calls["GET time"] >= 2  # at start, and after the -1021
            finally:
                await client.close()

    asyncio.run(main())
