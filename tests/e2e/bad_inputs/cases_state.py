"""Data dirs and stored state that cannot be used: each named, with what to do, untouched.

Exit 3: stored state refused (damaged, dropped tables, a newer schema); exit 4: a data dir
that is a file, lies under a file or cannot be written; exit 2/5: a malformed/unreachable
``GRIDMAKER_SYSTEM_DB_URL``, whose password must never be printed.
"""

from __future__ import annotations

import atexit
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

from tests.e2e.bad_inputs.kit import BadInput
from tests.kit.read_only import make_read_only

SECRET = "secret"
UNREACHABLE = f"postgresql://u:{SECRET}@127.0.0.1:1/db"


def _sql(name: str, *statements: str) -> Callable[[Path], None]:
    """Run ``statements`` on ``data/NAME`` (closed after, so no ``-wal`` is left)."""

    def prepare(tmp: Path) -> None:
        with closing(sqlite3.connect(tmp / "data" / name)) as db:
            for statement in statements:
                db.execute(statement)
            db.commit()

    return prepare


def _garbage(name: str) -> Callable[[Path], None]:
    def prepare(tmp: Path) -> None:
        path = tmp / "data" / name
        path.write_bytes(bytes(range(7, 256)) * (path.stat().st_size // 249 + 1))

    return prepare


def _truncated(name: str) -> Callable[[Path], None]:
    def prepare(tmp: Path) -> None:
        path = tmp / "data" / name
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 3])

    return prepare


def _read_only(relative: str) -> Callable[[Path], None]:
    """``tmp/relative`` unwritable (chmod; ``chattr +i`` as root), undone when pytest exits."""

    def prepare(tmp: Path) -> None:
        atexit.register(make_read_only(tmp / relative))

    return prepare


def _run(*extra: str) -> list[str]:
    return ["run", "--data-dir", "{data}", "--steps", "5", "--seed", "7", *extra]


STATUS = ["status", "--data-dir", "{data}"]
DURABLE = ("--engine", "durable")

