"""Checks of a data dir and its SQLite files that change nothing on disk.

A refusal must leave the data dir exactly as it was, so every check here reads only: the
directory with ``os.access``, a database through ``gridmaker.db.open_read_only``.

SQLite's errors, sorted by ``gridmaker.db.cause_of``, become the store's refusals: a file that
cannot be written (read-only, immutable, permissions) is reported as such and never as a
corrupt one, whose only advice is a backup.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Final

from gridmaker.db import Cause, cause_of, has_sqlite_header, open_read_only, quick_check
from gridmaker.store.errors import DataDirUnusable, StateCorrupt

__all__ = [
    "STATE_FILES",
    "check_data_dir",
    "check_dbos_file",
    "check_sqlite_file",
    "open_checked",
    "recovery_hint",
    "refusal",
]

STATE_FILES: Final = ("gridmaker.sqlite", "exchange.sqlite", "dbos.sqlite", "gridmaker.lock")
"""What a data dir holds: the bot's store, the simulator's venue, DBOS's system db, the lock."""


def recovery_hint(path: Path) -> str:
    """What to do about a damaged file: never edit it, restore it or start over."""
    return (
        f"Do not edit {path.name} by hand. Restore it from a backup, or start over with a new "
        "--data-dir after cancelling this bot's open orders at the venue."
    )


def _writable_hint(path: Path) -> str:
    return (
        f"A matter of permissions, not of damage: make {path} writable for this user (chmod "
        "u+w, or chattr -i if it is immutable), or use another --data-dir."
    )


def refusal(path: Path, e: sqlite3.Error, doing: str = "read") -> DataDirUnusable | StateCorrupt:
    """The error to raise for SQLite's ``e`` on ``path``: unusable (exit 4) or corrupt (3)."""
    cause = cause_of(e)
    if cause is Cause.UNWRITABLE:
        return DataDirUnusable(
            f"cannot {doing} {path}: it is read-only or not accessible ({e}). "
            + _writable_hint(path)
        )
    if cause is Cause.IO:
        return DataDirUnusable(
            f"cannot {doing} {path}: the disk answered with an error ({e}); check free space "
            "and the device, then start again"
        )
    if cause is Cause.BUSY:
        return DataDirUnusable(
            f"cannot {doing} {path}: another process holds it ({e}); stop it and start again"
        )
    return StateCorrupt(f"cannot {doing} {path}: {e}. {recovery_hint(path)}")


def _is_writable(path: Path) -> bool:
    """True when this process may write ``path`` (root included: immutable and ro mounts say no)."""
    mode = os.W_OK | (os.X_OK if path.is_dir() else os.R_OK)
    return os.access(path, mode)


def check_data_dir(data_dir: Path, *, writable: bool = True) -> None:
    """Raise ``DataDirUnusable`` unless ``data_dir`` is (or can be made) a usable directory.

    ``writable`` asks for what a running bot needs: the directory and every state file in it
    writable. Checks only; creates nothing.
    """
    if data_dir.is_symlink() and not data_dir.exists():
        raise DataDirUnusable(
            f"the data dir {data_dir} is a broken symbolic link: point it at a directory, or "
            "give --data-dir another path"
        )
    if data_dir.exists():
        if not data_dir.is_dir():
            raise DataDirUnusable(
                f"the data dir {data_dir} is a file, not a directory: --data-dir must be a "
                "directory (it is created when missing); move the file or give another path"
            )
        if writable:
            _check_writable(data_dir)
        return
    ancestor = next((p for p in data_dir.parents if p.exists() or p.is_symlink()), Path("/"))
    if not ancestor.is_dir():
        raise DataDirUnusable(
            f"cannot create the data dir {data_dir}: {ancestor} is a file, not a directory; "
            "give --data-dir a path under a directory"
        )
    if writable and not _is_writable(ancestor):
        raise DataDirUnusable(
            f"cannot create the data dir {data_dir}: {ancestor} is read-only (not writable); "
            "make it writable or give --data-dir a path under a writable directory"
        )


def _check_writable(data_dir: Path) -> None:
    if not _is_writable(data_dir):
        raise DataDirUnusable(
            f"the data dir {data_dir} is read-only (not writable): a matter of permissions, "
            "not of damage, but the bot must write its state there before it sends anything. "
            "Make it writable (chmod u+w, or chattr -i if it is immutable), or use another "
            "--data-dir"
        )
    for name in STATE_FILES:
        for suffix in ("", "-wal", "-shm"):
            path = data_dir / (name + suffix)
            if not (path.exists() or path.is_symlink()):
                continue
            if not path.is_file():
                raise DataDirUnusable(
                    f"{path} is not a regular file; the data dir keeps its state there: move "
                    "it away or use another --data-dir"
                )
            if not _is_writable(path):
                raise DataDirUnusable(
                    f"{path} is read-only (not writable). " + _writable_hint(path)
                )


def check_sqlite_file(path: Path) -> None:
    """Refuse a file that is not an intact SQLite database (header, ``PRAGMA quick_check``)."""
    open_checked(path).close()


def open_checked(path: Path) -> sqlite3.Connection:
    """A read-only connection to ``path`` once its header and ``PRAGMA quick_check`` passed."""
    if not path.is_file():
        raise DataDirUnusable(
            f"{path} is not a regular file: move it away or use another --data-dir"
        )
    try:
        is_sqlite = has_sqlite_header(path)
    except OSError as e:
        raise DataDirUnusable(f"cannot read {path}: {e.strerror}. {_writable_hint(path)}") from e
    if not is_sqlite:
        raise StateCorrupt(
            f"{path} is not a SQLite database (its first bytes are not SQLite's header): it "
            f"was overwritten or truncated. {recovery_hint(path)}"
        )
    try:
        db = open_read_only(path)
    except sqlite3.Error as e:
        raise refusal(path, e) from e
    try:
        problems = quick_check(db)
    except sqlite3.Error as e:
        db.close()
        raise refusal(path, e) from e
    if problems:
        db.close()
        raise StateCorrupt(
            f"{path} fails SQLite's integrity check ({'; '.join(problems)}): it is damaged. "
            + recovery_hint(path)
        )
    return db


def check_dbos_file(path: Path) -> None:
    """``check_sqlite_file`` for DBOS's ``dbos.sqlite``, whose recovery differs from ours."""
    try:
        check_sqlite_file(path)
    except StateCorrupt as e:
        text = str(e).split(" Do not edit ")[0]
        raise StateCorrupt(
            f"DBOS's system database: {text} It holds DBOS's workflow records only; "
            "gridmaker.sqlite stays the bot's truth and the boot sync resolves what a workflow "
            "left unfinished: move dbos.sqlite aside (keep it for inspection) and start again, "
            "or restore it from a backup."
        ) from None
