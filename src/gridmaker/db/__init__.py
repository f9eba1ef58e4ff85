"""SQLite plumbing shared by every file gridmaker keeps: the store, the simulator, DBOS's db.

One place opens connections, sets the pragmas, runs transactions, reads a file without
touching it and sorts SQLite's errors by cause; each caller maps a cause to its own refusal.

Use it like this::

    from gridmaker.db import Cause, cause_of, connect, transaction, tune

    db = connect(path)                     # autocommit: transactions are explicit
    tune(db, busy_timeout_ms=5000)         # WAL, synchronous=NORMAL (+ busy timeout)
    with transaction(db):                  # BEGIN IMMEDIATE ... COMMIT, ROLLBACK on any raise
        db.execute(...)

    with closing(open_read_only(path)) as db:   # checks: writes nothing, creates no -wal/-shm
        problems = quick_check(db)              # [] when intact
        found = columns(db)                     # {table: [column, ...]}
    expected = expected_columns(SCHEMA)         # what the CREATE statements make

    except sqlite3.Error as e:
        if cause_of(e) is Cause.DAMAGED: ...    # else UNWRITABLE, IO or BUSY: not the bytes

Nothing here imports gridmaker: ``store`` and ``exchange`` both sit above it.
"""

from gridmaker.db.checks import (
    SQLITE_HEADER,
    Cause,
    cause_of,
    columns,
    expected_columns,
    has_sqlite_header,
    quick_check,
)
from gridmaker.db.connection import connect, open_read_only, transaction, tune

__all__ = [
    "SQLITE_HEADER",
    "Cause",
    "cause_of",
    "columns",
    "connect",
    "expected_columns",
    "has_sqlite_header",
    "open_read_only",
    "quick_check",
    "transaction",
    "tune",
]
