"""Opening SQLite files: the writer's connection and pragmas, transactions, read-only readers."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["connect", "open_read_only", "transaction", "tune"]


def connect(path: Path | str) -> sqlite3.Connection:
    """A connection in autocommit mode, usable from any thread (the caller serializes use).

    Autocommit: Python's implicit ``BEGIN`` would open transactions we did not ask for, so
    every write goes through ``transaction``.
    """
    return sqlite3.connect(path, isolation_level=None, check_same_thread=False)


def tune(db: sqlite3.Connection, *, wal: bool = True, busy_timeout_ms: int | None = None) -> None:
    """WAL (kept in the file) with ``synchronous=NORMAL``: durable at each checkpoint, safe
    after a crash, and a reader never blocks the writer. ``busy_timeout_ms`` waits for a lock
    instead of failing at once."""
    if wal:
        db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    if busy_timeout_ms is not None:
        db.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` (the write lock up front) ... ``COMMIT``; ``ROLLBACK`` on any raise.

    All or nothing: a crash or an error inside leaves the file as it was before.
    """
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def open_read_only(path: Path) -> sqlite3.Connection:
    """A connection that cannot write ``path`` nor create anything beside it.

    Without a ``-wal`` file (no process has the database open, none crashed with unsaved log)
    it is ``immutable``: SQLite takes no locks and creates no ``-wal``/``-shm`` side files.
    With one it is a plain read-only reader, which shares the log like any other reader.
    A refusal must leave a data dir exactly as it was, so every check reads through this.
    """
    wal = path.with_name(path.name + "-wal")
    uri = path.resolve().as_uri() + ("?mode=ro" if wal.exists() else "?mode=ro&immutable=1")
    return sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
