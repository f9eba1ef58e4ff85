"""Markets shared between a process's clients: one ``exchangeInfo`` for a burst of boots."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from gridmaker.cli.venue import SIM_API_KEY, SIM_API_SECRET
from gridmaker.exchange.ccxt import CcxtExchange, RateBudget, build_ccxt_client
from gridmaker.exchange.ccxt.shared_markets import MarketsShare, share_markets
from tests.kit.http_venue import SYMBOL, running_server


@pytest.fixture
def sharing() -> Iterator[MarketsShare]:
    share = share_markets(900.0)
    assert share is not None
    try:
        yield share
    finally:
        share_markets(None)


def _venue(url: str) -> CcxtExchange:
    client = build_ccxt_client(
        "binance", api_key=SIM_API_KEY, api_secret=SIM_API_SECRET, base_url=url
    )
    return CcxtExchange(client, budget=RateBudget(limit=6000))


async def _boot_many(n: int) -> tuple[int, list[Any]]:
    async with running_server() as (server, url):
        venues = [_venue(url) for _ in range(n)]
        try:
            instruments = await asyncio.gather(*(v.fetch_instrument(SYMBOL) for v in venues))
        finally:
            for v in venues:
                await v.close()
        return server.stats.calls["GET exchangeInfo"], instruments


def test_shared_markets_burst_of_clients_loads_them_once(sharing: MarketsShare) -> None:
    loads, instruments = asyncio.run(_boot_many(5))

    assert loads == 1
    assert sharing.loads == 1
    assert all(i == instruments[0] for i in instruments)
    assert instruments[0].symbol == SYMBOL


def test_shared_markets_off_each_client_loads_its_own() -> None:
    loads, _ = asyncio.run(_boot_many(3))

    assert loads == 3


class _Client:
    """A ccxt client's markets, as ``MarketsShare`` uses them."""

    id = "binance"

    def __init__(self) -> None:
        self.urls = {"api": "http://127.0.0.1:1"}
        self.options: dict[str, Any] = {}
        self.markets: dict[str, Any] | None = None
        self.currencies: dict[str, Any] = {}

    def set_markets(self, markets: Any, currencies: Any) -> None:
        self.markets, self.currencies = dict(markets), dict(currencies)


def test_shared_markets_failed_load_leaves_the_next_client_to_load() -> None:
    share = MarketsShare(900.0)
    first, second = _Client(), _Client()

    async def fails() -> None:
        raise ConnectionError("venue down")

    async def loads() -> None:
        second.markets = {SYMBOL: {"id": "BTCUSDT"}}

    async def main() -> None:
        with pytest.raises(ConnectionError):
            await share.markets_for(first, fails)
        await asyncio.wait_for(share.markets_for(second, loads), timeout=5)
        third = _Client()
        await share.markets_for(third, fails)  # fresh: never asks the venue
        assert third.markets == {SYMBOL: {"id": "BTCUSDT"}}

    asyncio.run(main())
    assert share.loads == 1


def test_shared_markets_are_kept_apart_per_venue_address() -> None:
    share = MarketsShare(900.0)
    here, there = _Client(), _Client()
    there.urls = {"api": "http://127.0.0.1:2"}

    async def load_here() -> None:
        here.markets = {"A/B": {}}

    async def load_there() -> None:
        there.markets = {"C/D": {}}

    async def main() -> None:
        await share.markets_for(here, load_here)
        await share.markets_for(there, load_there)

    asyncio.run(main())
    assert (share.loads, there.markets) == (2, {"C/D": {}})
