"""The venue capabilities beyond ``Exchange``: which venue has which, as the users ask it."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import ccxt.async_support as accxt  # type: ignore[import-untyped]

from gridmaker.exchange.api import (
    LookupGrace,
    OrderStream,
    PriceStream,
    SimulatedMarket,
    VenueAccount,
    VenueStreams,
)
from gridmaker.exchange.ccxt import CcxtExchange, RateBudget
from gridmaker.exchange.faults import FaultPlan, FaultyExchange
from gridmaker.exchange.sim import SimExchange

CAPABILITIES = (PriceStream, OrderStream, VenueStreams, LookupGrace, VenueAccount, SimulatedMarket)


def _has(venue: object) -> set[str]:
    return {cap.__name__ for cap in CAPABILITIES if isinstance(venue, cap)}


def test_a_ccxt_venue_streams_names_its_account_and_has_a_lookup_grace() -> None:
    venue = CcxtExchange(accxt.binance({"apiKey": "k", "secret": "s"}), budget=RateBudget(limit=9))
    try:
        assert _has(venue) == {
            "PriceStream",
            "OrderStream",
            "VenueStreams",
            "LookupGrace",
            "VenueAccount",
        }
        assert venue.lookup_grace_s == 60.0 and venue.account_id == ""
    finally:
        asyncio.run(venue.close())


def test_the_built_in_exchange_is_a_simulated_market_only() -> None:
    sim = SimExchange(instruments=[], initial_balances={"USDT": Decimal(1)})

    assert _has(sim) == {"SimulatedMarket"}


def test_the_fault_layer_keeps_the_grace_of_what_it_wraps() -> None:
    class GraceVenue(SimExchange):
        lookup_grace_s = 2.5

    plain = SimExchange(instruments=[], initial_balances={})
    graced = GraceVenue(instruments=[], initial_balances={})

    assert FaultyExchange(plain, FaultPlan()).lookup_grace_s == 0.0
    assert FaultyExchange(graced, FaultPlan()).lookup_grace_s == 2.5
    assert isinstance(FaultyExchange(plain, FaultPlan()), LookupGrace)
