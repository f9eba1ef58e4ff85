from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from gridmaker.core.grid import GridKind, GridTemplate
from gridmaker.core.preflight import grid_refusal, preflight
from gridmaker.core.state import GridMode
from tests import kit

P0 = 5_000_000


def test_grid_that_fits_passes() -> None:
    state = kit.state(grid_=kit.grid(spacing_ticks=15_000))  # 0.3 % > two 0.1 % fees
    assert preflight(state, P0) == []


def test_spacing_below_round_trip_fees_is_refused() -> None:
    problems = preflight(kit.state(), P0)  # 0.1 % spacing, 0.2 % round trip
    assert any("does not cover the round-trip fees" in p for p in problems)


def test_level_below_min_notional_is_refused() -> None:
    state = kit.state(
        grid_=kit.grid(spacing_ticks=15_000),
        instrument_=kit.instrument(min_notional=Decimal("49.5")),
    )
    problems = preflight(state, P0)
    assert any("below the minimum" in p and "level -20" in p for p in problems)


def test_balance_too_small_for_the_buys_or_the_sells_is_refused() -> None:
    state = kit.state(base="0.01", quote="500", grid_=kit.grid(spacing_ticks=15_000))
    problems = preflight(state, P0)
    assert any("buys need" in p for p in problems)
    assert any("sells need 0.02 BTC" in p for p in problems)


def test_long_grid_needs_no_base() -> None:
    state = kit.state(
        base="0", grid_=kit.grid(spacing_ticks=15_000), params_=kit.params(mode=GridMode.LONG)
    )
    assert preflight(state, P0) == []


def test_order_beyond_the_stores_integers_is_refused() -> None:
    # Arrange: a tick of 1e-18 makes 50,000 into 5e22 ticks, beyond SQLite's 64-bit INTEGER.
    inst = kit.instrument(tick_size=Decimal("0.000000000000000001"), min_notional=Decimal(0))
    p0 = 50_000 * 10**18
    state = kit.state(instrument_=inst, grid_=kit.grid(anchor_ticks=p0, spacing_ticks=10**20))

    # Act
    problems = preflight(state, p0)

    # Assert
    assert any("too large for the book's 64-bit integers" in p for p in problems)


def test_grid_refusal_says_how_many_buy_levels_stay_above_zero() -> None:
    # Arrange: 10,000 levels 0.01 % (500 ticks) apart below 50,000: the last one is price 0.
    template = GridTemplate(
        kind=GridKind.ARITHMETIC, spacing_ppm=100, buy_levels=10_000, sell_levels=10
    )

    # Act
    refusal = grid_refusal(template, kit.instrument(), P0)

    # Assert
    assert refusal is not None
    assert "10000 buy_levels below the first price 50000 reach price 0" in refusal
    assert "at most 9999 fit" in refusal
    assert grid_refusal(replace(template, buy_levels=9_999), kit.instrument(), P0) is None
