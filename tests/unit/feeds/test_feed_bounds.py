"""Recorded feeds refuse values no market prints, up front, naming the file, row and value."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from gridmaker.feeds import CandleFeed, FeedError, ReplayFeed

HEADER = "timestamp,price,amount\n"
CANDLES = "timestamp,open,high,low,close,volume\n"


@pytest.mark.parametrize(
    ("name", "text", "pieces"),
    [
        ("huge-price", HEADER + "1,50000,1\n2,1e400,1\n", ["row 2", "line 3", "price", "1e400"]),
        ("huge-amount", HEADER + "1,50000,1e20\n", ["row 1", "amount", "1e20"]),
        ("far-timestamp", HEADER + "99999999999999999,50000,1\n", ["row 1", "timestamp"]),
        ("json-huge-price", '[{"timestamp": 1, "price": 1e400, "amount": 1}]', ["row 1", "1E+400"]),
    ],
)
def test_replay_value_beyond_any_market_raises_naming_row(
    tmp_path: Path, name: str, text: str, pieces: list[str]
) -> None:
    # Arrange
    path = tmp_path / (f"{name}.json" if text.startswith("[") else f"{name}.csv")
    path.write_text(text, encoding="utf-8")

    # Act
    with pytest.raises(FeedError) as caught:
        ReplayFeed(path)

    # Assert
    message = str(caught.value)
    assert str(path) in message
    for piece in pieces:
        assert piece in message


def test_replay_off_tick_price_raises_naming_file_row_and_line(tmp_path: Path) -> None:
    # Arrange
    path = tmp_path / "trades.csv"
    path.write_text(HEADER + "1,50000,1\n\n2,50000.001,1\n", encoding="utf-8")
    feed = ReplayFeed(path)

    # Act
    with pytest.raises(FeedError) as caught:
        feed.check_tick(Decimal("0.01"))

    # Assert
    assert str(caught.value) == (
        f"{path} row 2 (line 4): price 50000.001 is not a multiple of the tick 0.01"
    )


def test_replay_on_tick_prices_pass_the_tick_check(tmp_path: Path) -> None:
    # Arrange
    path = tmp_path / "trades.csv"
    path.write_text(HEADER + "1,50000,1\n2,123456789012345.5,1\n", encoding="utf-8")

    # Act
    ReplayFeed(path).check_tick(Decimal("0.5"))

    # Assert: no error; a tiny tick with a large price needs more than 28 digits
    ReplayFeed(path).check_tick(Decimal("1e-20"))


def test_candles_huge_price_raises_naming_candle(tmp_path: Path) -> None:
    # Arrange
    path = tmp_path / "candles.csv"
    path.write_text(CANDLES + "0,1,1,1,1,1\n60000,1,1e400,1,1,1\n", encoding="utf-8")

    # Act
    with pytest.raises(FeedError) as caught:
        CandleFeed(path)

    # Assert
    assert "candle 2 (line 3)" in str(caught.value) and "1e400" in str(caught.value)


def test_candles_off_tick_price_raises_naming_candle_and_line(tmp_path: Path) -> None:
    # Arrange
    path = tmp_path / "candles.csv"
    path.write_text(CANDLES + "0,10,11,9,10,4\n60000,10,10.005,9,10,4\n", encoding="utf-8")
    feed = CandleFeed(path)

    # Act
    with pytest.raises(FeedError) as caught:
        feed.check_tick(Decimal("0.01"))

    # Assert
    assert str(caught.value) == (
        f"{path} candle 2 (line 3): price 10.005 is not a multiple of the tick 0.01"
    )
