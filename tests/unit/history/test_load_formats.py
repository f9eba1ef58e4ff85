"""Every format the history loader reads gives the ticks, steps and stamps today's reader gives."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from pathlib import Path

import pytest

from gridmaker.backtest.series import series_from_feed
from gridmaker.feeds import ReplayFeed
from gridmaker.history import csv_files, detect_format, load_history
from tests.unit.history.trade_files import INSTRUMENT, WRITERS, ours_json, rows, write

DATA = rows()


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[int], list[int], list[int]]:
    path = write(tmp_path_factory.mktemp("ref"), "trades.json", ours_json(DATA))
    series = series_from_feed(ReplayFeed(path), INSTRUMENT, None)
    assert series.amounts is not None and series.ts_event is not None
    return list(series.prices), list(series.amounts), list(series.ts_event)


@pytest.mark.parametrize("layout", sorted(WRITERS))
def test_load_history_each_format_equals_todays_reader_exactly(
    tmp_path: Path, layout: str, reference: tuple[list[int], list[int], list[int]]
) -> None:
    # Arrange
    name, writer = WRITERS[layout]
    path = write(tmp_path, name, writer(DATA))

    # Act
    history = load_history(path, INSTRUMENT)

    # Assert
    prices, amounts, stamps = reference
    assert list(history.prices) == prices
    assert list(history.amounts) == amounts
    assert list(history.ts_ms) == stamps
    assert history.snapped == 0


@pytest.mark.parametrize("layout", ["ours-csv", "binance-trades", "ours-parquet"])
def test_load_history_limit_reads_only_the_first_trades(
    tmp_path: Path, layout: str, reference: tuple[list[int], list[int], list[int]]
) -> None:
    # Arrange
    name, writer = WRITERS[layout]
    path = write(tmp_path, name, writer(DATA))

    # Act
    history = load_history(path, INSTRUMENT, limit=777)

    # Assert
    assert list(history.prices) == reference[0][:777]


def test_load_history_small_blocks_give_the_same_arrays(
    tmp_path: Path,
    reference: tuple[list[int], list[int], list[int]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Arrange: blocks of ~1 KB, so a line and a header fall across block edges
    monkeypatch.setattr(csv_files, "BLOCK_BYTES", 1000)
    name, writer = WRITERS["binance-trades-header"]
    path = write(tmp_path, name, writer(DATA))

    # Act
    history = load_history(path, INSTRUMENT)

    # Assert
    assert list(history.prices) == reference[0]
    assert list(history.ts_ms) == reference[2]


@pytest.mark.parametrize(
    ("tick", "expected"),
    [
        ("0.5", [100_000, 100_020]),
        ("10", [5_000, 5_001]),
        ("0.00000001", [5_000_000_000_000, 5_001_000_000_000]),
    ],
)
def test_load_history_tick_not_a_power_of_ten_counts_whole_ticks(
    tmp_path: Path, tick: str, expected: list[int]
) -> None:
    # Arrange
    path = write(tmp_path, "t.csv", "timestamp,price,amount\n1,50000.0,1\n2,50010,1\n")
    inst = dataclasses.replace(INSTRUMENT, tick_size=Decimal(tick))

    # Act
    history = load_history(path, inst)

    # Assert
    assert list(history.prices) == expected


@pytest.mark.parametrize(
    ("name", "head", "expected"),
    [
        ("x.parquet", b"PAR1", ("parquet", "")),
        ("x.bin", b"PAR1", ("parquet", "")),
        ("x.dat", b"ARROW1\x00\x00", ("feather", "")),
        ("x.feather", b"ARROW1\x00\x00", ("feather", "")),
        ("x.csv.gz", b"\x1f\x8b", ("csv", "gzip")),
        ("x.json.gz", b"\x1f\x8b", ("json", "gzip")),
        ("x.zip", b"PK\x03\x04", ("csv", "zip")),
        ("x.txt", b"  [", ("json", "")),
        ("x.txt", b"1,2,3", ("csv", "")),
    ],
)
def test_detect_format_reads_magic_bytes_then_the_name(
    tmp_path: Path, name: str, head: bytes, expected: tuple[str, str]
) -> None:
    # Arrange
    path = write(tmp_path, name, head)

    # Act / Assert
    assert detect_format(path) == expected
