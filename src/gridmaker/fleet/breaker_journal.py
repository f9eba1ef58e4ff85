"""The fleet breaker's commands in the grids' own journals: its trips, and lifting them.

Each grid's operator commands live in its store namespace (``gridmaker.commands`` rows whose
``store_id`` is the grid's name), and the grid's loop applies them whichever worker owns it.
The fleet breaker writes there in the caller's transaction, so a trip (or its lifting) is
journaled in every grid or in none. Its reasons start with ``fleet breaker SCOPE:``
(``reason_prefix``): that is how a reset finds what its scope tripped, and nothing else.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import psycopg

from gridmaker.core.risk import BreakerState
from gridmaker.store.codec import checksum, decode_state
from gridmaker.store.pg_schema import PG_SCHEMA

__all__ = ["Lifted", "journal_trips", "lift_trips", "reason_prefix"]

_S: Final = PG_SCHEMA
_Db = psycopg.Connection[tuple[Any, ...]]


@dataclass(frozen=True, slots=True)
class Lifted:
    """What lifting a scope's trips did: trips still queued that were withdrawn, and the
    books (grid, symbol) its trip had tripped that were sent a ``reset``."""

    withdrawn: int
    reset: tuple[tuple[str, str], ...]


def reason_prefix(scope: str) -> str:
    """How every reason of ``scope``'s breaker starts (``account:A`` is not ``account:AB``)."""
    return f"fleet breaker {scope}:"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")  # as the store writes created_at


def _insert(db: _Db, grid: str, symbol: str, command: str, reason: str) -> None:
    db.execute(
        f"INSERT INTO {_S}.commands (store_id, symbol, command, reason, created_at) "
        "VALUES (%s, %s, %s, %s, %s)",
        (grid, symbol, command, reason, _now()),
    )


def journal_trips(db: _Db, grids: Sequence[str], reason: str) -> int:
    """A ``trip`` for every book of every grid, ``*`` for a grid with no book yet (its loop
    keeps that command until the book exists); returns how many were journaled."""
    books: dict[str, list[str]] = {g: [] for g in grids}
    rows = db.execute(
        f"SELECT store_id, symbol FROM {_S}.books WHERE store_id = ANY(%s) "
        "ORDER BY store_id, symbol",
        (list(grids),),
    ).fetchall()
    for grid, symbol in rows:
        books[str(grid)].append(str(symbol))
    count = 0
    for grid, symbols in books.items():
        for symbol in symbols or ["*"]:
            _insert(db, grid, symbol, "trip", reason)
            count += 1
    return count


def lift_trips(db: _Db, scope: str) -> Lifted:
    """Undo what ``scope``'s breaker did to the grids, and nothing more.

    Its trips still queued are withdrawn (spent, with that outcome). A book whose breaker
    was tripped by it (its reason says so) gets a ``reset``; a book tripped first by its own
    limit keeps its trip, and a book whose stored state fails its checksum is left to its
    owner's boot, which refuses it. A trip its grid's loop was applying at that very moment
    may still land after the reset: that book stays tripped (closed, not open), and a second
    reset lifts it.
    """
    prefix = reason_prefix(scope)
    withdrawn = db.execute(
        f"UPDATE {_S}.commands SET applied_at = %s, outcome = %s WHERE command = 'trip' "
        "AND applied_at IS NULL AND starts_with(reason, %s)",
        (_now(), f"withdrawn: the fleet breaker {scope} was reset", prefix),
    ).rowcount
    rows = db.execute(
        f"SELECT b.store_id, b.symbol, b.state_json, b.checksum FROM {_S}.books b "
        f"WHERE EXISTS (SELECT 1 FROM {_S}.commands c WHERE c.store_id = b.store_id "
        "AND c.command = 'trip' AND c.symbol IN (b.symbol, '*') AND starts_with(c.reason, %s)) "
        "ORDER BY b.store_id, b.symbol",
        (prefix,),
    ).fetchall()
    reset: list[tuple[str, str]] = []
    for grid, symbol, text, stored in rows:
        if checksum(str(text)) != stored:
            continue
        risk = decode_state(json.loads(str(text))).risk
        if risk.breaker is not BreakerState.ACTIVE and risk.reason.startswith(prefix):
            _insert(db, str(grid), str(symbol), "reset", f"{prefix} reset by the operator")
            reset.append((str(grid), str(symbol)))
    return Lifted(withdrawn=max(withdrawn, 0), reset=tuple(reset))
