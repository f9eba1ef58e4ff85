"""The store refuses damaged or unusable files at open, says which, and writes nothing."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import pytest

from gridmaker.db import open_read_only
from gridmaker.store import (
    SCHEMA_VERSION,
    AlreadyRunning,
    DataDirLock,
    DataDirUnusable,
    SchemaTooNew,
    StateCorrupt,
    Store,
    check_data_dir,
    verify_store,
)
from gridmaker.store.files import refusal
from tests.kit.read_only import make_read_only


def _fingerprint(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.is_file()
    }


def _sql(path: Path, *statements: str) -> None:
    with closing(sqlite3.connect(path)) as db:
        for statement in statements:
            db.execute(statement)
        db.commit()


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    """A closed, current store with no side files left."""
    path = tmp_path / "data" / "gridmaker.sqlite"
    Store(path).close()
    return path


@pytest.fixture
def undo() -> Iterator[list[Callable[[], None]]]:
    """Undo actions (making a path writable again) run after the test."""
    undos: list[Callable[[], None]] = []
    yield undos
    for fn in reversed(undos):
        fn()


@pytest.mark.parametrize("table", ["fills", "books", "intents"])
def test_store_with_a_dropped_table_is_refused_naming_it_before_any_write(
    store_path: Path, table: str
) -> None:
    # Arrange
    _sql(store_path, f"DROP TABLE {table}")
    before = _fingerprint(store_path.parent)

    # Act
    with pytest.raises(StateCorrupt) as refused:
        Store(store_path)

    # Assert
    assert f"no table {table!r}" in str(refused.value)
    assert str(store_path) in str(refused.value)
    assert _fingerprint(store_path.parent) == before


def test_store_with_a_dropped_column_is_refused_naming_table_and_column(store_path: Path) -> None:
    # Arrange
    _sql(store_path, "ALTER TABLE fills DROP COLUMN fee_atoms")

    # Act
    with pytest.raises(StateCorrupt) as refused:
        Store(store_path)

    # Assert
    assert "table 'fills'" in str(refused.value)
    assert "'fee_atoms'" in str(refused.value)


def test_store_of_a_newer_schema_is_refused_as_stored_state_and_left_as_is(
    store_path: Path,
) -> None:
    # Arrange
    _sql(store_path, f"INSERT INTO schema_version VALUES ({SCHEMA_VERSION + 5})")
    before = _fingerprint(store_path.parent)

    # Act
    with pytest.raises(SchemaTooNew) as refused:
        Store(store_path)

    # Assert: exit 3 in the CLI (a StateCorrupt), with the upgrade advice, not a backup's.
    assert isinstance(refused.value, StateCorrupt)
    assert f"schema version {SCHEMA_VERSION + 5}" in str(refused.value)
    assert "Upgrade gridmaker" in str(refused.value)
    assert "backup" not in str(refused.value)
    assert _fingerprint(store_path.parent) == before


@pytest.mark.parametrize("damage", ["garbage", "truncated", "zeroed_page"])
def test_damaged_store_file_is_refused_as_corrupt_and_left_as_is(
    store_path: Path, damage: str
) -> None:
    # Arrange
    raw = store_path.read_bytes()
    if damage == "garbage":
        store_path.write_bytes(bytes(range(256)) * (len(raw) // 256))
    elif damage == "truncated":
        store_path.write_bytes(raw[: len(raw) // 3])
    else:
        page = 4096
        store_path.write_bytes(raw[: 2 * page] + bytes(page) + raw[3 * page :])
    before = _fingerprint(store_path.parent)

    # Act
    with pytest.raises(StateCorrupt) as refused:
        Store(store_path)

    # Assert
    assert "gridmaker.sqlite" in str(refused.value)
    assert "Restore it from a backup" in str(refused.value)
    assert _fingerprint(store_path.parent) == before


def test_verify_store_creates_no_side_files(store_path: Path) -> None:
    # Arrange
    before = sorted(p.name for p in store_path.parent.iterdir())

    # Act
    version = verify_store(store_path)

    # Assert
    assert version == SCHEMA_VERSION
    assert sorted(p.name for p in store_path.parent.iterdir()) == before


def test_read_only_store_reads_without_creating_side_files(store_path: Path) -> None:
    # Arrange
    before = _fingerprint(store_path.parent)

    # Act
    store = Store(store_path, read_only=True)
    symbols = store.symbols()
    store.close()

    # Assert
    assert symbols == []
    assert _fingerprint(store_path.parent) == before


def test_sqlite_readonly_error_is_reported_as_not_writable_never_corrupt(
    store_path: Path,
) -> None:
    # Arrange: SQLite's own answer to writing a file it may only read.
    with closing(open_read_only(store_path)) as db, pytest.raises(sqlite3.Error) as raised:
        db.execute("INSERT INTO halts (reason, at) VALUES ('x', 'y')")

    # Act
    error = refusal(store_path, raised.value, "open")

    # Assert
    assert isinstance(error, DataDirUnusable)
    assert "read-only" in str(error)
    assert "backup" not in str(error)


def test_store_file_that_cannot_be_written_is_refused_as_read_only_not_corrupt(
    store_path: Path, undo: list[Callable[[], None]]
) -> None:
    # Arrange
    undo.append(make_read_only(store_path))

    # Act
    with pytest.raises(DataDirUnusable) as refused:
        check_data_dir(store_path.parent)

    # Assert
    assert "read-only" in str(refused.value)
    assert "gridmaker.sqlite" in str(refused.value)


def test_read_only_data_dir_is_refused_for_writing_but_readable(
    store_path: Path, undo: list[Callable[[], None]]
) -> None:
    # Arrange
    undo.append(make_read_only(store_path.parent))
    before = _fingerprint(store_path.parent)

    # Act
    with pytest.raises(DataDirUnusable) as refused:
        check_data_dir(store_path.parent)
    check_data_dir(store_path.parent, writable=False)
    store = Store(store_path, read_only=True)
    store.close()

    # Assert
    assert "read-only" in str(refused.value)
    assert "corrupt" not in str(refused.value)
    assert _fingerprint(store_path.parent) == before


def test_read_only_data_dir_makes_the_writing_store_say_read_only(
    store_path: Path, undo: list[Callable[[], None]]
) -> None:
    # Arrange
    undo.append(make_read_only(store_path.parent))

    # Act
    with pytest.raises(DataDirUnusable) as refused:
        Store(store_path)

    # Assert: before the fix this was "cannot read ...: Restore it from a backup".
    assert "read-only" in str(refused.value)
    assert "backup" not in str(refused.value)


def test_data_dir_that_is_a_file_is_refused_naming_it(tmp_path: Path) -> None:
    # Arrange
    data = tmp_path / "data"
    data.write_text("not a folder")

    # Act
    with pytest.raises(DataDirUnusable) as refused:
        check_data_dir(data)

    # Assert
    assert f"{data} is a file, not a directory" in str(refused.value)


def test_data_dir_under_a_file_is_refused_naming_the_file(tmp_path: Path) -> None:
    # Arrange
    (tmp_path / "p").write_text("not a folder")

    # Act
    with pytest.raises(DataDirUnusable) as refused:
        check_data_dir(tmp_path / "p" / "q" / "data", writable=False)

    # Assert
    assert f"{tmp_path / 'p'} is a file" in str(refused.value)
    assert not (tmp_path / "p" / "q").exists()


def test_lock_on_a_file_path_raises_data_dir_unusable_not_os_error(tmp_path: Path) -> None:
    # Arrange
    (tmp_path / "data").write_text("not a folder")
    lock = DataDirLock(tmp_path / "data")

    # Act / Assert
    with pytest.raises(DataDirUnusable, match="data dir"):
        lock.acquire()


def test_lock_held_elsewhere_is_still_already_running(tmp_path: Path) -> None:
    # Arrange
    first = DataDirLock(tmp_path / "data")
    first.acquire()

    # Act / Assert
    try:
        with pytest.raises(AlreadyRunning):
            DataDirLock(tmp_path / "data").acquire()
    finally:
        first.release()


def test_old_schema_is_still_migrated_at_open(tmp_path: Path) -> None:
    # Arrange: a version-1 store, as the first gridmaker wrote it.
    from gridmaker.store.schema import MIGRATIONS

    path = tmp_path / "gridmaker.sqlite"
    _sql(
        path,
        "CREATE TABLE schema_version (version INTEGER NOT NULL)",
        *MIGRATIONS[1],
        "INSERT INTO schema_version VALUES (1)",
    )

    # Act
    store = Store(path)
    store.close()

    # Assert
    assert verify_store(path) == SCHEMA_VERSION


def test_verify_store_reads_alongside_a_running_writer(tmp_path: Path) -> None:
    # Arrange: a writer holds the store open, so its -wal exists (as while the bot runs).
    path = tmp_path / "gridmaker.sqlite"
    writer = Store(path)
    writer.record_halt("a reason")

    # Act
    try:
        version = verify_store(path)
        reader = Store(path, read_only=True)
        halt = reader.last_halt()
        reader.close()
    finally:
        writer.close()

    # Assert: the reader saw the writer's commit through the shared log.
    assert version == SCHEMA_VERSION
    assert halt is not None and halt[0] == "a reason"
