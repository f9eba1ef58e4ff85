from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from gridmaker.backtest.sweep import SweepError, parse_specs
from gridmaker.config import Config
from gridmaker.config.sweeps import with_settings
from gridmaker.feeds import CandleFeed, FeedError, is_candle_csv


def test_parse_specs_range_and_list_give_their_product() -> None:
    # Act
    combos = parse_specs(["spacing=0.05%..0.5%:10", "levels=10..60:6", "mode=long,neutral"])

    # Assert
    assert len(combos) == 10 * 6 * 2
    assert combos[0] == {"spacing": "0.05%", "levels": "10", "mode": "long"}
    assert {c["spacing"] for c in combos} >= {"0.1%", "0.5%"}
    assert {c["levels"] for c in combos} == {"10", "20", "30", "40", "50", "60"}


def test_parse_specs_unknown_setting_is_refused() -> None:
    # Act / Assert
    with pytest.raises(SweepError, match="unknown sweep setting 'colour'"):
        parse_specs(["colour=red"])


def test_apply_levels_sets_both_sides_of_the_grid() -> None:
    # Act
    config = with_settings(Config(), {"levels": "7", "spacing": "0.3%"})

    # Assert
    grid = config.markets[0].grid
    assert (grid.buy_levels, grid.sell_levels, grid.spacing) == (7, 7, "0.3%")


def test_candle_feed_rising_candle_prints_open_low_high_close(tmp_path: Path) -> None:
    # Arrange
    path = tmp_path / "c.csv"
    path.write_text(
        "timestamp,open,high,low,close,volume\n0,100,110,90,105,8\n60000,105,106,95,96,4\n"
        "120000,96,96,96,96,0\n",
        encoding="utf-8",
    )

    # Act
    trades = list(CandleFeed(path).trades())

    # Assert
    assert is_candle_csv(path)
    assert [t.price for t in trades] == [Decimal(p) for p in (100, 90, 110, 105, 105, 106, 95, 96)]
    assert [t.ts_event for t in trades[:4]] == [0, 15000, 30000, 45000]
    assert trades[0].amount == Decimal(2)


def test_candle_feed_high_below_close_is_refused(tmp_path: Path) -> None:
    # Arrange
    path = tmp_path / "c.csv"
    path.write_text("timestamp,open,high,low,close,volume\n0,100,101,90,105,8\n", encoding="utf-8")

    # Act / Assert
    with pytest.raises(FeedError, match="candle 1"):
        CandleFeed(path)
