"""The simulator's SQLite file: one transaction per operation, read back once when reopened.

WAL with ``synchronous=NORMAL``: a process killed at any instant reopens exactly as it was after
the last completed operation. ``SimExchange`` keeps everything in memory and only writes here;
what one operation changes is a ``Batch``, written whole or not at all.

A file is checked read-only (``check_state_file``) before it is opened for writing, so a
refused file is left as it was, never half-created or migrated.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass, field, fields
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, TypeVar

from gridmaker.core.events import OrderStatus, Side
from gridmaker.db import (
    cause_of,
    columns,
    connect,
    expected_columns,
    has_sqlite_header,
    open_read_only,
    quick_check,
    transaction,
    tune,
)
from gridmaker.exchange.api import Balance, ExchangeFill, ExchangeOrder, Unavailable
from gridmaker.exchange.sim.tape import CREATE_PRINTS, Print, read_prints, write_prints

__all__ = ["SCHEMA_VERSION", "Batch", "MarketState", "SimFile", "SimFileError", "check_state_file"]

SCHEMA_VERSION: Final = 1

_DECODE: Final[dict[str, Callable[[Any], Any]]] = {
    "side": Side,
    "status": OrderStatus,
    "price": Decimal,
    "amount": Decimal,
    "filled": Decimal,
    "fee": Decimal,
    "is_maker": bool,
    "ts_event": int,
}
"""How a column of ``orders`` or ``fills`` becomes its field again (``str`` otherwise)."""


def _columns(kind: type[ExchangeOrder | ExchangeFill]) -> str:
    return ", ".join(f.name for f in fields(kind))


_SCHEMA: Final = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE balances (asset TEXT PRIMARY KEY, free TEXT NOT NULL, locked TEXT NOT NULL)",
    f"CREATE TABLE orders (id INTEGER PRIMARY KEY, {_columns(ExchangeOrder)})",
    f"CREATE TABLE fills (seq INTEGER PRIMARY KEY, {_columns(ExchangeFill)})",
    "CREATE TABLE markets (symbol TEXT PRIMARY KEY, last_price TEXT NOT NULL,"
    " position INTEGER NOT NULL, feed_key TEXT NOT NULL, ts_event INTEGER NOT NULL)",
)
"""Decimals are stored as their exact text, enums as their value, ``last_price`` "" as None."""

_Record = TypeVar("_Record", ExchangeOrder, ExchangeFill)


@dataclass(frozen=True, slots=True, kw_only=True)
class MarketState:
    """Per symbol: the last trade's price and time, trades applied, and the bound feed's key."""

    last_price: Decimal | None = None
    position: int = 0
    feed_key: str = ""
    ts_event: int = 0


@dataclass(slots=True)
class Batch:
    """Everything one operation changes: written in one transaction, then applied to memory."""

    orders: dict[int, ExchangeOrder] = field(default_factory=dict)
    fills: list[tuple[int, ExchangeFill]] = field(default_factory=list)
    balances: dict[str, Balance] = field(default_factory=dict)
    markets: dict[str, MarketState] = field(default_factory=dict)
    prints: list[Print] = field(default_factory=list)


class SimFileError(ValueError):
    """The simulator's file cannot be used: damaged (``read_only`` False) or not writable."""

    def __init__(self, message: str, *, read_only: bool = False) -> None:
        super().__init__(message)
        self.read_only = read_only


