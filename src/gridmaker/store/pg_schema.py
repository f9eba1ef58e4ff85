"""The store's schema on PostgreSQL: the SQLite store's tables, each keyed by a ``store_id``.

Many grids share one database, so every row carries its namespace (``store_id``) and every
key starts with it. The tables live in their own schema, ``gridmaker`` (DBOS keeps ``dbos``).
Text that is sorted or compared as an id is ``COLLATE "C"``: byte order, as SQLite sorts,
whatever the database's locale. Migrations run once per database under a transaction-level
advisory lock, so two bots starting at once do not both create the tables.
"""

from __future__ import annotations

from typing import Final

import psycopg

from gridmaker.store.errors import SchemaTooNew, StateCorrupt

__all__ = ["PG_MIGRATIONS", "PG_SCHEMA", "PG_SCHEMA_VERSION", "migrate_pg", "verify_pg"]

PG_SCHEMA: Final = "gridmaker"
PG_SCHEMA_VERSION: Final = 2
"""Its own numbering: version 1 holds what the SQLite store has at its version 6; version 2
adds the fleet's tables (``docs/adr/0009-fleet-ownership-by-epoch.md``)."""

_MIGRATION_LOCK: Final = 0x6772_6964_6D6B_0001
"""The advisory lock key that serializes migrations of one database ("gridmk" + 1)."""

_ID = 'TEXT COLLATE "C" NOT NULL'

PG_MIGRATIONS: Final[dict[int, tuple[str, ...]]] = {
    1: (
        f"""CREATE TABLE {PG_SCHEMA}.books (
            store_id {_ID},
            symbol {_ID},
            state_json TEXT NOT NULL,
            checksum TEXT NOT NULL,
            revision BIGINT NOT NULL,
            PRIMARY KEY (store_id, symbol)
        )""",
        f"""CREATE TABLE {PG_SCHEMA}.fills (
            seq BIGINT GENERATED ALWAYS AS IDENTITY,
            store_id {_ID},
            symbol {_ID},
            trade_id {_ID},
            client_order_id {_ID},
            side TEXT NOT NULL,
            price_ticks BIGINT NOT NULL,
            qty_steps BIGINT NOT NULL,
            fee_atoms BIGINT NOT NULL,
            ts_event BIGINT NOT NULL,
            revision BIGINT NOT NULL,
            PRIMARY KEY (store_id, symbol, trade_id)
        )""",
        f"CREATE INDEX fills_by_seq ON {PG_SCHEMA}.fills (store_id, symbol, seq)",
        f"""CREATE TABLE {PG_SCHEMA}.intents (
            store_id {_ID},
            symbol {_ID},
            client_order_id {_ID},
            kind TEXT NOT NULL,
            intent_side TEXT,
            intent_level BIGINT NOT NULL,
            intent_price_ticks BIGINT,
            intent_qty_steps BIGINT,
            status TEXT NOT NULL,
            reason TEXT NOT NULL DEFAULT '',
            revision BIGINT NOT NULL,
            PRIMARY KEY (store_id, symbol, client_order_id, kind)
        )""",
        f"""CREATE TABLE {PG_SCHEMA}.boots (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            store_id {_ID},
            symbol {_ID},
            revision BIGINT NOT NULL,
            report_json TEXT NOT NULL,
            halted TEXT NOT NULL,
            at TEXT NOT NULL
        )""",
        f"""CREATE TABLE {PG_SCHEMA}.halts (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            store_id {_ID},
            reason TEXT NOT NULL,
            at TEXT NOT NULL
        )""",
        f"""CREATE TABLE {PG_SCHEMA}.commands (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            store_id {_ID},
            symbol {_ID},
            command TEXT NOT NULL,
            reason TEXT NOT NULL,
            created_at TEXT NOT NULL,
            applied_at TEXT,
            request_id TEXT,
            payload TEXT,
            outcome TEXT,
            UNIQUE (store_id, request_id)
        )""",
        f"""CREATE TABLE {PG_SCHEMA}.venue (
            store_id {_ID} PRIMARY KEY,
            identity_json TEXT NOT NULL,
            bound_at TEXT NOT NULL
        )""",
    ),
    2: (
        f"""CREATE TABLE {PG_SCHEMA}.fleet_grids (
            name {_ID} PRIMARY KEY,
            account TEXT NOT NULL,
            config TEXT NOT NULL,
            added_at TIMESTAMPTZ NOT NULL,
            removed_at TIMESTAMPTZ,
            remove_mode TEXT NOT NULL,
            generation BIGINT NOT NULL
        )""",
        f"""CREATE TABLE {PG_SCHEMA}.fleet_owners (
            grid {_ID} PRIMARY KEY,
            owner TEXT NOT NULL,
            epoch BIGINT NOT NULL,
            lease_until TIMESTAMPTZ NOT NULL,
            state TEXT NOT NULL,
            trading_since TIMESTAMPTZ,
            last_sync TIMESTAMPTZ
        )""",
        f"""CREATE TABLE {PG_SCHEMA}.fleet_workers (
            worker {_ID} PRIMARY KEY,
            host TEXT NOT NULL,
            pid INTEGER NOT NULL,
            version TEXT NOT NULL,
            started_at TIMESTAMPTZ NOT NULL,
            heartbeat_at TIMESTAMPTZ NOT NULL,
            stopped_at TIMESTAMPTZ,
            recovered_at TIMESTAMPTZ
        )""",
        f"""CREATE TABLE {PG_SCHEMA}.fleet_history (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            at TIMESTAMPTZ NOT NULL,
            grid {_ID},
            worker TEXT NOT NULL,
            epoch BIGINT NOT NULL,
            event TEXT NOT NULL,
            detail TEXT NOT NULL
        )""",
        f"CREATE INDEX fleet_history_by_grid ON {PG_SCHEMA}.fleet_history (grid, id)",
        f"""CREATE TABLE {PG_SCHEMA}.fleet_limits (
            scope {_ID} PRIMARY KEY,
            max_drawdown TEXT,
            max_exposure TEXT,
            high_water TEXT,
            tripped_at TIMESTAMPTZ,
            reason TEXT NOT NULL
        )""",
        f"""CREATE TABLE {PG_SCHEMA}.fleet_marks (
            grid {_ID} PRIMARY KEY,
            account TEXT NOT NULL,
            quote TEXT NOT NULL,
            equity TEXT NOT NULL,
            exposure TEXT NOT NULL,
            epoch BIGINT NOT NULL,
            at TIMESTAMPTZ NOT NULL
        )""",
        f"""CREATE TABLE {PG_SCHEMA}.rate_windows (
            key_id {_ID} PRIMARY KEY,
            window_start BIGINT NOT NULL,
            used INTEGER NOT NULL,
            blocked_until DOUBLE PRECISION NOT NULL
        )""",
    ),
}