CASES = [
    # --- the data dir itself (exit 4) ------------------------------------------------------
    BadInput(
        id="state-data-dir-is-a-file",
        argv=_run(),
        files={"data": "I am a file\n"},
        exit_code=4,
        culprit="is a file, not a directory",
    ),
    BadInput(
        id="state-data-dir-under-a-file",
        argv=["run", "--data-dir", "{tmp}/p/data", "--steps", "5", "--seed", "7"],
        files={"p": "I am a file\n"},
        exit_code=4,
        culprit="p is a file",
    ),
    BadInput(
        id="state-status-data-dir-is-a-file",
        argv=STATUS,
        files={"data": "I am a file\n"},
        exit_code=4,
        culprit="is a file, not a directory",
    ),
    BadInput(
        id="state-status-data-dir-under-a-file",
        argv=["status", "--data-dir", "{tmp}/p/data"],
        files={"p": "I am a file\n"},
        exit_code=4,
        culprit="p is a file",
    ),
    BadInput(
        id="state-read-only-data-dir",
        argv=_run(),
        template="sim_run",
        prepare=_read_only("data"),
        exit_code=4,
        culprit="data is read-only (not writable)",
    ),
    BadInput(
        id="state-durable-read-only-data-dir",
        argv=_run(*DURABLE),
        template="durable_run",
        prepare=_read_only("data"),
        exit_code=4,
        culprit="data is read-only (not writable)",
    ),
    BadInput(
        id="state-read-only-store-file",
        argv=_run(),
        template="sim_run",
        prepare=_read_only("data/gridmaker.sqlite"),
        exit_code=4,
        culprit="gridmaker.sqlite is read-only (not writable)",
    ),
    BadInput(
        id="state-status-read-only-data-dir-reads-and-says-so",
        argv=STATUS,
        template="sim_run",
        prepare=_read_only("data"),
        exit_code=0,
        culprit="run` would refuse this data dir",
    ),
    # --- our store, gridmaker.sqlite (exit 3) -----------------------------------------------
    BadInput(
        id="state-store-newer-schema",
        argv=_run(),
        template="sim_run",
        prepare=_sql("gridmaker.sqlite", "INSERT INTO schema_version VALUES (99)"),
        exit_code=3,
        culprit="schema version 99",
    ),
    BadInput(
        id="state-status-store-newer-schema",
        argv=STATUS,
        template="sim_run",
        prepare=_sql("gridmaker.sqlite", "INSERT INTO schema_version VALUES (99)"),
        exit_code=3,
        culprit="schema version 99",
    ),
    BadInput(
        id="state-store-fills-table-dropped",
        argv=_run(),
        template="sim_run",
        prepare=_sql("gridmaker.sqlite", "DROP TABLE fills"),
        exit_code=3,
        culprit="no table 'fills'",
    ),
    BadInput(
        id="state-durable-store-fills-table-dropped",
        argv=_run(*DURABLE),
        template="durable_run",
        prepare=_sql("gridmaker.sqlite", "DROP TABLE fills"),
        exit_code=3,
        culprit="no table 'fills'",
    ),
    BadInput(
        id="state-store-books-table-dropped",
        argv=_run(),
        template="sim_run",
        prepare=_sql("gridmaker.sqlite", "DROP TABLE books"),
        exit_code=3,
        culprit="no table 'books'",
    ),
    BadInput(
        id="state-status-store-fills-table-dropped",
        argv=STATUS,
        template="sim_run",
        prepare=_sql("gridmaker.sqlite", "DROP TABLE fills"),
        exit_code=3,
        culprit="no table 'fills'",
    ),
    BadInput(
        id="state-store-intents-column-dropped",
        argv=_run(),
        template="sim_run",
        prepare=_sql("gridmaker.sqlite", "ALTER TABLE intents DROP COLUMN reason"),
        exit_code=3,
        culprit="table 'intents' of",
    ),
    BadInput(
        id="state-store-garbage",
        argv=_run(),
        template="sim_run",
        prepare=_garbage("gridmaker.sqlite"),
        exit_code=3,
        culprit="gridmaker.sqlite is not a SQLite database",
    ),
    BadInput(
        id="state-store-truncated",
        argv=_run(),
        template="sim_run",
        prepare=_truncated("gridmaker.sqlite"),
        exit_code=3,
        culprit="gridmaker.sqlite",
    ),
    BadInput(
        id="state-status-store-truncated",
        argv=STATUS,
        template="sim_run",
        prepare=_truncated("gridmaker.sqlite"),
        exit_code=3,
        culprit="gridmaker.sqlite",
    ),
    # --- the simulated exchange's exchange.sqlite (exit 3) ----------------------------------
    BadInput(
        id="state-exchange-garbage",
        argv=_run(),
        template="sim_run",
        prepare=_garbage("exchange.sqlite"),
        exit_code=3,
        culprit="exchange.sqlite is not a SQLite database",
    ),
    BadInput(
        id="state-exchange-truncated",
        argv=_run(),
        template="sim_run",
        prepare=_truncated("exchange.sqlite"),
        exit_code=3,
        culprit="exchange.sqlite",
    ),
    BadInput(
        id="state-exchange-orders-table-dropped",
        argv=_run(),
        template="sim_run",
        prepare=_sql("exchange.sqlite", "DROP TABLE orders"),
        exit_code=3,
        culprit="no table 'orders'",
    ),
    BadInput(
        id="state-status-exchange-garbage",
        argv=STATUS,
        template="sim_run",
        prepare=_garbage("exchange.sqlite"),
        exit_code=3,
        culprit="exchange.sqlite",
    ),
    # --- DBOS's dbos.sqlite and GRIDMAKER_SYSTEM_DB_URL -------------------------------------
    BadInput(
        id="state-dbos-garbage",
        argv=_run(*DURABLE),
        template="durable_run",
        prepare=_garbage("dbos.sqlite"),
        exit_code=3,
        culprit="dbos.sqlite is not a SQLite database",
    ),
    BadInput(
        id="state-dbos-truncated",
        argv=_run(*DURABLE),
        template="durable_run",
        prepare=_truncated("dbos.sqlite"),
        exit_code=3,
        culprit="dbos.sqlite",
    ),
    BadInput(
        id="state-status-dbos-garbage",
        argv=STATUS,
        template="durable_run",
        prepare=_garbage("dbos.sqlite"),
        exit_code=3,
        culprit="dbos.sqlite",
    ),
    BadInput(
        id="state-system-db-unreachable",
        argv=_run(*DURABLE),
        template="durable_run",
        env={"GRIDMAKER_SYSTEM_DB_URL": UNREACHABLE},
        exit_code=5,
        culprit="GRIDMAKER_SYSTEM_DB_URL='postgresql://u:***@127.0.0.1:1/db'",
    ),
    BadInput(
        id="state-system-db-unreachable-fresh-data-dir",
        argv=_run(*DURABLE),
        env={"GRIDMAKER_SYSTEM_DB_URL": UNREACHABLE},
        exit_code=5,
        culprit="u:***@127.0.0.1:1/db",
    ),
    BadInput(
        id="state-system-db-url-not-a-url",
        argv=_run(*DURABLE),
        template="durable_run",
        env={"GRIDMAKER_SYSTEM_DB_URL": "notaurl"},
        exit_code=2,
        culprit="GRIDMAKER_SYSTEM_DB_URL must be postgresql://",
    ),
    BadInput(
        id="state-system-db-url-without-database",
        argv=_run(*DURABLE),
        env={"GRIDMAKER_SYSTEM_DB_URL": "postgresql://"},
        exit_code=2,
        culprit="names no database",
    ),
    BadInput(
        id="state-system-db-url-not-postgres",
        argv=_run(*DURABLE),
        env={"GRIDMAKER_SYSTEM_DB_URL": f"mysql://u:{SECRET}@127.0.0.1:1/db"},
        exit_code=2,
        culprit="mysql://u:***@",
    ),
]

CASES += [
    BadInput(
        id="state-breaker-trip-on-read-only-data-dir",
        argv=["breaker", "trip", "--data-dir", "{data}", "--symbol", "BTC/USDT"],
        template="sim_run",
        prepare=_read_only("data"),
        exit_code=4,
        culprit="read-only",
    ),
]
