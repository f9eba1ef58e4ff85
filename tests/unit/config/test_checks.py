"""Values the core's integer units cannot hold are refused at load, naming the rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.config.files import market, refusal


def test_order_size_off_the_step_is_refused_naming_the_field_and_the_step(tmp_path: Path) -> None:
    message = refusal(tmp_path, market("order_size: '0.000015'"))

    assert "markets[0].order_size: must be a multiple of" in message
    assert "step_size 0.00001; was 0.000015" in message


@pytest.mark.parametrize(
    ("spacing", "says"),
    [
        (
            "'0.001'",
            "must be at least one tick (sim.instruments.BTC/USDT.tick_size 0.01); was 0.001",
        ),
        ("'1e-30'", "must have at most 18 decimal places; was 0.000000000000000000000000000001"),
        ("'1E-18'", "must be at least one tick"),
    ],
)
def test_absolute_spacing_below_one_tick_is_refused(
    tmp_path: Path, spacing: str, says: str
) -> None:
    message = refusal(tmp_path, market(f"grid:\n  spacing: {spacing}"))

    assert f"markets[0].grid.spacing: {says}" in message


def test_geometric_grid_with_an_absolute_spacing_is_refused(tmp_path: Path) -> None:
    message = refusal(tmp_path, market("grid:\n  kind: geometric\n  spacing: '50'"))

    assert "markets[0].grid.spacing: a geometric grid takes a percent" in message


def test_tick_size_too_fine_for_the_price_is_refused_before_the_store_overflows(
    tmp_path: Path,
) -> None:
    # Arrange: 50,000 at a tick of 1e-18 is 5e22 ticks, beyond SQLite's 64-bit integers.
    config = "sim:\n  instruments:\n    BTC/USDT:\n      tick_size: '0.000000000000000001'\n"

    # Act
    message = refusal(tmp_path, config)

    # Assert
    assert "markets[0]: an order of 0.001 at the first price 50000 is more than" in message
    assert "64-bit integers" in message
    assert "tick_size 0.000000000000000001" in message


def test_geometric_levels_beyond_the_store_say_how_many_fit(tmp_path: Path) -> None:
    # 10,000 levels 1 % apart above 50,000: 1.01**10000 times the price.
    message = refusal(
        tmp_path,
        market(
            "grid:\n  kind: geometric\n  spacing: '1%'\n  buy_levels: 100\n  sell_levels: 10000"
        ),
    )

    assert "markets[0].grid.sell_levels: an order of 0.001 on the highest of 10000" in message
    assert "64-bit integers" in message
    assert "levels fit; was 10000" in message


@pytest.mark.parametrize(
    ("kind", "spacing", "fit"),
    [("arithmetic", "0.01%", 9999), ("geometric", "1%", 1220)],
)
def test_levels_reaching_price_zero_are_refused_saying_how_many_fit(
    tmp_path: Path, kind: str, spacing: str, fit: int
) -> None:
    grid = f"grid:\n  kind: {kind}\n  spacing: '{spacing}'\n  buy_levels: 10000\n  sell_levels: 10"

    message = refusal(tmp_path, market(grid))

    assert "markets[0].grid.buy_levels: 10000" in message
    assert "the lowest level must stay above zero" in message
    assert f"at most {fit} fit; was 10000" in message


def test_bounded_range_holding_fewer_than_two_levels_is_refused(tmp_path: Path) -> None:
    grid = "grid:\n  spacing: '100'\n  lower: '50000'\n  upper: '50050'"

    message = refusal(tmp_path, market(grid))

    assert "markets[0].grid: the range 50000 .. 50050 does not hold a grid" in message


def test_start_price_off_the_tick_is_refused_naming_the_field(tmp_path: Path) -> None:
    message = refusal(tmp_path, "feed:\n  start_price: '50000.005'\n")

    assert (
        "feed.start_price: must be a multiple of sim.instruments.BTC/USDT.tick_size 0.01" in message
    )
    assert "was 50000.005" in message


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("risk:\n  stop_loss: '0.001'", "markets[0].risk.stop_loss: must be at least one tick"),
        (
            "grid:\n  lower: '0.001'\n  upper: '100'\n  spacing: '1'",
            "markets[0].grid.lower: must be at least one tick",
        ),
        (
            "risk:\n  inventory_limit: '0.000001'",
            "markets[0].risk.inventory_limit: must be at least one step",
        ),
        (
            "budget_quote: '1000.00000000000001'",
            "markets[0].budget_quote: must be a multiple of 0.0000000000001",
        ),
    ],
)
def test_amounts_that_round_to_nothing_or_off_the_atom_are_refused(
    tmp_path: Path, body: str, says: str
) -> None:
    assert says in refusal(tmp_path, market(body))


def test_sim_balance_off_the_quote_atom_is_refused(tmp_path: Path) -> None:
    config = "sim:\n  balances:\n    BTC: '1'\n    USDT: '100000.00000000000001'\n"

    message = refusal(tmp_path, config)

    assert "sim.balances.USDT: must be a multiple of 0.0000000000001" in message
