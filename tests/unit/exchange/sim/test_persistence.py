"""The simulator's file: a damaged one is refused by name before anything is written."""

from __future__ import annotations

import hashlib
import sqlite3
from contextlib import closing
from decimal import Decimal
from pathlib import Path

import pytest

from gridmaker.exchange.sim import SimExchange, SimFileError, check_state_file
from tests import kit


def _new_file(path: Path) -> None:
    sim = SimExchange(
        instruments=[kit.instrument()], initial_balances={"USDT": Decimal(1000)}, path=path
    )
    sim.close_sync()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("damage", ["garbage", "truncated", "dropped_orders", "dropped_column"])
def test_damaged_sim_file_is_refused_naming_it_and_left_as_is(tmp_path: Path, damage: str) -> None:
    # Arrange
    path = tmp_path / "exchange.sqlite"
    _new_file(path)
    raw = path.read_bytes()
    if damage == "garbage":
        path.write_bytes(b"\x07" * len(raw))
    elif damage == "truncated":
        path.write_bytes(raw[: len(raw) // 3])
    else:
        with closing(sqlite3.connect(path)) as db:
            if damage == "dropped_orders":
                db.execute("DROP TABLE orders")
            else:
                db.execute("ALTER TABLE balances DROP COLUMN locked")
            db.commit()
    before = _digest(path), sorted(p.name for p in tmp_path.iterdir())

    # Act
    with pytest.raises(SimFileError) as refused:
        SimExchange(
            instruments=[kit.instrument()], initial_balances={"USDT": Decimal(1)}, path=path
        )

    # Assert
    assert str(path) in str(refused.value)
    assert not refused.value.read_only
    assert (_digest(path), sorted(p.name for p in tmp_path.iterdir())) == before


def test_intact_sim_file_passes_the_check_without_side_files(tmp_path: Path) -> None:
    # Arrange
    path = tmp_path / "exchange.sqlite"
    _new_file(path)
    before = sorted(p.name for p in tmp_path.iterdir())

    # Act
    check_state_file(path)

    # Assert
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_missing_sim_file_passes_the_check_and_is_created_funded(tmp_path: Path) -> None:
    # Arrange
    path = tmp_path / "exchange.sqlite"

    # Act
    check_state_file(path)
    _new_file(path)

    # Assert
    check_state_file(path)
