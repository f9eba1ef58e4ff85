"""Every config mistake is a ``ConfigError`` naming the field, the value and what is allowed."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from gridmaker.config import (
    Config,
    ConfigError,
    MarketConfig,
    book_setup_args,
    load_config,
    parse_config,
)
from tests import kit


def _load(tmp_path: Path, text: str | bytes, **overrides: object) -> Config:
    path = tmp_path / "c.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return load_config(path, overrides or None)


def _refusal(tmp_path: Path, text: str | bytes, **overrides: object) -> str:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, text, **overrides)
    return " ".join(str(caught.value).split())


def _market(body: str) -> str:
    """A config of one market whose settings are ``body`` (lines indented under ``- ``)."""
    return "markets:\n  - symbol: BTC/USDT\n" + "".join(
        f"    {line}\n" for line in body.splitlines()
    )


# --- values the core's integer units cannot hold ---------------------------------------------


def test_order_size_off_the_step_is_refused_naming_the_field_and_the_step(tmp_path: Path) -> None:
    message = _refusal(tmp_path, _market("order_size: '0.000015'"))

    assert "markets[0].order_size: must be a multiple of" in message
    assert "step_size 0.00001; was 0.000015" in message


@pytest.mark.parametrize("spacing", ["NaN", "inf", "-inf", "'-5'", "'0'", "'-1%'", "abc"])
def test_spacing_not_a_positive_number_is_refused(tmp_path: Path, spacing: str) -> None:
    message = _refusal(tmp_path, _market(f"grid:\n  spacing: {spacing}"))

    assert "markets[0].grid.spacing: must be a percent like '0.25%' or a price > 0" in message


@pytest.mark.parametrize("spacing", [".nan", ".inf", "-.inf"])
def test_spacing_as_a_yaml_float_that_is_not_finite_is_refused(
    tmp_path: Path, spacing: str
) -> None:
    message = _refusal(tmp_path, _market(f"grid:\n  spacing: {spacing}"))

    assert "markets[0].grid.spacing: must be a finite decimal number" in message


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
    message = _refusal(tmp_path, _market(f"grid:\n  spacing: {spacing}"))

    assert f"markets[0].grid.spacing: {says}" in message


@pytest.mark.parametrize("percent", ["'0%'", "'100%'", "'0.00001%'", "'150%'"])
def test_percent_spacing_out_of_range_or_too_precise_is_refused(tmp_path: Path, percent: str):
    message = _refusal(tmp_path, _market(f"grid:\n  spacing: {percent}"))

    assert (
        "markets[0].grid.spacing: must be a percent in (0%, 100%) with at most 4 decimals"
        in message
    )


def test_geometric_grid_with_an_absolute_spacing_is_refused(tmp_path: Path) -> None:
    message = _refusal(tmp_path, _market("grid:\n  kind: geometric\n  spacing: '50'"))

    assert "markets[0].grid.spacing: a geometric grid takes a percent" in message


@pytest.mark.parametrize("size", ["1e999999", "'1E+400'", "'-1e999999'", "10" + "0" * 30])
def test_order_size_beyond_any_sane_bound_is_refused(tmp_path: Path, size: str) -> None:
    message = _refusal(tmp_path, _market(f"order_size: {size}"))

    assert "markets[0].order_size: must be below 1000000000000000" in message


def test_tick_size_with_too_many_decimals_is_refused_plainly(tmp_path: Path) -> None:
    config = "sim:\n  instruments:\n    BTC/USDT:\n      tick_size: 1E-30\n"

    message = _refusal(tmp_path, config)

    assert "sim.instruments.BTC/USDT.tick_size: must have at most 18 decimal places" in message
    assert "was 0.000000000000000000000000000001" in message
    assert "E-30" not in message


def test_tick_size_too_fine_for_the_price_is_refused_before_the_store_overflows(
    tmp_path: Path,
) -> None:
    # Arrange: 50,000 at a tick of 1e-18 is 5e22 ticks, beyond SQLite's 64-bit integers.
    config = "sim:\n  instruments:\n    BTC/USDT:\n      tick_size: '0.000000000000000001'\n"

    # Act
    message = _refusal(tmp_path, config)

    # Assert
    assert "markets[0]: an order of 0.001 at the first price 50000 is more than" in message
    assert "64-bit integers" in message
    assert "tick_size 0.000000000000000001" in message


def test_geometric_levels_beyond_the_store_say_how_many_fit(tmp_path: Path) -> None:
    # 10,000 levels 1 % apart above 50,000: 1.01**10000 times the price.
    message = _refusal(
        tmp_path,
        _market(
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

    message = _refusal(tmp_path, _market(grid))

    assert "markets[0].grid.buy_levels: 10000" in message
    assert "the lowest level must stay above zero" in message
    assert f"at most {fit} fit; was 10000" in message


def test_bounded_range_holding_fewer_than_two_levels_is_refused(tmp_path: Path) -> None:
    grid = "grid:\n  spacing: '100'\n  lower: '50000'\n  upper: '50050'"

    message = _refusal(tmp_path, _market(grid))

    assert "markets[0].grid: the range 50000 .. 50050 does not hold a grid" in message


def test_start_price_off_the_tick_is_refused_naming_the_field(tmp_path: Path) -> None:
    message = _refusal(tmp_path, "feed:\n  start_price: '50000.005'\n")

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
    assert says in _refusal(tmp_path, _market(body))


def test_sim_balance_off_the_quote_atom_is_refused(tmp_path: Path) -> None:
    config = "sim:\n  balances:\n    BTC: '1'\n    USDT: '100000.00000000000001'\n"

    message = _refusal(tmp_path, config)

    assert "sim.balances.USDT: must be a multiple of 0.0000000000001" in message


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
        (_market("risk:\n  fast_move_window_s: 99999999999"), "must be <= 31622400"),
        (_market("risk:\n  fast_move: '150%'"), "markets[0].risk.fast_move: must be a percent"),
        (_market("risk:\n  crash_volume_multiple: '1.0000001'"), "must have at most 6 decimals"),
        (_market("grid:\n  buy_levels: 0"), "markets[0].grid.buy_levels: must be >= 1; was 0"),
        (_market("grid:\n  buy_levels: ten"), "must be a whole number; was 'ten'"),
        (_market("grid:\n  trailing: maybe"), "markets[0].grid.trailing: must be true or false"),
        (_market("mode: sideways"), "markets[0].mode: must be one of 'long' or 'neutral'"),
        (_market("order_size: 0.001"), "write decimal numbers as quoted text, e.g. '0.001'"),
        (_market("order_size: 0.00001"), "e.g. '0.00001'"),
        (_market("order_size: true"), "markets[0].order_size: must be a decimal number"),
        (_market("order_size: '-1'"), "markets[0].order_size: must be > 0; was -1"),
        (_market("strategy_id: ABC!"), "markets[0].strategy_id: must be 1 to 8 of [a-z0-9]"),
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
    assert says in _refusal(tmp_path, config)


def test_messages_show_decimals_plain_never_in_exponent_form(tmp_path: Path) -> None:
    message = _refusal(tmp_path, _market("order_size: '1.5E-5'\ngrid:\n  spacing: '1E-3'"))

    assert "was 0.000015" in message
    assert "was 0.001" in message
    assert "E-" not in message


# --- seeds -------------------------------------------------------------------------------------


def test_negative_seed_in_the_file_is_refused(tmp_path: Path) -> None:
    assert "feed.seed: must be >= 0; was -1" in _refusal(tmp_path, "feed:\n  seed: -1\n")


def test_negative_seed_from_the_command_line_is_refused(tmp_path: Path) -> None:
    message = _refusal(tmp_path, "feed:\n  seed: 3\n", feed={"seed": -1})

    assert "c.yaml and options" in message
    assert "feed.seed: must be >= 0; was -1" in message


# --- the file itself ---------------------------------------------------------------------------


def test_duplicate_key_is_refused_naming_the_key_and_both_lines(tmp_path: Path) -> None:
    config = "markets:\n  - symbol: BTC/USDT\n    order_size: '0.001'\n    order_size: '0.002'\n"

    message = _refusal(tmp_path, config)

    assert "key 'order_size' appears twice in one mapping (lines 3 and 4)" in message


def test_duplicate_top_level_key_is_refused(tmp_path: Path) -> None:
    message = _refusal(tmp_path, "engine: simple\nreconcile_every: 5\nengine: durable\n")

    assert "key 'engine' appears twice in one mapping (lines 1 and 3)" in message


def test_same_key_in_different_mappings_and_merge_overrides_are_accepted(tmp_path: Path) -> None:
    config = (
        "grid_defaults: &grid\n  spacing: '1%'\n  buy_levels: 5\n"
        "markets:\n  - symbol: BTC/USDT\n    grid:\n      <<: *grid\n      buy_levels: 6\n"
        "  - symbol: ETH/USDT\n    grid:\n      <<: *grid\n"
    )

    # grid_defaults is not a setting: the anchors load, the unknown key is what is refused.
    message = _refusal(tmp_path, config)

    assert "appears twice" not in message
    assert "grid_defaults: unknown key" in message


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
    message = _refusal(tmp_path, config)

    assert where in message
    assert "SUPERSECRET42" not in message
    if "balances" not in where:
        assert "GRIDMAKER_API_KEY and GRIDMAKER_API_SECRET in the environment" in message


def test_unknown_key_suggests_the_close_one_and_lists_the_allowed(tmp_path: Path) -> None:
    message = _refusal(tmp_path, _market("grid:\n  spacng: '1%'"))

    assert "markets[0].grid.spacng: unknown key (did you mean 'spacing'?)" in message
    assert "allowed here: kind, spacing, buy_levels" in message


def test_thousands_of_problems_are_capped_to_the_first_ten(tmp_path: Path) -> None:
    config = "".join(f"key{i}: {i}\n" for i in range(5000))

    message = _refusal(tmp_path, config)

    assert "key9: unknown key" in message
    assert "key10:" not in message
    assert "... and 4990 more problems" in message
    assert len(message) < 5000


def test_file_that_is_not_utf8_is_refused_naming_the_file(tmp_path: Path) -> None:
    message = _refusal(tmp_path, b"engine: simple\nexchange: \xff\xfe\n")

    assert "c.yaml must be UTF-8 YAML text: byte 0xff at offset 25" in message


@pytest.mark.parametrize("text", ["", "\n\n", "# nothing but a comment\n"])
def test_empty_file_is_refused(tmp_path: Path, text: str) -> None:
    assert "c.yaml is empty (or only comments); write '{}'" in _refusal(tmp_path, text)


@pytest.mark.parametrize(
    ("text", "was"), [("- engine\n- simple\n", "a list"), ("simple\n", "'simple'"), ("5\n", "5")]
)
def test_top_level_that_is_not_a_mapping_is_refused(tmp_path: Path, text: str, was: str) -> None:
    message = _refusal(tmp_path, text)

    assert (
        f"the top level must be a mapping of settings (engine:, markets:, ...); was {was}"
        in message
    )


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
    assert says in _refusal(tmp_path, text)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("a: b: c\n", "mapping values are not allowed in this context at line 1, column 5"),
        ("markets:\n  - grid: [1, 2\n", "at line 3, column 1"),
        ("markets:\n\t- x\n", "at line 2, column 1 (a tab: YAML indents with spaces only)"),
        ("feed:\n  seed: 2020-13-45\n", "holds a value YAML cannot read"),
    ],
)
def test_yaml_syntax_error_names_line_and_column(tmp_path: Path, text: str, says: str) -> None:
    message = _refusal(tmp_path, text)

    assert "c.yaml" in message
    assert says in message


def test_missing_file_and_directory_are_refused_naming_them(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"config file .*nope\.yaml does not exist"):
        load_config(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match=r"is a directory; --config takes a YAML file"):
        load_config(tmp_path)


# --- what still works --------------------------------------------------------------------------


def test_defaults_and_a_typical_config_load(tmp_path: Path) -> None:
    config = _load(
        tmp_path,
        "\ufeffmarkets:\n  - symbol: BTC/USDT\n    order_size: '0.002'\n    grid:\n"
        "      spacing: 50\n      lower: '40000'\n      upper: '60000'\n",
    )

    assert load_config(None) == parse_config({})
    assert config.markets[0].grid.spacing_value() == (Decimal(50), 0)


def test_venue_instrument_at_boot_is_checked_like_the_sim_one() -> None:
    # Arrange: a real venue's rules arrive at boot: a step of 0.0001 does not hold 0.00015.
    market = MarketConfig(order_size=Decimal("0.00015"))
    instrument = kit.instrument(step_size=Decimal("0.0001"), min_qty=Decimal("0.0001"))

    # Act / Assert
    with pytest.raises(
        ConfigError, match=r"order_size: must be a multiple of the venue's BTC/USDT"
    ):
        book_setup_args(market, instrument)


def test_venue_rules_too_fine_to_count_are_refused_not_raised() -> None:
    # Arrange: a venue listing a tick and step of 1e-90 (an atom of 1e-186 quote).
    tiny = Decimal("1e-90")
    instrument = kit.instrument(tick_size=tiny, step_size=tiny, min_qty=tiny)
    market = MarketConfig(budget_quote=Decimal("1000"))

    # Act / Assert
    with pytest.raises(ConfigError, match=r"budget_quote: must be a multiple of"):
        book_setup_args(market, instrument)


def test_options_without_a_file_are_named_as_the_source() -> None:
    with pytest.raises(ConfigError, match=r"invalid config in the command-line options:"):
        load_config(None, {"feed": {"seed": -1}})
