"""Numbers and percents as typed: finite, bounded, exact, and shown back plainly."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.config.files import market, refusal


@pytest.mark.parametrize("spacing", ["NaN", "inf", "-inf", "'-5'", "'0'", "'-1%'", "abc"])
def test_spacing_not_a_positive_number_is_refused(tmp_path: Path, spacing: str) -> None:
    message = refusal(tmp_path, market(f"grid:\n  spacing: {spacing}"))

    assert "markets[0].grid.spacing: must be a percent like '0.25%' or a price > 0" in message


@pytest.mark.parametrize("spacing", [".nan", ".inf", "-.inf"])
def test_spacing_as_a_yaml_float_that_is_not_finite_is_refused(
    tmp_path: Path, spacing: str
) -> None:
    message = refusal(tmp_path, market(f"grid:\n  spacing: {spacing}"))

    assert "markets[0].grid.spacing: must be a finite decimal number" in message


@pytest.mark.parametrize("percent", ["'0%'", "'100%'", "'0.00001%'", "'150%'"])
def test_percent_spacing_out_of_range_or_too_precise_is_refused(tmp_path: Path, percent: str):
    message = refusal(tmp_path, market(f"grid:\n  spacing: {percent}"))

    assert (
        "markets[0].grid.spacing: must be a percent in (0%, 100%) with at most 4 decimals"
        in message
    )


@pytest.mark.parametrize("size", ["1e999999", "'1E+400'", "'-1e999999'", "10" + "0" * 30])
def test_order_size_beyond_any_sane_bound_is_refused(tmp_path: Path, size: str) -> None:
    message = refusal(tmp_path, market(f"order_size: {size}"))

    assert "markets[0].order_size: must be below 1000000000000000" in message


def test_tick_size_with_too_many_decimals_is_refused_plainly(tmp_path: Path) -> None:
    config = "sim:\n  instruments:\n    BTC/USDT:\n      tick_size: 1E-30\n"

    message = refusal(tmp_path, config)

    assert "sim.instruments.BTC/USDT.tick_size: must have at most 18 decimal places" in message
    assert "was 0.000000000000000000000000000001" in message
    assert "E-30" not in message


def test_messages_show_decimals_plain_never_in_exponent_form(tmp_path: Path) -> None:
    message = refusal(tmp_path, market("order_size: '1.5E-5'\ngrid:\n  spacing: '1E-3'"))

    assert "was 0.000015" in message
    assert "was 0.001" in message
    assert "E-" not in message
