"""A real venue's rules arrive at boot: ``book_setup`` checks the market against them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gridmaker.config import ConfigError, MarketConfig, book_setup
from tests import kit


def test_venue_instrument_at_boot_is_checked_like_the_sim_one() -> None:
    # Arrange: a real venue's rules arrive at boot: a step of 0.0001 does not hold 0.00015.
    market = MarketConfig(order_size=Decimal("0.00015"))
    instrument = kit.instrument(step_size=Decimal("0.0001"), min_qty=Decimal("0.0001"))

    # Act / Assert
    with pytest.raises(
        ConfigError, match=r"order_size: must be a multiple of the venue's BTC/USDT"
    ):
        book_setup(market, instrument)


def test_venue_rules_too_fine_to_count_are_refused_not_raised() -> None:
    # Arrange: a venue listing a tick and step of 1e-90 (an atom of 1e-186 quote).
    tiny = Decimal("1e-90")
    instrument = kit.instrument(tick_size=tiny, step_size=tiny, min_qty=tiny)
    market = MarketConfig(budget_quote=Decimal("1000"))

    # Act / Assert
    with pytest.raises(ConfigError, match=r"budget_quote: must be a multiple of"):
        book_setup(market, instrument)
