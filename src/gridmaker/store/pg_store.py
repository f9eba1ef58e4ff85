"""The store on PostgreSQL: the SQLite store's promises, many grids in one database.

Same rows, same canonical JSON and checksum (``codec``), same one transaction per decision
(fills + intents + the command it applies + the book). Each bot's rows carry its namespace
(``store_id``, the URL's ``grid``), so two bots sharing a database never see each other's.

One writer per namespace, as the data-dir lock gives on SQLite: the writer takes a
session-level advisory lock on the namespace at open, without waiting, and holds it until it
closes (or its connection dies, when PostgreSQL releases it). Readers (``status``) take none.

``PgStore`` is a ``Store`` for the callers typed against it (executors, the control API) and
overrides every one of its methods; it uses one synchronous connection, like the SQLite
store. The connection is in autocommit mode so that no statement opens a transaction behind
our back: every write runs in an explicit ``transaction()`` block (BEGIN ... COMMIT, ROLLBACK
on any raise), exactly as the SQLite store's ``BEGIN IMMEDIATE`` blocks. A lock serializes
callers from other threads, so no two blocks ever nest on the one connection.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from typing import Any

import psycopg

from gridmaker import failpoints
from gridmaker.core.events import (
    Action,
    BreakerOrder,
    CapitalChange,
    Event,
    Fill,
    OperatorOrder,
    OrderUpdate,
    Reconfigure,
)
from gridmaker.core.state import GridState
from gridmaker.store.codec import canonical_json, checksum, decode_state, encode_state
from gridmaker.store.errors import DataDirUnusable, StateCorrupt, StoreError
from gridmaker.store.lock import AlreadyRunning
from gridmaker.store.pg_fence import FENCE_SQL, Fence
from gridmaker.store.pg_schema import PG_SCHEMA, PG_SCHEMA_VERSION, migrate_pg, verify_pg
from gridmaker.store.pg_writes import insert_fill, update_intent, upsert_intent
from gridmaker.store.rows import (
    BootRow,
    CommandRecord,
    CommandRow,
    FillRow,
    IntentRow,
    RequestConflict,
)
from gridmaker.store.sqlite_store import Store
from gridmaker.store.url import StoreUrl

__all__ = ["PgStore", "StoreUnreachable"]

_COMMAND_EVENTS = (BreakerOrder, OperatorOrder, Reconfigure, CapitalChange)
_S = PG_SCHEMA
_Db = psycopg.Connection[tuple[Any, ...]]


class StoreUnreachable(DataDirUnusable):
    """The server does not answer or refuses the login: nothing was read or written."""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class PgStore(Store):
    """One namespace (``url.namespace``) of a PostgreSQL database; a single writer."""

    def __init__(
        self,
        url: StoreUrl,
        *,
        read_only: bool = False,
        exclusive: bool | None = None,
        fence: Fence | None = None,
        session_options: str = "",
    ) -> None:
        """Connect, check the schema, take the namespace's lock (``exclusive``, default: when
        writing), then migrate; nothing is written before all of those passed.

        A fleet worker passes ``fence`` instead of the lock (``exclusive=False``): every write
        transaction then checks the owner's epoch first (``pg_fence``), so a worker that lost
        the grid writes nothing, however long it slept. ``session_options`` are the server
        settings of the connection (libpq ``options``), e.g. an idle-in-transaction timeout
        so that a stopped worker's open transaction cannot hold a takeover up.

        Raises ``DataDirUnusable`` (no answer, refused login), ``AlreadyRunning``,
        ``SchemaTooNew`` or ``StateCorrupt``.
        """
        if url.conninfo is None:
            raise ValueError("PgStore needs a postgresql:// URL")
        self.url = url
        self.namespace = url.namespace
        self.where = f"{url.shown} (grid {url.namespace})"
        self.read_only = read_only
        self._venue_to_bind = ""
        self._mutex = threading.RLock()
        self.fence = fence
        self._pg: _Db = self._connect(url, session_options)
        try:
            version = verify_pg(self._pg, self.where)
            if read_only and version == 0:  # a reader writes nothing, not even the tables
                raise StateCorrupt(f"no gridmaker state at {self.where}: no bot has run there")
            if exclusive if exclusive is not None else not read_only:
                self._lock_namespace()
            if version < PG_SCHEMA_VERSION:
                migrate_pg(self._pg, self.where)
            elif read_only:
                self._pg.read_only = True
            self._revision = self._max_revision()
        except BaseException as e:
            self.close()
            if isinstance(e, psycopg.Error):
                raise self._unusable(e, "open") from None
            raise

    def _connect(self, url: StoreUrl, options: str) -> _Db:
        conninfo = psycopg.conninfo.make_conninfo(url.conninfo or "", options=options or None)
        try:
            return psycopg.connect(conninfo, autocommit=True, connect_timeout=10)
        except psycopg.Error as e:
            refused = self._unusable(e, "connect to")
            raise StoreUnreachable(
                f"{refused}. Start PostgreSQL there or fix the URL (GRIDMAKER_STORE_URL or "
                "the config's store:)"
            ) from None

    def _unusable(self, e: psycopg.Error, doing: str) -> DataDirUnusable:
        text = str(e).strip().replace("\n", " ")
        password = self._password()
        if password:
            text = text.replace(password, "***")
        return DataDirUnusable(f"cannot {doing} the store at {self.where}: {text}")

    def _password(self) -> str:
        from gridmaker.store.url import password_of

        return password_of(self.url.conninfo or "")

    def _lock_namespace(self) -> None:
        row = self._pg.execute(
            "SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", (self._lock_key(),)
        ).fetchone()
        if not row or not row[0]:
            raise AlreadyRunning(
                f"another gridmaker process is running on {self.where}: one writer per grid "
                "(give this bot another grid= in its store URL)"
            )

    def _lock_key(self) -> str:
        return f"gridmaker:{self.namespace}"

    def is_held_elsewhere(self) -> bool:
        """True while another session holds this namespace's writer lock."""
        with self._mutex:
            row = self._pg.execute(
                "SELECT count(*) FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted "
                "AND l.pid <> pg_backend_pid() AND l.objsubid = 1 AND l.database = "
                "(SELECT oid FROM pg_database WHERE datname = current_database()) AND "
                "((l.classid::bigint << 32) | l.objid::bigint) = hashtextextended(%s, 0)",
                (self._lock_key(),),
            ).fetchone()
        return bool(row and row[0])

    def close(self) -> None:
        """Release the grid before hanging up: the server ends a closed session a moment
        later, and a bot restarted at once must not find its own lock still held."""
        with self._mutex, suppress(psycopg.Error):
            if not self._pg.closed:
                self._pg.execute("SELECT pg_advisory_unlock_all()")
        self._pg.close()

    @contextmanager
    def _tx(self) -> Iterator[_Db]:
        with self._mutex, self._pg.transaction():
            if (
                self.fence is not None
                and not self._pg.execute(FENCE_SQL, self.fence.args()).fetchone()
            ):
                raise self.fence.refusal()
            yield self._pg

    def _one(self, query: str, args: Sequence[object] = ()) -> tuple[Any, ...] | None:
        with self._mutex:
            return self._pg.execute(query, (self.namespace, *args)).fetchone()

    def _all(self, query: str, args: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        with self._mutex:
            return self._pg.execute(query, (self.namespace, *args)).fetchall()

    def _max_revision(self) -> int:
        row = self._one(f"SELECT max(revision) FROM {_S}.books WHERE store_id = %s")
        return int(row[0] or 0) if row else 0

    # --- reads -------------------------------------------------------------------------------

    def symbols(self) -> list[str]:
        rows = self._all(f"SELECT symbol FROM {_S}.books WHERE store_id = %s ORDER BY symbol")
        return [r[0] for r in rows]

    def load_book(self, symbol: str) -> GridState | None:
        """The stored book, verified against its checksum; raises ``StateCorrupt``."""
        row = self._one(
            f"SELECT state_json, checksum FROM {_S}.books WHERE store_id = %s AND symbol = %s",
            (symbol,),
        )
        if row is None:
            return None
        text, stored = row
        computed = checksum(text)
        if computed != stored:
            raise StateCorrupt(
                f"the stored state of {symbol} in {self.where} fails its checksum (stored "
                f"{stored[:12]}…, computed {computed[:12]}…): refusing to use it. Do not edit "
                "it by hand: restore the database from a backup, or start over with a new grid="
                " after cancelling this bot's open orders at the venue."
            )
        try:
            return decode_state(json.loads(text))
        except (ValueError, KeyError, TypeError) as e:
            raise StateCorrupt(
                f"the stored state of {symbol} in {self.where} cannot be decoded ({e})"
            ) from e

    def has_fill(self, symbol: str, trade_id: str) -> bool:
        return (
            self._one(
                f"SELECT 1 FROM {_S}.fills WHERE store_id = %s AND symbol = %s AND trade_id = %s",
                (symbol, trade_id),
            )
            is not None
        )

    def fills_page(self, symbol: str, before: int | None, limit: int) -> list[FillRow]:
        """Applied fills, newest first, ``limit`` of them before ``seq`` ``before``."""
        rows = self._all(
            "SELECT seq, trade_id, client_order_id, side, price_ticks, qty_steps, fee_atoms, "
            f"ts_event FROM {_S}.fills WHERE store_id = %s AND symbol = %s AND seq < %s "
            "ORDER BY seq DESC LIMIT %s",
            (symbol, before if before is not None else 2**63 - 1, limit),
        )
        return [FillRow(*r) for r in rows]

    def has_intent(self, symbol: str, client_order_id: str) -> bool:
        row = self._one(
            f"SELECT 1 FROM {_S}.intents WHERE store_id = %s AND symbol = %s "
            "AND client_order_id = %s AND kind = 'place'",
            (symbol, client_order_id),
        )
        return row is not None

    def fill_count(self, symbol: str) -> int:
        row = self._one(
            f"SELECT count(*) FROM {_S}.fills WHERE store_id = %s AND symbol = %s", (symbol,)
        )
        return int(row[0]) if row else 0

    def intents(self, symbol: str) -> list[IntentRow]:
        rows = self._all(
            f"SELECT symbol, client_order_id, kind, status, reason FROM {_S}.intents "
            "WHERE store_id = %s AND symbol = %s ORDER BY revision, client_order_id",
            (symbol,),
        )
        return [IntentRow(*r) for r in rows]

    def last_boot(self, symbol: str) -> BootRow | None:
        row = self._one(
            f"SELECT revision, report_json, halted, at FROM {_S}.boots "
            "WHERE store_id = %s AND symbol = %s ORDER BY id DESC LIMIT 1",
            (symbol,),
        )
        return None if row is None else BootRow(row[0], json.loads(row[1]), row[2], row[3])

    def venue(self) -> dict[str, str] | None:
        """The venue this grid is bound to (``None``: not bound yet)."""
        row = self._one(f"SELECT identity_json FROM {_S}.venue WHERE store_id = %s")
        return None if row is None else dict(json.loads(row[0]))

    def bind_venue(self, identity: Mapping[str, str]) -> None:
        """Bind with the first book saved (``commit``), not now, as the SQLite store does."""
        self._venue_to_bind = json.dumps(dict(identity), sort_keys=True)

    def last_halt(self) -> tuple[str, str] | None:
        row = self._one(
            f"SELECT reason, at FROM {_S}.halts WHERE store_id = %s ORDER BY id DESC LIMIT 1"
        )
        return None if row is None else (row[0], row[1])

    # --- small writes ------------------------------------------------------------------------

    def record_boot(self, symbol: str, report: Mapping[str, int], halted: str) -> None:
        with self._tx() as db:
            db.execute(
                f"INSERT INTO {_S}.boots (store_id, symbol, revision, report_json, halted, at) "
                "VALUES (%s, %s, %s, %s, %s, %s)",
                (
                    self.namespace,
                    symbol,
                    self._revision,
                    json.dumps(dict(report), sort_keys=True),
                    halted,
                    _now(),
                ),
            )

    def add_command(self, symbol: str, command: str, reason: str, payload: str = "") -> int:
        """Queue an operator's command for the running bot (``symbol`` "*" = all)."""
        with self._tx() as db:
            row = db.execute(
                f"INSERT INTO {_S}.commands (store_id, symbol, command, reason, created_at, "
                "payload) VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
                (self.namespace, symbol, command, reason, _now(), payload or None),
            ).fetchone()
        return int(row[0]) if row else 0

    def add_request(
        self, symbol: str, command: str, reason: str, request_id: str, payload: str = ""
    ) -> int:
        """Queue a command once per ``request_id``: a repeat returns the first one's id.

        Raises ``RequestConflict`` when the id already names a different command. The insert
        skips a conflicting row, so two callers racing with one id get one command.
        """
        with self._tx() as db:
            inserted = db.execute(
                f"INSERT INTO {_S}.commands (store_id, symbol, command, reason, created_at, "
                "request_id, payload) VALUES (%s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (store_id, request_id) DO NOTHING RETURNING id",
                (self.namespace, symbol, command, reason, _now(), request_id, payload or None),
            ).fetchone()
            if inserted is not None:
                return int(inserted[0])
            row = db.execute(
                f"SELECT id, symbol, command, coalesce(payload, '') FROM {_S}.commands "
                "WHERE store_id = %s AND request_id = %s",
                (self.namespace, request_id),
            ).fetchone()
        if row is None:  # pragma: no cover - the conflict above proves the row exists
            raise StoreError(f"request id {request_id!r} conflicted but was not found")
        if (row[1], row[2], row[3]) != (symbol, command, payload):
            raise RequestConflict(
                f"request id {request_id!r} is command {row[0]} ({row[2]} {row[1]}); "
                "a new request needs a new id"
            )
        return int(row[0])

    def command(self, command_id: int) -> CommandRecord | None:
        rows = self._command_records("AND id = %s", (command_id,))
        return rows[0] if rows else None

    def recent_commands(self, limit: int) -> list[CommandRecord]:
        """The last ``limit`` commands, newest first."""
        return self._command_records("ORDER BY id DESC LIMIT %s", (limit,))

    def _command_records(self, where: str, args: tuple[object, ...]) -> list[CommandRecord]:
        rows = self._all(
            "SELECT id, symbol, command, reason, coalesce(request_id, ''), created_at, "
            f"applied_at, coalesce(payload, ''), coalesce(outcome, '') FROM {_S}.commands "
            f"WHERE store_id = %s {where}",
            args,
        )
        return [CommandRecord.of_row(r) for r in rows]

    def pending_commands(self) -> list[CommandRow]:
        rows = self._all(
            f"SELECT id, symbol, command, reason, coalesce(payload, '') FROM {_S}.commands "
            "WHERE store_id = %s AND applied_at IS NULL ORDER BY id"
        )
        return [CommandRow(*r) for r in rows]

    def is_command_applied(self, command_id: int) -> bool:
        row = self._one(
            f"SELECT applied_at FROM {_S}.commands WHERE store_id = %s AND id = %s",
            (command_id,),
        )
        return row is not None and row[0] is not None

    def mark_command_applied(self, command_id: int, outcome: str = "") -> None:
        """Spend a command; ``outcome`` says why it was refused (kept for the operator)."""
        with self._tx() as db:
            db.execute(
                f"UPDATE {_S}.commands SET applied_at = %s, outcome = %s "
                "WHERE store_id = %s AND id = %s",
                (_now(), outcome or None, self.namespace, command_id),
            )

    def record_halt(self, reason: str) -> None:
        with self._tx() as db:
            db.execute(
                f"INSERT INTO {_S}.halts (store_id, reason, at) VALUES (%s, %s, %s)",
                (self.namespace, reason, _now()),
            )

    # --- the one write path ------------------------------------------------------------------

    def commit(
        self,
        state: GridState,
        *,
        causes: Sequence[Event] = (),
        actions: Sequence[Action] = (),
    ) -> None:
        """Save the book with its causes and its new intents, atomically."""
        text = canonical_json(encode_state(state))
        revision = self._revision + 1
        ns = self.namespace
        try:
            with self._tx() as db:
                for cause in causes:
                    if isinstance(cause, Fill):
                        insert_fill(db, ns, cause, revision)
                        failpoints.hit("fill:in-transaction")
                    elif isinstance(cause, OrderUpdate):
                        update_intent(db, ns, cause, revision)
                    elif isinstance(cause, _COMMAND_EVENTS) and cause.command_id:
                        db.execute(
                            f"UPDATE {_S}.commands SET applied_at = %s "
                            "WHERE store_id = %s AND id = %s",
                            (_now(), ns, cause.command_id),
                        )
                for action in actions:
                    upsert_intent(db, ns, action, revision)
                if self._venue_to_bind:
                    db.execute(
                        f"INSERT INTO {_S}.venue (store_id, identity_json, bound_at) "
                        "VALUES (%s, %s, %s) ON CONFLICT (store_id) DO NOTHING",
                        (ns, self._venue_to_bind, _now()),
                    )
                db.execute(
                    f"INSERT INTO {_S}.books VALUES (%s, %s, %s, %s, %s) "
                    "ON CONFLICT (store_id, symbol) DO UPDATE SET "
                    "state_json = excluded.state_json, checksum = excluded.checksum, "
                    "revision = excluded.revision",
                    (ns, state.symbol, text, checksum(text), revision),
                )
        except psycopg.errors.UniqueViolation as e:
            raise StoreError(f"refused a second write of the same fill: {e}") from e
        except psycopg.Error as e:
            raise self._unusable(e, "save to") from e
        self._revision = revision
        self._venue_to_bind = ""
