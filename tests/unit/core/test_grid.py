from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gridmaker.core.errors import InvalidGrid
from gridmaker.core.grid import GridKind, GridSpec, GridTemplate


def test_arithmetic_levels_are_equally_spaced() -> None:
    grid = GridSpec(kind=GridKind.ARITHMETIC, anchor_ticks=1000, spacing_ticks=10)
    assert [grid.price_ticks(lv) for lv in (-2, -1, 0, 1, 2)] == [980, 990, 1000, 1010, 1020]


def test_geometric_levels_have_equal_ratio_rounded_to_the_tick() -> None:
    grid = GridSpec(kind=GridKind.GEOMETRIC, anchor_ticks=10_000, ratio=Decimal("1.01"))
    assert [grid.price_ticks(lv) for lv in (-1, 0, 1, 2)] == [9901, 10_000, 10_100, 10_201]


def test_geometric_levels_that_collapse_on_one_tick_are_invalid() -> None:
    grid = GridSpec(kind=GridKind.GEOMETRIC, anchor_ticks=10, ratio=Decimal("1.01"))
    with pytest.raises(InvalidGrid, match="not above level"):
        grid.price_ticks(1)


def test_bounded_grid_validates_its_ends() -> None:
    with pytest.raises(InvalidGrid, match="must be > 0"):
        GridSpec(
            kind=GridKind.ARITHMETIC, anchor_ticks=100, spacing_ticks=10, min_level=-10, max_level=1
        )


def test_template_around_price_centres_levels_on_the_first_price() -> None:
    template = GridTemplate(kind=GridKind.ARITHMETIC, spacing_ppm=1000, buy_levels=3, sell_levels=2)
    grid = template.build(5_000_000)
    assert (grid.min_level, grid.max_level, grid.spacing_ticks) == (-3, 2, 5000)
    assert grid.price_ticks(-3) == 4_985_000


def test_template_range_fits_levels_between_lower_and_upper() -> None:
    template = GridTemplate(
        kind=GridKind.ARITHMETIC, spacing_ticks=100, lower_ticks=1000, upper_ticks=1450
    )
    grid = template.build(1200)
    assert (grid.min_level, grid.max_level) == (0, 4)
    assert grid.price_ticks(4) == 1400


@given(
    st.integers(min_value=1000, max_value=10**9),
    st.integers(min_value=1, max_value=10**5),
    st.integers(min_value=1, max_value=10**10),
)
def test_arithmetic_level_at_or_below_brackets_the_price(anchor: int, spacing: int, price: int):
    grid = GridSpec(kind=GridKind.ARITHMETIC, anchor_ticks=anchor, spacing_ticks=spacing)
    level = grid.level_at_or_below(price)
    assert anchor + level * spacing <= price < anchor + (level + 1) * spacing


@given(
    st.integers(min_value=100_000, max_value=10**9),
    st.decimals(min_value=Decimal("1.001"), max_value=Decimal("1.2"), places=4),
    st.integers(min_value=-30, max_value=30),
)
def test_geometric_levels_increase_and_invert(anchor: int, ratio: Decimal, level: int) -> None:
    grid = GridSpec(kind=GridKind.GEOMETRIC, anchor_ticks=anchor, ratio=ratio)
    price = grid.price_ticks(level)
    assert grid.price_ticks(level + 1) > price
    assert grid.level_at_or_below(price) == level
    assert grid.level_at_or_below(price - 1) == level - 1


def test_levels_that_fit_counts_arithmetic_levels_above_price_zero() -> None:
    # 10,000 levels 0.01 % (500 ticks) below 5,000,000 ticks: level -10,000 is price 0.
    template = GridTemplate(kind=GridKind.ARITHMETIC, spacing_ppm=100)

    fit = template.levels_that_fit(5_000_000, below=10_000, above=10, max_ticks=10**18)

    assert fit == (9_999, 10)


def test_levels_that_fit_counts_geometric_levels_before_they_collapse_or_pass_the_cap() -> None:
    template = GridTemplate(kind=GridKind.GEOMETRIC, spacing_ppm=10_000)
    grid = GridSpec(kind=GridKind.GEOMETRIC, anchor_ticks=5_000_000, ratio=Decimal("1.01"))

    below, above = template.levels_that_fit(5_000_000, below=10_000, above=10_000, max_ticks=10**9)

    assert grid.has_level(-below) and not grid.has_level(-below - 1)
    assert grid.price_ticks(above) <= 10**9 < grid.price_ticks(above + 1)
