"""A bad history file is refused naming the file, the row or column, and the value found."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
import pytest

from gridmaker.feeds import FeedError
from gridmaker.history import csv_files, load_history
from tests.unit.history.trade_files import (
    INSTRUMENT,
    binance_trades,
    nautilus_table,
    ours_table,
    rows,
    write,
)

HEAD = "timestamp,price,amount\n"


def csv_with(row: str, at: int = 3) -> str:
    good = [f"{1_700_000_000_000 + i},50000.{i:02d},0.5\n" for i in range(6)]
    good[at - 1] = row + "\n"
    return HEAD + "".join(good)


def refused(path: Path, **kwargs: object) -> str:
    with pytest.raises(FeedError) as caught:
        load_history(path, INSTRUMENT, **kwargs)  # type: ignore[arg-type]
    return str(caught.value)


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (
            "1700000000002,50000.015,0.5",
            "row 3 (line 4): price 50000.015 is not a multiple of the tick",
        ),
        ("1700000000002,abc,0.5", "row 3 (line 4): invalid price, found 'abc'"),
        ("1700000000002,,0.5", "row 3 (line 4): missing price"),
        ("1700000000002,-5,0.5", "row 3 (line 4): invalid price, found '-5'"),
        ("1700000000002,1e15,0.5", "row 3 (line 4): invalid price"),
        ("1700000000002,50000,0", "row 3 (line 4): invalid amount, found '0'"),
        ("1700000000002,50000,x", "row 3 (line 4): invalid amount, found 'x'"),
        ("1700000000002,50000,1e30", "row 3 (line 4): invalid amount, found '1e30'"),
        ("1700000000002,1e30,1", "row 3 (line 4): invalid price, found '1e30'"),
        ("1700000000002,NaN,1", "row 3 (line 4): invalid price, found 'NaN'"),
        ("x1,50000,1", "row 3 (line 4): invalid timestamp, found 'x1'"),
        ("1600000000000,50000,1", "row 3 (line 4): timestamp goes backwards"),
        ("-1,50000,1", "row 3 (line 4): invalid timestamp, found -1"),
    ],
)
def test_load_history_bad_csv_row_is_refused_naming_file_row_and_value(
    tmp_path: Path, row: str, expected: str
) -> None:
    # Arrange
    path = write(tmp_path, "trades.csv", csv_with(row))

    # Act
    message = refused(path)

    # Assert
    assert message.startswith(str(path)), message
    assert expected in message, message


def test_load_history_off_tick_row_in_a_later_block_is_named_by_its_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Arrange: ~60 bytes a row, 1 KB blocks: row 250 lies in about the 15th block
    monkeypatch.setattr(csv_files, "BLOCK_BYTES", 1000)
    data = rows(400)
    data[249] = (data[249][0], "50000.005", data[249][2])
    path = write(tmp_path, "BTCUSDT-trades-2023-11-14.csv", binance_trades(data))

    # Act
    message = refused(path)

    # Assert
    assert f"{path} row 250 (line 250): price 50000.00500000 is not a multiple" in message


def test_load_history_snap_rounds_off_tick_prices_down_and_counts_them(tmp_path: Path) -> None:
    # Arrange
    text = HEAD + "1,50000.019,1\n2,50000.01,1\n3,49999.999999,1\n"
    path = write(tmp_path, "trades.csv", text)

    # Act
    history = load_history(path, INSTRUMENT, snap=True)

    # Assert
    assert list(history.prices) == [5_000_001, 5_000_001, 4_999_999]
    assert history.snapped == 2


def test_load_history_snap_still_refuses_a_price_that_is_not_a_number(tmp_path: Path) -> None:
    # Arrange
    path = write(tmp_path, "trades.csv", csv_with("1700000000002,50000.5.5,1"))

    # Act / Assert
    assert "row 3 (line 4): invalid price, found '50000.5.5'" in refused(path, snap=True)


def test_load_history_off_tick_nautilus_price_is_refused_naming_the_row(tmp_path: Path) -> None:
    # Arrange
    data = rows(20)
    data[4] = (data[4][0], "50000.0001", data[4][2])
    path = tmp_path / "part-0.parquet"
    pq.write_table(nautilus_table(data), path)

    # Act
    message = refused(path)

    # Assert
    assert "row 5: price 50000.0001 is not a multiple of the tick 0.01" in message


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("t.csv", "timestamp,cost,amount\n1,2,3\n", "missing column 'price'"),
        ("t.csv", "", "empty file"),
        ("t.csv", "\n\n", "empty file"),
        ("t.csv", "1,2,3\n", "has no header and 3 columns"),
        ("t.csv.gz", b"\x1f\x8bnot really gzip", "not a readable gzip file"),
        ("t.zip", b"PK\x03\x04garbage", "not a readable zip file"),
        ("t.parquet", b"PAR1garbage", "not a readable parquet file"),
        ("t.feather", b"ARROW1garbage", "not a readable feather file"),
        ("t.csv", b"\xff\xfe\x00bin", "not UTF-8 text"),
    ],
)
def test_load_history_unreadable_file_is_refused_naming_the_file(
    tmp_path: Path, name: str, content: str | bytes, expected: str
) -> None:
    # Arrange
    path = write(tmp_path, name, content)

    # Act
    message = refused(path)

    # Assert
    assert str(path) in message and expected in message, message


def test_load_history_parquet_without_price_column_names_the_column(tmp_path: Path) -> None:
    # Arrange
    path = tmp_path / "trades.parquet"
    pq.write_table(ours_table(rows(5)).drop_columns(["price"]), path)

    # Act
    message = refused(path)

    # Assert
    assert f"{path}: missing column 'price'" in message


def test_load_history_truncated_gzip_is_refused_naming_the_file(tmp_path: Path) -> None:
    # Arrange: a valid gzip cut in half
    whole = gzip.compress((HEAD + "1,50000,1\n" * 5000).encode())
    path = write(tmp_path, "trades.csv.gz", whole[: len(whole) // 2])

    # Act
    message = refused(path)

    # Assert
    assert str(path) in message and "not a readable gzip file" in message


def test_load_history_empty_parquet_is_refused(tmp_path: Path) -> None:
    # Arrange
    out = io.BytesIO()
    pq.write_table(ours_table(rows(5)).slice(0, 0), out)
    path = write(tmp_path, "trades.parquet", out.getvalue())

    # Act / Assert
    assert "empty file" in refused(path)


def test_load_history_json_is_left_to_the_recorded_trade_reader(tmp_path: Path) -> None:
    # Arrange
    path = write(tmp_path, "t.json", "[]")

    # Act / Assert
    assert "recorded-trade reader" in refused(path)


def test_load_history_nautilus_null_price_is_refused_as_missing(tmp_path: Path) -> None:
    # Arrange
    table = nautilus_table(rows(4))
    prices = table.column("price").to_pylist()
    prices[1] = None
    index = table.schema.get_field_index("price")
    table = table.set_column(index, "price", pa.array(prices, pa.binary(8)))
    path = tmp_path / "part-0.parquet"
    pq.write_table(table, path)

    # Act / Assert
    assert "row 2: missing price" in refused(path)


def test_load_history_exponents_and_spaces_are_read_exactly_row_by_row(tmp_path: Path) -> None:
    # Arrange: text Arrow's cast would scale past 128 bits is read as Decimal instead
    text = HEAD + "1,5e4,1e-3\n2, 50000.01 ,0.000001\n3,5.000002E+4,2E+1\n"
    path = write(tmp_path, "trades.csv", text)

    # Act
    history = load_history(path, INSTRUMENT)

    # Assert
    assert list(history.prices) == [5_000_000, 5_000_001, 5_000_002]
    assert list(history.amounts) == [100, 0, 2_000_000]
