"""Reading a SQLite file's health and shape, and sorting SQLite's errors by cause.

A file that cannot be written (read-only, immutable, permissions) must never be reported as a
corrupt one, whose only advice is a backup: ``cause_of`` tells the two apart.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from contextlib import closing
from enum import Enum
from pathlib import Path
from typing import Final

__all__ = [
    "SQLITE_HEADER",
    "Cause",
    "cause_of",
    "columns",
    "expected_columns",
    "has_sqlite_header",
    "quick_check",
]

SQLITE_HEADER: Final = b"SQLite format 3\x00"


class Cause(Enum):
    """Why SQLite refused: only ``DAMAGED`` is about the file's bytes."""

    UNWRITABLE = "unwritable"
    """SQLITE_PERM, READONLY, CANTOPEN, AUTH: the file is fine, access is not."""
    IO = "io"
    """SQLITE_IOERR, FULL: the disk failed or is full."""
    BUSY = "busy"
    """SQLITE_BUSY, LOCKED: another process holds the file."""
    DAMAGED = "damaged"
    """Anything else (NOTADB, CORRUPT, a missing table...): the file itself."""

    @property
    def is_access(self) -> bool:
        """The disk or its rights, not the bytes: fix access, do not restore a backup."""
        return self in (Cause.UNWRITABLE, Cause.IO)


_CAUSES: Final = {
    3: Cause.UNWRITABLE,
    8: Cause.UNWRITABLE,
    14: Cause.UNWRITABLE,
    23: Cause.UNWRITABLE,
    10: Cause.IO,
    13: Cause.IO,
    5: Cause.BUSY,
    6: Cause.BUSY,
}


def cause_of(e: sqlite3.Error) -> Cause:
    """The cause of SQLite's error ``e``, from its primary result code."""
    code = (getattr(e, "sqlite_errorcode", None) or 0) & 0xFF
    return _CAUSES.get(code, Cause.DAMAGED)


def has_sqlite_header(path: Path) -> bool:
    """True unless ``path``'s first bytes are something other than SQLite's header.

    An empty file passes (SQLite makes it a new database). Raises ``OSError`` when unreadable.
    """
    with path.open("rb") as f:
        head = f.read(len(SQLITE_HEADER))
    return not head or head == SQLITE_HEADER


def quick_check(db: sqlite3.Connection, limit: int = 5) -> list[str]:
    """SQLite's ``PRAGMA quick_check``: up to ``limit`` problems, ``[]`` when intact."""
    problems = [row[0] for row in db.execute(f"PRAGMA quick_check({int(limit)})")]
    return [] if problems == ["ok"] else problems


def columns(db: sqlite3.Connection) -> dict[str, list[str]]:
    """Every table of ``db`` (SQLite's own included) and its columns, in order."""
    names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    return {n: [c[1] for c in db.execute(f"PRAGMA table_info('{n}')")] for n in names}


def expected_columns(statements: Iterable[str]) -> dict[str, list[str]]:
    """The tables and columns that ``statements`` create (SQLite's own tables left out)."""
    with closing(sqlite3.connect(":memory:")) as db:
        for statement in statements:
            db.execute(statement)
        return {t: c for t, c in columns(db).items() if not t.startswith("sqlite_")}
