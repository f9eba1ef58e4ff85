"""The shared SQLite helper: pragmas, all-or-nothing transactions, untouching reads, causes."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from gridmaker.db import (
    Cause,
    cause_of,
    columns,
    connect,
    expected_columns,
    has_sqlite_header,
    open_read_only,
    quick_check,
    transaction,
    tune,
)


def _table(path: Path) -> None:
    with closing(connect(path)) as db:
        tune(db)
        with transaction(db):
            db.execute("CREATE TABLE t (a INTEGER PRIMARY KEY AUTOINCREMENT, b TEXT)")
            db.execute("INSERT INTO t (b) VALUES ('x')")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def test_tune_sets_wal_and_the_busy_timeout(tmp_path: Path) -> None:
    # Arrange
    db = connect(tmp_path / "a.sqlite")

    # Act
    tune(db, busy_timeout_ms=1234)

    # Assert
    with closing(db):
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert db.execute("PRAGMA synchronous").fetchone() == (1,)  # NORMAL
        assert db.execute("PRAGMA busy_timeout").fetchone() == (1234,)


def test_transaction_commits_or_leaves_nothing(tmp_path: Path) -> None:
    # Arrange
    path = tmp_path / "a.sqlite"
    _table(path)
    db = connect(path)

    # Act
    with pytest.raises(KeyError), transaction(db):
        db.execute("INSERT INTO t (b) VALUES ('lost')")
        raise KeyError("midway")
    with transaction(db):
        db.execute("INSERT INTO t (b) VALUES ('kept')")

    # Assert
    with closing(db):
        assert [r[0] for r in db.execute("SELECT b FROM t ORDER BY a")] == ["x", "kept"]
        assert not db.in_transaction


def test_read_only_reader_writes_nothing_and_creates_no_side_file(tmp_path: Path) -> None:
    # Arrange
    path = tmp_path / "a.sqlite"
    _table(path)
    before = sorted(p.name for p in tmp_path.iterdir())

    # Act
    with closing(open_read_only(path)) as db:
        found = columns(db)
        problems = quick_check(db)
        with pytest.raises(sqlite3.Error) as refused:
            db.execute("INSERT INTO t (b) VALUES ('y')")

    # Assert
    assert sorted(p.name for p in tmp_path.iterdir()) == before == ["a.sqlite"]
    assert found["t"] == ["a", "b"]
    assert problems == []
    assert cause_of(refused.value) is Cause.UNWRITABLE
    assert cause_of(refused.value).is_access


def test_garbage_is_damaged_not_unwritable(tmp_path: Path) -> None:
    # Arrange
    path = tmp_path / "junk.sqlite"
    path.write_bytes(b"not a database at all, just some bytes" * 200)

    # Act
    with closing(connect(path)) as db, pytest.raises(sqlite3.Error) as raised:
        db.execute("SELECT * FROM sqlite_master")

    # Assert
    assert not has_sqlite_header(path)
    assert cause_of(raised.value) is Cause.DAMAGED
    assert not cause_of(raised.value).is_access


def test_header_accepts_a_database_and_an_empty_file(tmp_path: Path) -> None:
    # Arrange
    path, empty = tmp_path / "a.sqlite", tmp_path / "empty.sqlite"
    _table(path)
    empty.touch()

    # Act / Assert
    assert has_sqlite_header(path)
    assert has_sqlite_header(empty)


def test_expected_columns_leave_sqlites_own_tables_out() -> None:
    # Act
    expected = expected_columns(["CREATE TABLE t (a INTEGER PRIMARY KEY AUTOINCREMENT, b)"])

    # Assert
    assert expected == {"t": ["a", "b"]}
