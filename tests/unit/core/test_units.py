from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gridmaker.core.errors import OffTick
from tests import kit


def test_to_ticks_off_tick_without_rounding_raises() -> None:
    # Arrange
    inst = kit.instrument()

    # Act / Assert
    with pytest.raises(OffTick, match=r"not a multiple of 0\.01"):
        inst.to_ticks(Decimal("50000.005"))


def test_buy_price_rounds_down_and_sell_price_rounds_up() -> None:
    # Arrange
    inst = kit.instrument()

    # Act
    buy = inst.buy_price_ticks(Decimal("50000.005"))
    sell = inst.sell_price_ticks(Decimal("50000.005"))

    # Assert
    assert (buy, sell) == (5_000_000, 5_000_001)


def test_size_rounds_down_to_the_step() -> None:
    assert kit.instrument().size_steps(Decimal("0.0012345")) == 123


def test_fee_rate_with_more_than_six_decimals_is_refused() -> None:
    with pytest.raises(OffTick, match="maker_fee"):
        kit.instrument(maker_fee=Decimal("0.0000001"))


def test_non_positive_tick_size_is_refused() -> None:
    with pytest.raises(OffTick, match="tick_size must be > 0, was 0"):
        kit.instrument(tick_size=Decimal(0))


def test_notional_and_fee_are_exact_in_atoms() -> None:
    # Arrange
    inst = kit.instrument()

    # Act
    notional = inst.from_atoms(inst.notional(5_000_000, 100))
    fee = inst.from_atoms(inst.fee(5_000_000, 100))

    # Assert
    assert notional == Decimal("50")  # 50,000.00 × 0.001
    assert fee == Decimal("0.05")


def test_is_tradeable_applies_min_notional() -> None:
    # Arrange
    inst = kit.instrument()  # min notional 5 USDT

    # Act / Assert
    assert inst.is_tradeable(5_000_000, 10)  # 50,000 × 0.0001 = 5
    assert not inst.is_tradeable(5_000_000, 9)


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_ticks_round_trip_through_decimal(ticks: int) -> None:
    inst = kit.instrument()
    assert inst.to_ticks(inst.from_ticks(ticks)) == ticks


@given(st.integers(min_value=0, max_value=10**15))
def test_steps_and_atoms_round_trip_through_decimal(n: int) -> None:
    inst = kit.instrument()
    assert inst.to_steps(inst.from_steps(n)) == n
    assert inst.to_atoms(inst.from_atoms(n)) == n


def test_fits_store_bounds_ticks_steps_and_the_fee_atoms_of_a_fill() -> None:
    # Arrange: fee 0.1 % = 1000 ppm, so a fill's fee is ticks * steps * 1000 atoms.
    inst = kit.instrument()
    limit = 2**63 - 1

    # Act / Assert
    assert inst.fits_store(5_000_000, 100)
    assert inst.fits_store(limit // (1000 * 7), 7)
    assert not inst.fits_store(limit // (1000 * 7) + 1, 7)
    assert not inst.fits_store(limit + 1, 0)
