"""Pydantic's errors in the user's words: the field, the rule, the value (never a secret)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.config.files import market, refusal


@pytest.mark.parametrize(
    ("config", "says"),
    [
        ("sim:\n  balances:\n    USDT: '-5'\n", "sim.balances.USDT: must be >= 0; was -5"),
        (
            "sim:\n  instruments:\n    BTC/USDT:\n      maker_fee: '0.0000001'\n",
            "sim.instruments.BTC/USDT.maker_fee: must have at most 6 decimals",
        ),
        (
            "sim:\n  instruments:\n    BTC/USDT:\n      taker_fee: '1'\n",
            "sim.instruments.BTC/USDT.taker_fee: must be < 1; was 1",
        ),
        (market("risk:\n  fast_move_window_s: 99999999999"), "must be <= 31622400"),
        (market("risk:\n  fast_move: '150%'"), "markets[0].risk.fast_move: must be a percent"),
        (market("risk:\n  crash_volume_multiple: '1.0000001'"), "must have at most 6 decimals"),
        (market("grid:\n  buy_levels: 0"), "markets[0].grid.buy_levels: must be >= 1; was 0"),
        (market("grid:\n  buy_levels: ten"), "must be a whole number; was 'ten'"),
        (market("grid:\n  trailing: maybe"), "markets[0].grid.trailing: must be true or false"),
        (market("mode: sideways"), "markets[0].mode: must be one of 'long' or 'neutral'"),
        (market("order_size: 0.001"), "write decimal numbers as quoted text, e.g. '0.001'"),
        (market("order_size: 0.00001"), "e.g. '0.00001'"),
        (market("order_size: true"), "markets[0].order_size: must be a decimal number"),
        (market("order_size: '-1'"), "markets[0].order_size: must be > 0; was -1"),
        (market("strategy_id: ABC!"), "markets[0].strategy_id: must be 1 to 8 of [a-z0-9]"),
        ("markets:\n  - symbol: btc-usdt\n", "markets[0].symbol: must match the pattern"),
        ("markets: []\n", "markets: must have at least 1 item(s)"),
        ("reconcile_every: 0\n", "reconcile_every: must be >= 1; was 0"),
        ("chaos:\n  kinds: [nope]\n", "chaos.kinds: must be fault kinds from"),
        ("feed:\n  kind: file\n", "feed: feed kind 'file' needs a path"),
        ("feed:\n  drift: '5'\n", "feed.drift: must be <= 1; was 5"),
        ("engine: fast\n", "engine: must be one of 'simple' or 'durable'; was 'fast'"),
    ],
)
def test_each_field_type_names_the_field_the_rule_and_the_value(
    tmp_path: Path, config: str, says: str
) -> None:
    assert says in refusal(tmp_path, config)


def test_negative_seed_in_the_file_is_refused(tmp_path: Path) -> None:
    assert "feed.seed: must be >= 0; was -1" in refusal(tmp_path, "feed:\n  seed: -1\n")


@pytest.mark.parametrize(
    ("config", "where"),
    [
        ("exchange: binance\nvenue:\n  api_key: SUPERSECRET42\n", "venue.api_key"),
        ("exchange: binance\nvenue:\n  secret: SUPERSECRET42\n", "venue.secret"),
        ("apiKey: SUPERSECRET42\n", "apiKey"),
        ("api_secret: SUPERSECRET42\n", "api_secret"),
        ("markets:\n  - password: SUPERSECRET42\n", "markets[0].password"),
        ("sim:\n  balances:\n    api_key: SUPERSECRET42\n", "sim.balances.api_key"),
    ],
)
def test_api_key_in_the_config_points_to_the_environment_without_echoing_it(
    tmp_path: Path, config: str, where: str
) -> None:
    message = refusal(tmp_path, config)

    assert where in message
    assert "SUPERSECRET42" not in message
    if "balances" not in where:
        assert "GRIDMAKER_API_KEY and GRIDMAKER_API_SECRET in the environment" in message


def test_unknown_key_suggests_the_close_one_and_lists_the_allowed(tmp_path: Path) -> None:
    message = refusal(tmp_path, market("grid:\n  spacng: '1%'"))

    assert "markets[0].grid.spacng: unknown key (did you mean 'spacing'?)" in message
    assert "allowed here: kind, spacing, buy_levels" in message


def test_thousands_of_problems_are_capped_to_the_first_ten(tmp_path: Path) -> None:
    config = "".join(f"key{i}: {i}\n" for i in range(5000))

    message = refusal(tmp_path, config)

    assert "key9: unknown key" in message
    assert "key10:" not in message
    assert "... and 4990 more problems" in message
    assert len(message) < 5000


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("markets: 5\n", "markets: must be a list (lines starting with '- '); was 5"),
        ("markets:\n  - grid: 5\n", "markets[0].grid: must be a mapping"),
        ("feed: random\n", "feed: must be a mapping"),
    ],
)
def test_scalar_where_a_mapping_or_list_is_expected_is_refused(
    tmp_path: Path, text: str, says: str
) -> None:
    assert says in refusal(tmp_path, text)
