"""``gridmaker backtest`` on history files: every format gives today's fills, ``--snap``, sweeps."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.kit.cli import gridmaker, last_json
from tests.unit.history.trade_files import WRITERS, ours_json, rows, write

pytestmark = pytest.mark.e2e

TIMING = {"elapsed_s", "load_s", "ticks_per_s"}
DATA = rows(1500)


def summary(*args: str, cwd: Path) -> dict[str, Any]:
    result = gridmaker("backtest", *args, "--json", cwd=cwd)
    assert result.returncode == 0, result.stderr
    return {k: v for k, v in last_json(result).items() if k not in TIMING}


@pytest.fixture(scope="module")
def todays(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The summary through today's recorded-trade reader (JSON)."""
    work = tmp_path_factory.mktemp("json")
    write(work, "trades.json", ours_json(DATA))
    return summary("--feed", "trades.json", cwd=work)


@pytest.mark.parametrize(
    "layout", ["binance-trades-zip", "binance-agg-trades", "freqtrade-feather", "ours-parquet",
               "nautilus-parquet-64"],
)  # fmt: skip
def test_backtest_history_file_gives_the_same_fills_as_todays_reader(
    tmp_path: Path, layout: str, todays: dict[str, Any]
) -> None:
    # Arrange
    name, writer = WRITERS[layout]
    write(tmp_path, name, writer(DATA))

    # Act
    result = summary("--feed", name, cwd=tmp_path)

    # Assert
    assert todays["fills"] > 10
    assert result == todays


def test_backtest_format_forces_a_format_the_name_gets_wrong(
    tmp_path: Path, todays: dict[str, Any]
) -> None:
    # Arrange: Binance CSV trades under a JSON name
    _, writer = WRITERS["binance-trades"]
    write(tmp_path, "trades.json", writer(DATA))

    # Act
    guessed = gridmaker("backtest", "--feed", "trades.json", cwd=tmp_path)
    forced = summary("--feed", "trades.json", "--format", "csv", cwd=tmp_path)

    # Assert
    assert guessed.returncode == 2 and "trades.json" in guessed.stderr, guessed.stderr
    assert forced == todays


def test_backtest_off_tick_price_exits_2_naming_row_and_line_and_snap(tmp_path: Path) -> None:
    # Arrange
    text = "timestamp,price,amount\n1,50000.00,1\n2,50100.005,1\n3,50200.00,1\n"
    write(tmp_path, "t.csv", text)

    # Act
    refused = gridmaker("backtest", "--feed", "t.csv", cwd=tmp_path)
    snapped = gridmaker("backtest", "--feed", "t.csv", "--snap", "--json", cwd=tmp_path)

    # Assert
    assert refused.returncode == 2, refused.stderr
    assert "t.csv row 2 (line 3): price 50100.005 is not a multiple of the tick" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert snapped.returncode == 0, snapped.stderr
    assert "--snap: 1 of 3 prices rounded down to the tick 0.01" in snapped.stderr
    assert json.loads(snapped.stdout.splitlines()[-1])["ticks"] == 3


def test_backtest_sweep_on_shared_history_equals_one_worker(tmp_path: Path) -> None:
    # Arrange
    name, writer = WRITERS["binance-trades-zip"]
    write(tmp_path, name, writer(DATA))
    sweep = ["--feed", name, "--sweep", "spacing=0.1%,0.25%", "--sweep", "levels=5,10"]
    temp = tmp_path / "temp"
    temp.mkdir()

    # Act
    shared = gridmaker(
        "backtest", *sweep, "--workers", "2", "--json", cwd=tmp_path, env={"TMPDIR": str(temp)}
    )
    alone = gridmaker("backtest", *sweep, "--workers", "1", "--json", cwd=tmp_path)

    # Assert
    assert shared.returncode == 0 and alone.returncode == 0, shared.stderr + alone.stderr

    def rows_of(out: str) -> list[dict[str, Any]]:
        found = json.loads(out.splitlines()[-1])["sweep"]
        return [{k: v for k, v in r.items() if k not in TIMING} for r in found]

    assert rows_of(shared.stdout) == rows_of(alone.stdout)
    assert len(rows_of(shared.stdout)) == 4
    assert list(temp.iterdir()) == [], "the shared series file is removed"