_VERSION_TABLE: Final = f"{PG_SCHEMA}.schema_version"


def _tables(db: psycopg.Connection[tuple[object, ...]]) -> dict[str, list[str]]:
    """Every table of the ``gridmaker`` schema and its columns, in order."""
    found: dict[str, list[str]] = {}
    rows = db.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = %s ORDER BY table_name, ordinal_position",
        (PG_SCHEMA,),
    ).fetchall()
    for table, column in rows:
        found.setdefault(str(table), []).append(str(column))
    return found


def expected_pg_columns(version: int) -> dict[str, list[str]]:
    """The tables and columns the migrations up to ``version`` create (parsed from the DDL)."""
    tables: dict[str, list[str]] = {}
    for v in range(1, version + 1):
        for statement in PG_MIGRATIONS[v]:
            head, _, body = statement.partition("(")
            if not head.lstrip().upper().startswith("CREATE TABLE"):
                continue
            name = head.split(".")[-1].strip()
            cols = [line.strip().split()[0] for line in body.splitlines()[1:] if line.strip()]
            tables[name] = [c for c in cols if c.isidentifier() and c.upper() not in _KEYWORDS]
    return tables


_KEYWORDS: Final = frozenset({"PRIMARY", "UNIQUE"})


def verify_pg(db: psycopg.Connection[tuple[object, ...]], where: str) -> int:
    """The database's schema version (0: none yet), checked without writing anything.

    Raises ``SchemaTooNew`` for a newer gridmaker's schema and ``StateCorrupt`` for a table
    or a column that its version has and the database lacks (it would fail mid-trade).
    """
    tables = _tables(db)
    if "schema_version" not in tables:
        if tables:
            raise StateCorrupt(
                f"{where} has tables in schema {PG_SCHEMA!r} ({', '.join(sorted(tables))}) but "
                "no schema_version: it is not a gridmaker store or it is damaged; refusing it"
            )
        return 0
    row = db.execute(f"SELECT max(version) FROM {_VERSION_TABLE}").fetchone()
    version = int(str(row[0])) if row and row[0] is not None else 0
    if version > PG_SCHEMA_VERSION:
        raise SchemaTooNew(
            f"{where} has schema version {version}, newer than this gridmaker "
            f"({PG_SCHEMA_VERSION}): it was written by a newer gridmaker. Upgrade gridmaker; "
            "the database is left as it is"
        )
    for table, wanted in expected_pg_columns(version).items():
        if table not in tables:
            raise StateCorrupt(
                f"{where} has no table {PG_SCHEMA}.{table} (schema version {version} has "
                "one): it was dropped; refusing to trade on it"
            )
        if missing := [c for c in wanted if c not in tables[table]]:
            raise StateCorrupt(
                f"table {PG_SCHEMA}.{table} of {where} has no column "
                f"{', '.join(map(repr, missing))} (schema version {version} has it); refusing "
                "to trade on it"
            )
    return version


def migrate_pg(db: psycopg.Connection[tuple[object, ...]], where: str) -> None:
    """Bring the database up to ``PG_SCHEMA_VERSION``, all in one transaction, under the
    migration lock (a second bot starting at once waits, then finds it done)."""
    with db.transaction():
        db.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        db.execute(f"CREATE SCHEMA IF NOT EXISTS {PG_SCHEMA}")
        db.execute(f"CREATE TABLE IF NOT EXISTS {_VERSION_TABLE} (version INTEGER NOT NULL)")
        current = verify_pg(db, where)
        for version in range(current + 1, PG_SCHEMA_VERSION + 1):
            for statement in PG_MIGRATIONS[version]:
                db.execute(statement)  # our own constant DDL
            db.execute(f"INSERT INTO {_VERSION_TABLE} (version) VALUES (%s)", (version,))
