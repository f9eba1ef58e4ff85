"""A market's lifecycle keys: ``trigger_price`` on the tick, ``compound`` into the strategy."""

from __future__ import annotations

from pathlib import Path

from gridmaker.config import book_setup, sim_instrument
from tests.unit.config.files import load, market, refusal


def test_trigger_price_on_the_tick_becomes_the_setups_trigger_ticks(tmp_path: Path) -> None:
    # Arrange
    config = load(tmp_path, market('trigger_price: "49000.5"\ncompound: true'))

    # Act
    setup = book_setup(config.markets[0], sim_instrument(config, "BTC/USDT"))

    # Assert: 0.01 ticks
    assert setup.trigger_ticks == 4_900_050
    assert setup.params.compound is True


def test_market_without_lifecycle_keys_starts_at_once_without_compounding(
    tmp_path: Path,
) -> None:
    # Arrange
    config = load(tmp_path, market('order_size: "0.001"'))

    # Act
    setup = book_setup(config.markets[0], sim_instrument(config, "BTC/USDT"))

    # Assert
    assert setup.trigger_ticks == 0
    assert setup.params.compound is False


def test_trigger_price_outside_the_bounded_range_is_refused_naming_both(tmp_path: Path) -> None:
    # Act
    text = refusal(
        tmp_path, market('trigger_price: "70000"\ngrid: {lower: "40000", upper: "60000"}')
    )

    # Assert
    assert "trigger_price must be within the grid's range" in text
    assert "(40000 .. 60000); was 70000" in text


def test_trigger_price_inside_the_bounded_range_is_taken(tmp_path: Path) -> None:
    # Act
    config = load(
        tmp_path, market('trigger_price: "45000"\ngrid: {lower: "40000", upper: "60000"}')
    )

    # Assert
    assert str(config.markets[0].trigger_price) == "45000"


def test_trigger_price_off_the_tick_is_refused_naming_the_tick(tmp_path: Path) -> None:
    # Act
    text = refusal(tmp_path, market('trigger_price: "49000.001"'))

    # Assert
    assert "markets[0].trigger_price: must be a multiple of" in text
    assert "tick_size 0.01; was 49000.001" in text


def test_trigger_price_not_positive_is_refused(tmp_path: Path) -> None:
    # Act
    text = refusal(tmp_path, market('trigger_price: "0"'))

    # Assert
    assert "trigger_price" in text


def test_triggered_grid_is_checked_at_its_trigger_not_the_feeds_start(tmp_path: Path) -> None:
    # Arrange: 40 levels 0.1 apart fit below 50000 but not below a trigger of 3.
    body = 'trigger_price: "3"\ngrid: {spacing: "0.1", buy_levels: 40, sell_levels: 2}'

    # Act
    text = refusal(tmp_path, market(body))

    # Assert
    assert "grid.buy_levels" in text
    assert "first price 3 " in text
