"""The file itself: UTF-8, each key once, YAML errors with line and column, options."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from gridmaker.config import ConfigError, load_config, parse_config
from tests.unit.config.files import load, refusal


def test_negative_seed_from_the_command_line_is_refused(tmp_path: Path) -> None:
    message = refusal(tmp_path, "feed:\n  seed: 3\n", feed={"seed": -1})

    assert "c.yaml and options" in message
    assert "feed.seed: must be >= 0; was -1" in message


def test_duplicate_key_is_refused_naming_the_key_and_both_lines(tmp_path: Path) -> None:
    config = "markets:\n  - symbol: BTC/USDT\n    order_size: '0.001'\n    order_size: '0.002'\n"

    message = refusal(tmp_path, config)

    assert "key 'order_size' appears twice in one mapping (lines 3 and 4)" in message


def test_duplicate_top_level_key_is_refused(tmp_path: Path) -> None:
    message = refusal(tmp_path, "engine: simple\nreconcile_every: 5\nengine: durable\n")

    assert "key 'engine' appears twice in one mapping (lines 1 and 3)" in message


def test_same_key_in_different_mappings_and_merge_overrides_are_accepted(tmp_path: Path) -> None:
    config = (
        "grid_defaults: &grid\n  spacing: '1%'\n  buy_levels: 5\n"
        "markets:\n  - symbol: BTC/USDT\n    grid:\n      <<: *grid\n      buy_levels: 6\n"
        "  - symbol: ETH/USDT\n    grid:\n      <<: *grid\n"
    )

    # grid_defaults is not a setting: the anchors load, the unknown key is what is refused.
    message = refusal(tmp_path, config)

    assert "appears twice" not in message
    assert "grid_defaults: unknown key" in message


def test_file_that_is_not_utf8_is_refused_naming_the_file(tmp_path: Path) -> None:
    message = refusal(tmp_path, b"engine: simple\nexchange: \xff\xfe\n")

    assert "c.yaml must be UTF-8 YAML text: byte 0xff at offset 25" in message


@pytest.mark.parametrize("text", ["", "\n\n", "# nothing but a comment\n"])
def test_empty_file_is_refused(tmp_path: Path, text: str) -> None:
    assert "c.yaml is empty (or only comments); write '{}'" in refusal(tmp_path, text)


@pytest.mark.parametrize(
    ("text", "was"), [("- engine\n- simple\n", "a list"), ("simple\n", "'simple'"), ("5\n", "5")]
)
def test_top_level_that_is_not_a_mapping_is_refused(tmp_path: Path, text: str, was: str) -> None:
    message = refusal(tmp_path, text)

    assert (
        f"the top level must be a mapping of settings (engine:, markets:, ...); was {was}"
        in message
    )


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
    message = refusal(tmp_path, text)

    assert "c.yaml" in message
    assert says in message


def test_missing_file_and_directory_are_refused_naming_them(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"config file .*nope\.yaml does not exist"):
        load_config(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match=r"is a directory; --config takes a YAML file"):
        load_config(tmp_path)


def test_defaults_and_a_typical_config_load(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        "\ufeffmarkets:\n  - symbol: BTC/USDT\n    order_size: '0.002'\n    grid:\n"
        "      spacing: 50\n      lower: '40000'\n      upper: '60000'\n",
    )

    assert load_config(None) == parse_config({})
    assert config.markets[0].grid.spacing_value() == (Decimal(50), 0)


def test_options_without_a_file_are_named_as_the_source() -> None:
    with pytest.raises(ConfigError, match=r"invalid config in the command-line options:"):
        load_config(None, {"feed": {"seed": -1}})
