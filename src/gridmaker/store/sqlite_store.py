"""The bot's own SQLite file: books with checksums, applied fills, the intent journal.

One transaction per decision: the book, the fill that caused it and the intents it records are
written together or not at all, so a crash at any instant leaves either the state before the
cause or the state after it — never a fill without its counter-order intent.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from gridmaker import failpoints
from gridmaker.core.events import (
    Action,
    BreakerOrder,
    CapitalChange,
    Event,
    Fill,
    OperatorOrder,
    OrderUpdate,
    PlaceOrder,
    Reconfigure,
)
from gridmaker.core.state import GridState
from gridmaker.db import connect, open_read_only, transaction, tune
from gridmaker.store.codec import canonical_json, checksum, decode_state, encode_state
from gridmaker.store.errors import DataDirUnusable, StateCorrupt, StoreError
from gridmaker.store.files import recovery_hint, refusal
from gridmaker.store.rows import (
    BootRow,
    CommandRecord,
    CommandRow,
    FillRow,
    IntentRow,
    RequestConflict,
)
from gridmaker.store.schema import SCHEMA_VERSION, migrate, verify_store

__all__ = [
    "BootRow",
    "CommandRecord",
    "CommandRow",
    "FillRow",
    "IntentRow",
    "RequestConflict",
    "Store",
]


_COMMAND_EVENTS = (BreakerOrder, OperatorOrder, Reconfigure, CapitalChange)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Store:
    """One SQLite file in WAL mode; a single writer (the running bot)."""

    def __init__(self, path: Path, *, read_only: bool = False, verify: bool = True) -> None:
        """Open ``path``, verified first (``verify_store``) unless the caller just did.

        Nothing is written before the file passed: a refused store is left as it was.
        ``read_only`` (``status``) opens an up-to-date store without writing anything beside
        it; an older one is still migrated first.
        """
        self.path = path
        version = verify_store(path) if verify else None
        self.read_only = read_only and version in (None, SCHEMA_VERSION)
        self._venue_to_bind = ""
        """A venue identity (JSON) to bind with the next saved book; "" when none is due."""
        upgrade = (
            f" (it is at schema version {version}: this gridmaker upgrades it to "
            f"{SCHEMA_VERSION} before reading it, which writes)"
            if read_only and not self.read_only
            else ""
        )
        if not self.read_only:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise DataDirUnusable(f"cannot create {path.parent}: {e.strerror}") from e
        try:
            if self.read_only:
                self._db = open_read_only(path)
            else:
                self._db = connect(path)
        except sqlite3.Error as e:
            raise refusal(path, e, "open" + upgrade) from e
        try:
            if not self.read_only:
                tune(self._db, busy_timeout_ms=5000)
                migrate(self._db, path)
            self._revision = self._max_revision()
        except BaseException as e:
            self._db.close()
            if isinstance(e, sqlite3.Error):
                raise refusal(path, e, "open" + upgrade) from e
            raise

    def close(self) -> None:
        try:
            if not self.read_only:
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            self._db.close()

    def _max_revision(self) -> int:
        row = self._db.execute("SELECT max(revision) FROM books").fetchone()
        return int(row[0] or 0)

    # --- reads -------------------------------------------------------------------------------

    def symbols(self) -> list[str]:
        return [r[0] for r in self._db.execute("SELECT symbol FROM books ORDER BY symbol")]

    def load_book(self, symbol: str) -> GridState | None:
        """The stored book, verified against its checksum; raises ``StateCorrupt``."""
        row = self._db.execute(
            "SELECT state_json, checksum FROM books WHERE symbol = ?", (symbol,)
        ).fetchone()
        if row is None:
            return None
        text, stored = row
        computed = checksum(text)
        if computed != stored:
            raise StateCorrupt(
                f"the stored state of {symbol} in {self.path} fails its checksum "
                f"(stored {stored[:12]}…, computed {computed[:12]}…): refusing to use it. "
                + recovery_hint(self.path)
            )
        try:
            return decode_state(json.loads(text))
        except (ValueError, KeyError, TypeError) as e:
            raise StateCorrupt(
                f"the stored state of {symbol} in {self.path} cannot be decoded ({e}). "
                + recovery_hint(self.path)
            ) from e

    def has_fill(self, symbol: str, trade_id: str) -> bool:
        row = self._db.execute(
            "SELECT 1 FROM fills WHERE symbol = ? AND trade_id = ?", (symbol, trade_id)
        ).fetchone()
        return row is not None

    def fills_page(self, symbol: str, before: int | None, limit: int) -> list[FillRow]:
        """Applied fills, newest first: ``limit`` of them before the row ``before`` (``None``:
        from the newest). A fill's ``seq`` is the cursor for the next page."""
        rows = self._db.execute(
            "SELECT rowid, trade_id, client_order_id, side, price_ticks, qty_steps, fee_atoms, "
            "ts_event FROM fills WHERE symbol = ? AND rowid < ? ORDER BY rowid DESC LIMIT ?",
            (symbol, before if before is not None else 2**63 - 1, limit),
        )
        return [FillRow(*r) for r in rows]

    def has_intent(self, symbol: str, client_order_id: str) -> bool:
        row = self._db.execute(
            "SELECT 1 FROM intents WHERE symbol = ? AND client_order_id = ? AND kind = 'place'",
            (symbol, client_order_id),
        ).fetchone()
        return row is not None

    def fill_count(self, symbol: str) -> int:
        row = self._db.execute("SELECT count(*) FROM fills WHERE symbol = ?", (symbol,)).fetchone()
        return int(row[0])

    def intents(self, symbol: str) -> list[IntentRow]:
        rows = self._db.execute(
            "SELECT symbol, client_order_id, kind, status, reason FROM intents "
            "WHERE symbol = ? ORDER BY revision, client_order_id",
            (symbol,),
        )
        return [IntentRow(*r) for r in rows]

    @property
    def revision(self) -> int:
        """The revision of the last commit: intents and fills carry the one that wrote them."""
        return self._revision

    def last_boot(self, symbol: str) -> BootRow | None:
        row = self._db.execute(
            "SELECT revision, report_json, halted, at FROM boots WHERE symbol = ? "
            "ORDER BY id DESC LIMIT 1",
            (symbol,),
        ).fetchone()
        if row is None:
            return None
        return BootRow(row[0], json.loads(row[1]), row[2], row[3])

    def venue(self) -> dict[str, str] | None:
        """The venue this data dir is bound to (``None``: not bound yet)."""
        row = self._db.execute("SELECT identity_json FROM venue WHERE id = 1").fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def bind_venue(self, identity: Mapping[str, str]) -> None:
        """Bind this data dir to ``identity`` with the first book saved (``commit``), not now:
        a run refused before it saved anything leaves the data dir as it was, unbound."""
        self._venue_to_bind = json.dumps(dict(identity), sort_keys=True)

    @staticmethod
    def _record_venue(db: sqlite3.Connection, identity_json: str) -> None:
        db.execute(
            "INSERT INTO venue (id, identity_json, bound_at) VALUES (1, ?, ?) "
            "ON CONFLICT (id) DO NOTHING",
            (identity_json, _now()),
        )

    def last_halt(self) -> tuple[str, str] | None:
        row = self._db.execute("SELECT reason, at FROM halts ORDER BY id DESC LIMIT 1").fetchone()
        return None if row is None else (row[0], row[1])

    def record_boot(self, symbol: str, report: Mapping[str, int], halted: str) -> None:
        with transaction(self._db) as db:
            db.execute(
                "INSERT INTO boots (symbol, revision, report_json, halted, at) "
                "VALUES (?, ?, ?, ?, ?)",
                (symbol, self._revision, json.dumps(dict(report), sort_keys=True), halted, _now()),
            )

    def add_command(self, symbol: str, command: str, reason: str, payload: str = "") -> int:
        """Queue an operator's command for the running bot (``symbol`` "*" = all)."""
        with transaction(self._db) as db:
            cursor = db.execute(
                "INSERT INTO commands (symbol, command, reason, created_at, payload) "
                "VALUES (?, ?, ?, ?, ?)",
                (symbol, command, reason, _now(), payload or None),
            )
        return int(cursor.lastrowid or 0)

    def add_request(
        self, symbol: str, command: str, reason: str, request_id: str, payload: str = ""
    ) -> int:
        """Queue a command once per ``request_id``: a repeat returns the first one's id.

        Raises ``RequestConflict`` when the id already names a different command.
        """
        with transaction(self._db) as db:
            row = db.execute(
                "SELECT id, symbol, command, coalesce(payload, '') FROM commands "
                "WHERE request_id = ?",
                (request_id,),
            ).fetchone()
            if row is not None:
                if (row[1], row[2], row[3]) != (symbol, command, payload):
                    raise RequestConflict(
                        f"request id {request_id!r} is command {row[0]} ({row[2]} {row[1]}); "
                        "a new request needs a new id"
                    )
                return int(row[0])
            cursor = db.execute(
                "INSERT INTO commands (symbol, command, reason, created_at, request_id, payload) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (symbol, command, reason, _now(), request_id, payload or None),
            )
        return int(cursor.lastrowid or 0)

    def command(self, command_id: int) -> CommandRecord | None:
        rows = self._command_records("WHERE id = ?", (command_id,))
        return rows[0] if rows else None

    def recent_commands(self, limit: int) -> list[CommandRecord]:
        """The last ``limit`` commands, newest first."""
        return self._command_records("ORDER BY id DESC LIMIT ?", (limit,))

    def _command_records(self, where: str, args: tuple[object, ...]) -> list[CommandRecord]:
        rows = self._db.execute(
            "SELECT id, symbol, command, reason, coalesce(request_id, ''), created_at, "
            f"applied_at, coalesce(payload, ''), coalesce(outcome, '') FROM commands {where}",
            args,
        )
        return [CommandRecord.of_row(r) for r in rows]

    def pending_commands(self) -> list[CommandRow]:
        rows = self._db.execute(
            "SELECT id, symbol, command, reason, coalesce(payload, '') FROM commands "
            "WHERE applied_at IS NULL ORDER BY id"
        )
        return [CommandRow(*r) for r in rows]

    def is_command_applied(self, command_id: int) -> bool:
        row = self._db.execute(
            "SELECT applied_at FROM commands WHERE id = ?", (command_id,)
        ).fetchone()
        return row is not None and row[0] is not None

    def mark_command_applied(self, command_id: int, outcome: str = "") -> None:
        """Spend a command; ``outcome`` says why it was refused (kept for the operator)."""
        with transaction(self._db) as db:
            db.execute(
                "UPDATE commands SET applied_at = ?, outcome = ? WHERE id = ?",
                (_now(), outcome or None, command_id),
            )

    def record_halt(self, reason: str) -> None:
        with transaction(self._db) as db:
            db.execute("INSERT INTO halts (reason, at) VALUES (?, ?)", (reason, _now()))

    # --- the one write path ------------------------------------------------------------------

    def commit(
        self,
        state: GridState,
        *,
        causes: Sequence[Event] = (),
        actions: Sequence[Action] = (),
    ) -> None:
        """Save the book with its causes (fills, order updates, operator commands) and its new
        intents, atomically."""
        text = canonical_json(encode_state(state))
        revision = self._revision + 1
        try:
            with transaction(self._db) as db:
                for cause in causes:
                    if isinstance(cause, Fill):
                        self._record_fill(db, cause, revision)
                        failpoints.hit("fill:in-transaction")
                    elif isinstance(cause, OrderUpdate):
                        self._record_update(db, cause, revision)
                    elif isinstance(cause, _COMMAND_EVENTS) and cause.command_id:
                        # The command is spent exactly when the book carrying it is saved.
                        db.execute(
                            "UPDATE commands SET applied_at = ? WHERE id = ?",
                            (_now(), cause.command_id),
                        )
                for action in actions:
                    self._record_intent(db, action, revision)
                if self._venue_to_bind:
                    self._record_venue(db, self._venue_to_bind)
                db.execute(
                    "INSERT INTO books VALUES (?, ?, ?, ?) ON CONFLICT (symbol) DO UPDATE SET "
                    "state_json = excluded.state_json, checksum = excluded.checksum, "
                    "revision = excluded.revision",
                    (state.symbol, text, checksum(text), revision),
                )
        except sqlite3.IntegrityError as e:
            raise StoreError(f"refused a second write of the same fill: {e}") from e
        self._revision = revision
        self._venue_to_bind = ""

    @staticmethod
    def _record_fill(db: sqlite3.Connection, fill: Fill, revision: int) -> None:
        db.execute(
            "INSERT INTO fills VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                fill.symbol,
                fill.trade_id,
                fill.client_order_id,
                fill.side.value,
                fill.price_ticks,
                fill.qty_steps,
                fill.fee_atoms,
                fill.ts_event,
                revision,
            ),
        )

    @staticmethod
    def _record_update(db: sqlite3.Connection, update: OrderUpdate, revision: int) -> None:
        db.execute(
            "UPDATE intents SET status = ?, reason = ?, revision = ? "
            "WHERE symbol = ? AND client_order_id = ?",
            (update.status.value, update.reason, revision, update.symbol, update.client_order_id),
        )

    @staticmethod
    def _record_intent(db: sqlite3.Connection, action: Action, revision: int) -> None:
        is_place = isinstance(action, PlaceOrder)
        db.execute(
            "INSERT INTO intents VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', '', ?) "
            "ON CONFLICT (symbol, client_order_id, kind) DO UPDATE SET "
            "status = 'pending', reason = '', revision = excluded.revision",
            (
                action.symbol,
                action.client_order_id,
                "place" if is_place else "cancel",
                action.side.value if isinstance(action, PlaceOrder) else None,
                action.level,
                action.price_ticks if isinstance(action, PlaceOrder) else None,
                action.qty_steps if isinstance(action, PlaceOrder) else None,
                revision,
            ),
        )
