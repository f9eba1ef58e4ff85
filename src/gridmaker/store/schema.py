"""The store's schema: its migrations, and the read-only check a file must pass first.

``verify_store`` runs before anything is written: a refused store is left exactly as it was.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Final

from gridmaker.db import columns, expected_columns, transaction
from gridmaker.store.errors import SchemaTooNew, StateCorrupt
from gridmaker.store.files import open_checked, recovery_hint, refusal

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "migrate", "verify_store"]

SCHEMA_VERSION: Final = 6

MIGRATIONS: Final[dict[int, tuple[str, ...]]] = {
    1: (
        """CREATE TABLE books (
            symbol TEXT PRIMARY KEY,
            state_json TEXT NOT NULL,
            checksum TEXT NOT NULL,
            revision INTEGER NOT NULL
        )""",
        """CREATE TABLE fills (
            symbol TEXT NOT NULL,
            trade_id TEXT NOT NULL,
            client_order_id TEXT NOT NULL,
            side TEXT NOT NULL,
            price_ticks INTEGER NOT NULL,
            qty_steps INTEGER NOT NULL,
            fee_atoms INTEGER NOT NULL,
            ts_event INTEGER NOT NULL,
            revision INTEGER NOT NULL,
            PRIMARY KEY (symbol, trade_id)
        )""",
        """CREATE TABLE intents (
            symbol TEXT NOT NULL,
            client_order_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            intent_side TEXT,
            intent_level INTEGER NOT NULL,
            intent_price_ticks INTEGER,
            intent_qty_steps INTEGER,
            status TEXT NOT NULL,
            reason TEXT NOT NULL DEFAULT '',
            revision INTEGER NOT NULL,
            PRIMARY KEY (symbol, client_order_id, kind)
        )""",
    ),
    2: (
        """CREATE TABLE boots (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            symbol TEXT NOT NULL,
            revision INTEGER NOT NULL,
            report_json TEXT NOT NULL,
            halted TEXT NOT NULL,
            at TEXT NOT NULL
        )""",
        """CREATE TABLE halts (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            reason TEXT NOT NULL,
            at TEXT NOT NULL
        )""",
    ),
    3: (
        """CREATE TABLE commands (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            symbol TEXT NOT NULL,
            command TEXT NOT NULL,
            reason TEXT NOT NULL,
            created_at TEXT NOT NULL,
            applied_at TEXT
        )""",
    ),
    4: (
        """CREATE TABLE venue (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            identity_json TEXT NOT NULL,
            bound_at TEXT NOT NULL
        )""",
    ),
    5: (
        # An operator's request id makes a command idempotent: the same request twice is
        # one command (the control API's retries).
        "ALTER TABLE commands ADD COLUMN request_id TEXT",
        "CREATE UNIQUE INDEX commands_request_id ON commands (request_id)",
    ),
    6: (
        # A command's arguments (a reconfiguration's new grid, an amount of capital) as JSON,
        # and why the loop refused it ("" or NULL: applied).
        "ALTER TABLE commands ADD COLUMN payload TEXT",
        "ALTER TABLE commands ADD COLUMN outcome TEXT",
    ),
}


def _expected_columns(version: int) -> dict[str, list[str]]:
    """Every table and its columns as the migrations up to ``version`` create them."""
    return expected_columns(s for v in range(1, version + 1) for s in MIGRATIONS[v])


def verify_store(path: Path) -> int:
    """Check ``path`` without writing to it; returns its schema version (0: none yet).

    Intact SQLite (``quick_check``), a known schema version, and every table and column that
    version has: a store missing its ``fills`` table would trade and then fail at the first
    fill, leaving a fill the venue made unrecorded. Raises ``StateCorrupt`` (``SchemaTooNew``)
    or ``DataDirUnusable``; a missing or empty file is a new store (0).
    """
    if not path.exists() or (path.is_file() and path.stat().st_size == 0):
        return 0
    db = open_checked(path)
    try:
        tables = columns(db)
        if "schema_version" not in tables:
            if tables:
                raise StateCorrupt(
                    f"{path} has tables ({', '.join(sorted(tables))}) but no schema_version "
                    f"table: it is not a gridmaker store or it is damaged. {recovery_hint(path)}"
                )
            return 0
        version = int(db.execute("SELECT max(version) FROM schema_version").fetchone()[0] or 0)
    except sqlite3.Error as e:
        raise refusal(path, e) from e
    finally:
        db.close()
    if version > SCHEMA_VERSION:
        raise SchemaTooNew(
            f"{path} has schema version {version}, newer than this gridmaker "
            f"({SCHEMA_VERSION}): it was written by a newer gridmaker. Upgrade gridmaker; "
            "the file is left as it is"
        )
    for table, wanted in _expected_columns(version).items():
        if table not in tables:
            raise StateCorrupt(
                f"{path} has no table {table!r} (schema version {version} has one): it was "
                f"dropped or the file is damaged; refusing to trade on it. {recovery_hint(path)}"
            )
        if missing := [c for c in wanted if c not in tables[table]]:
            raise StateCorrupt(
                f"table {table!r} of {path} has no column {', '.join(map(repr, missing))} "
                f"(schema version {version} has it): the file is damaged; refusing to trade "
                f"on it. {recovery_hint(path)}"
            )
    return version


def migrate(db: sqlite3.Connection, path: Path) -> None:
    """Bring ``db`` up to ``SCHEMA_VERSION``, one transaction per version."""
    db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    row = db.execute("SELECT max(version) FROM schema_version").fetchone()
    current = row[0] or 0
    if current > SCHEMA_VERSION:
        raise SchemaTooNew(
            f"{path} has schema version {current}, newer than this gridmaker "
            f"({SCHEMA_VERSION}); upgrade gridmaker"
        )
    for version in range(current + 1, SCHEMA_VERSION + 1):
        with transaction(db):
            for statement in MIGRATIONS[version]:
                db.execute(statement)
            db.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