class SimFile:
    """An open simulator file; ``open`` makes one, ``write`` commits a batch."""

    def __init__(self, db: sqlite3.Connection, path: Path) -> None:
        self._db = db
        self.path = path

    @classmethod
    def open(cls, path: Path, funding: Batch, seed: int) -> tuple[SimFile, Batch, int]:
        """Open ``path``, or create it funded by ``funding`` with ``seed``.

        Returns the file, its contents to apply to memory and its seed (a reopened file keeps
        its own). Raises ``SimFileError``.
        """
        check_state_file(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            db = connect(path)
        except (OSError, sqlite3.Error) as e:
            raise SimFileError(
                f"cannot open the SimExchange file {path}: {e}", read_only=True
            ) from e
        try:
            tune(db)
            if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'meta'").fetchone():
                db.execute(CREATE_PRINTS)  # a file from before the tape gains it (``tape``)
                batch, seed = _read(db, path)
            else:
                with transaction(db):
                    for statement in (*_SCHEMA, CREATE_PRINTS):
                        db.execute(statement)
                    meta = [("schema_version", str(SCHEMA_VERSION)), ("seed", str(seed))]
                    db.executemany("INSERT INTO meta VALUES (?, ?)", meta)
                    _write(db, funding)
                batch = funding
        except BaseException as e:
            db.close()
            if isinstance(e, sqlite3.DatabaseError):
                raise SimFileError(
                    f"cannot open the SimExchange file {path}: {e}",
                    read_only=cause_of(e).is_access,
                ) from e
            raise
        return cls(db, path), batch, seed

    def write(self, batch: Batch) -> None:
        """Commit ``batch`` in one transaction; ``Unavailable`` if it could not be written."""
        try:
            with transaction(self._db) as db:
                _write(db, batch)
        except sqlite3.Error as e:
            raise Unavailable(f"SimExchange could not write {self.path}: {e}") from e

    def close(self) -> None:
        """Checkpoint the log into the file and close it."""
        try:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            self._db.close()


def _read(db: sqlite3.Connection, path: Path) -> tuple[Batch, int]:
    meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
    if meta.get("schema_version") != str(SCHEMA_VERSION):
        raise SimFileError(
            f"{path} has SimExchange schema version {meta.get('schema_version')}, "
            f"this gridmaker reads version {SCHEMA_VERSION}"
        )
    batch = Batch()
    for asset, free, locked in db.execute("SELECT * FROM balances"):
        batch.balances[asset] = Balance(asset=asset, free=Decimal(free), locked=Decimal(locked))
    for row in db.execute("SELECT * FROM orders ORDER BY id"):
        batch.orders[row[0]] = _decoded(ExchangeOrder, row)
    for row in db.execute("SELECT * FROM fills ORDER BY seq"):
        batch.fills.append((row[0], _decoded(ExchangeFill, row)))
    for symbol, last, position, key, ts_event in db.execute("SELECT * FROM markets"):
        batch.markets[symbol] = MarketState(
            last_price=Decimal(last) if last else None,
            position=position,
            feed_key=key,
            ts_event=ts_event,
        )
    batch.prints = read_prints(db)
    return batch, int(meta["seed"])


_DAMAGED_HINT: Final = (
    "It holds the simulated venue's orders, balances and fills: restore it from a backup, or "
    "start over with a new --data-dir."
)


def check_state_file(path: Path) -> None:
    """Raise ``SimFileError`` unless ``path`` is absent, empty, or an intact simulator file.

    Reads only (``db.open_read_only``, so SQLite creates no side files): SQLite's header and
    ``quick_check``, then every table and column.
    """
    if not path.exists() or (path.is_file() and path.stat().st_size == 0):
        return
    try:
        is_sqlite = has_sqlite_header(path)
    except OSError as e:
        raise SimFileError(
            f"cannot read the SimExchange file {path}: {e.strerror}", read_only=True
        ) from e
    if not is_sqlite:
        raise SimFileError(
            f"the SimExchange file {path} is not a SQLite database (overwritten or truncated). "
            + _DAMAGED_HINT
        )
    try:
        with closing(open_read_only(path)) as db:
            problems = quick_check(db)
            tables = columns(db)
    except sqlite3.Error as e:
        is_access = cause_of(e).is_access
        raise SimFileError(
            f"cannot read the SimExchange file {path}: {e}. "
            + ("" if is_access else _DAMAGED_HINT),
            read_only=is_access,
        ) from e
    if problems:
        raise SimFileError(
            f"the SimExchange file {path} fails SQLite's integrity check "
            f"({'; '.join(problems)}). {_DAMAGED_HINT}"
        )
    if not tables:
        return
    for table, expected in expected_columns(_SCHEMA).items():
        if table not in tables:
            raise SimFileError(
                f"the SimExchange file {path} has no table {table!r}. {_DAMAGED_HINT}"
            )
        if missing := [c for c in expected if c not in tables[table]]:
            raise SimFileError(
                f"table {table!r} of the SimExchange file {path} has no column "
                f"{', '.join(map(repr, missing))}. {_DAMAGED_HINT}"
            )


def _write(db: sqlite3.Connection, batch: Batch) -> None:
    """Upsert the batch's balances, orders and markets; insert its fills and prints (no
    transaction)."""
    balances = [(b.asset, str(b.free), str(b.locked)) for b in batch.balances.values()]
    db.executemany("INSERT OR REPLACE INTO balances VALUES (?, ?, ?)", balances)
    order_marks = ", ?" * len(fields(ExchangeOrder))
    orders = [(oid, *_row(order)) for oid, order in batch.orders.items()]
    db.executemany(f"INSERT OR REPLACE INTO orders VALUES (?{order_marks})", orders)
    fill_marks = ", ?" * len(fields(ExchangeFill))
    fills = [(seq, *_row(fill)) for seq, fill in batch.fills]
    db.executemany(f"INSERT INTO fills VALUES (?{fill_marks})", fills)
    markets = [
        (symbol, str(m.last_price or ""), m.position, m.feed_key, m.ts_event)
        for symbol, m in batch.markets.items()
    ]
    db.executemany("INSERT OR REPLACE INTO markets VALUES (?, ?, ?, ?, ?)", markets)
    write_prints(db, batch.prints)


def _row(record: ExchangeOrder | ExchangeFill) -> tuple[object, ...]:
    """A record's fields in declaration order: ints (and bools) as is, everything else as text."""
    values = (getattr(record, f.name) for f in fields(record))
    return tuple(v if isinstance(v, int) else str(v) for v in values)


def _decoded(kind: type[_Record], row: Sequence[Any]) -> _Record:
    """A record from its table row, whose first column is the key."""
    names = [f.name for f in fields(kind)]
    values = {
        name: _DECODE.get(name, str)(value) for name, value in zip(names, row[1:], strict=True)
    }
    return kind(**values)
