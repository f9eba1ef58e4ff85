"""Markets shared between a process's clients: one ``exchangeInfo`` for a burst of boots."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from gridmaker.cli.venue import SIM_API_KEY, SIM_API_SECRET
from gridmaker.exchange.ccxt import CcxtExchange, RateBudget, build_ccxt_client
from gridmaker.exchange.ccxt.venue_share import VenueShare, share_venue
from tests.kit.http_venue import SYMBOL, running_server


@pytest.fixture
def sharing() -> Iterator[VenueShare]:
    share = share_venue(900.0)
    assert share is not None
    try:
        yield share
    finally:
        share_venue(None)


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


def test_venue_share_burst_of_clients_loads_them_once(sharing: VenueShare) -> None:
    loads, instruments = asyncio.run(_boot_many(5))

    assert loads == 1
    assert sharing.loads == 1
    assert all(i == instruments[0] for i in instruments)
    assert instruments[0].symbol == SYMBOL


def test_venue_share_off_each_client_loads_its_own() -> None:
    loads, _ = asyncio.run(_boot_many(3))

    assert loads == 3


class _Client:
    """A ccxt client's markets, as ``VenueShare`` uses them."""

    id = "binance"

    def __init__(self) -> None:
        self.urls = {"api": "http://127.0.0.1:1"}
        self.options: dict[str, Any] = {}
        self.markets: dict[str, Any] | None = None
        self.currencies: dict[str, Any] = {}

    def set_markets(self, markets: Any, currencies: Any) -> None:
        self.markets, self.currencies = dict(markets), dict(currencies)


def test_venue_share_failed_load_leaves_the_next_client_to_load() -> None:
    share = VenueShare(900.0)
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


def test_venue_share_are_kept_apart_per_venue_address() -> None:
    share = VenueShare(900.0)
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


def test_shared_proof_of_keys_reads_balances_once_per_key(sharing: VenueShare) -> None:
    async def main() -> tuple[int, list[str]]:
        async with running_server() as (server, url):
            venues = [_venue(url) for _ in range(3)]
            other_key = CcxtExchange(
                build_ccxt_client(
                    "binance", api_key="another-key", api_secret=SIM_API_SECRET, base_url=url
                ),
                budget=RateBudget(limit=6000),
            )
            try:
                for v in venues:
                    await v.prove_keys()
                with pytest.raises(Exception, match="API-key"):  # another key is proven apart
                    await other_key.prove_keys()
                return server.stats.calls["GET account"], [v.account_id for v in venues]
            finally:
                for v in (*venues, other_key):
                    await v.close()

    reads, accounts = asyncio.run(main())

    assert reads == 2  # the first client's, and the other key's (refused)
    assert len(set(accounts)) == 1 and accounts[0] != ""  # the venue names the account


def test_proof_of_keys_without_sharing_reads_balances_each_time() -> None:
    async def main() -> int:
        async with running_server() as (server, url):
            venues = [_venue(url) for _ in range(2)]
            try:
                for v in venues:
                    await v.prove_keys()
                return server.stats.calls["GET account"]
            finally:
                for v in venues:
                    await v.close()

    assert asyncio.run(main()) == 2
