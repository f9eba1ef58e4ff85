"""The fleet-wide breaker: a drawdown and an exposure limit over many grids, on many workers.

Each grid's owner publishes the grid's *mark* (its equity and the value of its inventory, in
its quote asset) every few seconds (``publish_mark``); every worker checks every limit every
few seconds (``enforce_limits``). A limit belongs to a *scope*: ``fleet`` (every grid not
removed) or ``account:NAME`` (the grids declared on that account). When a scope crosses a
limit, the check records the trip on the limit's row and, in the same transaction, journals a
``trip`` breaker command into the store namespace of every grid of the scope. Whichever worker
owns a grid applies it through the grid's own loop, as it applies an operator's command: a
trip reaches grids on other workers, and on grids nobody works now (applied at their next boot).

Why it is safe to run on every worker at once: the check-and-trip of one scope is one
transaction that first locks the limit's row (``FOR UPDATE``); a second worker waits, then
reads the row the first committed and finds it tripped. A trip is all-or-nothing: the row and
every grid's command commit together, or none does.

Rules, documented because each is a choice:

- The high water is the highest summed equity seen by a check since the limit was set or
  reset; the drawdown is ``(high_water - equity) / high_water`` and trips when it is *above*
  ``max_drawdown``; the exposure (the sum of the inventories' values) trips when above
  ``max_exposure``.
- A stale mark (its owner died or stalled) still counts, at its last known value: a dead
  worker's grid still holds its inventory, and leaving it out would look like a loss (or hide
  one). A grid that never published a mark adds nothing until it does.
- Only one quote asset may be summed: a scope whose marks name two or more is not checked;
  its row's reason says so (``--show`` prints it) until the marks agree again.
- A removed grid leaves its scope: its book gets no trip, and its last mark leaves the sum
  and the high water in one transaction (``forget_removed``, run first by every check), so a
  removal is not a drawdown. Its owner publishes no mark after that.
- A tripped scope stays tripped until an operator resets it (``reset_limits``: the high water
  restarts at the current equity). The reset lifts what the trip did and nothing more: trips
  still queued are withdrawn, and a book whose breaker this scope tripped is sent a ``reset``;
  a book tripped first by its own limits stays tripped (``breaker_journal.lift_trips``).
- A grid with no book yet gets the trip for every market (``*``): its loop keeps the command
  until the book exists, so a grid starting after the trip does not trade either.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

import psycopg

from gridmaker.core.display import plain
from gridmaker.fleet.breaker_journal import Lifted, journal_trips, lift_trips, reason_prefix
from gridmaker.fleet.limit_values import (
    ACCOUNT,
    FLEET,
    LimitsInvalid,
    account_scope,
    check_drawdown,
    check_exposure,
    check_scope,
)
from gridmaker.fleet.marks import mark_of, publish_mark
from gridmaker.store.pg_schema import PG_SCHEMA

__all__ = [
    "FLEET",
    "Limits",
    "LimitsInvalid",
    "LimitsUnknown",
    "Reset",
    "ScopeView",
    "Totals",
    "Trip",
    "account_scope",
    "check_drawdown",
    "check_exposure",
    "enforce_limits",
    "forget_removed",
    "mark_of",
    "publish_mark",
    "reset_limits",
    "scope_totals",
    "scope_views",
    "set_limits",
]

_S: Final = PG_SCHEMA

_Db = psycopg.Connection[tuple[Any, ...]]


class LimitsUnknown(LookupError):
    """A scope that has no limits set."""


@dataclass(frozen=True, slots=True)
class Limits:
    """One scope's limits and its breaker's state (``None``: no such limit, or no mark yet)."""

    scope: str
    max_drawdown: Decimal | None
    max_exposure: Decimal | None
    high_water: Decimal | None
    tripped_at: datetime | None
    reason: str

    @property
    def tripped(self) -> bool:
        return self.tripped_at is not None


@dataclass(frozen=True, slots=True)
class Totals:
    """What a scope's grids hold now, summed from their last marks."""

    grids: tuple[str, ...]
    """Every grid of the scope (those without a mark too): the ones a trip reaches."""
    marked: int
    """How many marks were summed (a removed grid's too, until it is forgotten)."""
    quotes: tuple[str, ...]
    """The quote assets the marks name (more than one: not summed)."""
    equity: Decimal
    exposure: Decimal

    @property
    def quote(self) -> str:
        return self.quotes[0] if len(self.quotes) == 1 else ""


@dataclass(frozen=True, slots=True)
class Trip:
    """A scope tripped by one check: the reason journaled and the grids it was journaled in."""

    scope: str
    reason: str
    grids: tuple[str, ...]
    commands: int

    def __str__(self) -> str:
        """The worker's log line: the reason names the scope and the numbers."""
        return (
            f"{self.reason}; {self.commands} trip command(s) journaled in "
            f"{len(self.grids)} grid(s): {', '.join(self.grids)}"
        )


@dataclass(frozen=True, slots=True)
class ScopeView:
    limits: Limits
    totals: Totals


_LIMIT_COLUMNS: Final = "scope, max_drawdown, max_exposure, high_water, tripped_at, reason"


def _limits(row: Sequence[Any]) -> Limits:
    def number(value: Any) -> Decimal | None:
        return None if value is None else Decimal(str(value))

    return Limits(
        scope=str(row[0]),
        max_drawdown=number(row[1]),
        max_exposure=number(row[2]),
        high_water=number(row[3]),
        tripped_at=row[4],
        reason=str(row[5]),
    )


def _text(value: Decimal | None) -> str | None:
    return None if value is None else plain(value)


def set_limits(
    db: _Db, scope: str, max_drawdown: Decimal | None, max_exposure: Decimal | None
) -> Limits:
    """Set ``scope``'s limits (``None``: that limit is off); its high water and any trip are
    kept (only ``reset_limits`` clears a trip)."""
    check_scope(scope)
    if max_drawdown is not None:
        check_drawdown(plain(max_drawdown))
    if max_exposure is not None:
        check_exposure(plain(max_exposure))
    with db.transaction():
        row = db.execute(
            f"INSERT INTO {_S}.fleet_limits ({_LIMIT_COLUMNS}) VALUES (%s, %s, %s, NULL, NULL, "
            "'') ON CONFLICT (scope) DO UPDATE SET max_drawdown = excluded.max_drawdown, "
            f"max_exposure = excluded.max_exposure RETURNING {_LIMIT_COLUMNS}",
            (scope, _text(max_drawdown), _text(max_exposure)),
        ).fetchone()
    assert row is not None  # an upsert always returns its row
    return _limits(row)


@dataclass(frozen=True, slots=True)
class Reset:
    """A scope reset: its limits now, and what was lifted in its grids."""

    limits: Limits
    lifted: Lifted


def reset_limits(db: _Db, scope: str) -> Reset:
    """Clear ``scope``'s trip, restart its high water at the current equity (none when its
    marks are missing or mix quote assets) and lift the trips it journaled (``lift_trips``),
    in one transaction. ``LimitsUnknown`` if it has no limits."""
    with db.transaction():
        if _locked(db, scope) is None:
            raise LimitsUnknown(f"no limits are set for {scope}")
        totals = scope_totals(db, scope)
        high = totals.equity if totals.marked and len(totals.quotes) == 1 else None
        row = db.execute(
            f"UPDATE {_S}.fleet_limits SET tripped_at = NULL, reason = '', high_water = %s "
            f"WHERE scope = %s RETURNING {_LIMIT_COLUMNS}",
            (_text(high), scope),
        ).fetchone()
        lifted = lift_trips(db, scope)
    assert row is not None  # locked above, in this transaction
    return Reset(_limits(row), lifted)


def _locked(db: _Db, scope: str) -> Limits | None:
    row = db.execute(
        f"SELECT {_LIMIT_COLUMNS} FROM {_S}.fleet_limits WHERE scope = %s FOR UPDATE", (scope,)
    ).fetchone()
    return None if row is None else _limits(row)


_MARK_ROWS: Final = (
    f"SELECT g.name, g.account, g.removed_at IS NULL, m.quote, m.equity, m.exposure "
    f"FROM {_S}.fleet_grids g LEFT JOIN {_S}.fleet_marks m ON m.grid = g.name "
    "WHERE (g.removed_at IS NULL OR m.grid IS NOT NULL)"
)
"""Every grid not removed, and every mark (a removed grid's last one counts until
``forget_removed`` takes it out of the sum and the high water together: in between, its
removal must not read as a loss)."""


def _totals(rows: Sequence[Sequence[Any]]) -> Totals:
    marks = [r for r in rows if r[3] is not None]
    return Totals(
        grids=tuple(str(r[0]) for r in rows if r[2]),
        marked=len(marks),
        quotes=tuple(sorted({str(r[3]) for r in marks})),
        equity=sum((Decimal(r[4]) for r in marks), Decimal(0)),
        exposure=sum((Decimal(r[5]) for r in marks), Decimal(0)),
    )


def scope_totals(db: _Db, scope: str) -> Totals:
    """Every grid of ``scope`` (not removed) and the sum of the scope's marks."""
    where, args = ("", ()) if scope == FLEET else (" AND g.account = %s", (scope[len(ACCOUNT) :],))
    return _totals(db.execute(f"{_MARK_ROWS}{where} ORDER BY g.name", args).fetchall())


def _every_scope_totals(db: _Db) -> dict[str, Totals]:
    """``scope_totals`` of the fleet and of every account, from one read."""
    rows = db.execute(f"{_MARK_ROWS} ORDER BY g.name").fetchall()
    accounts: dict[str, list[Sequence[Any]]] = {}
    for row in rows:
        accounts.setdefault(f"{ACCOUNT}{row[1]}", []).append(row)
    return {FLEET: _totals(rows), **{scope: _totals(r) for scope, r in accounts.items()}}


def forget_removed(db: _Db) -> list[str]:
    """Take each removed grid's last mark out of its scopes: the mark is deleted and, in the
    same transaction, its equity is taken off the high water of its account's and the
    fleet's limits, so removing a grid is not a drawdown. Returns the grids forgotten."""
    rows = db.execute(
        f"SELECT g.name, g.account FROM {_S}.fleet_grids g JOIN {_S}.fleet_marks m "
        "ON m.grid = g.name WHERE g.removed_at IS NOT NULL ORDER BY g.name"
    ).fetchall()
    forgotten = []
    for name, account in rows:
        scopes = sorted({FLEET, f"{ACCOUNT}{account}"})  # one lock order for every worker
        with db.transaction():
            held = [limits for scope in scopes if (limits := _locked(db, scope)) is not None]
            gone = db.execute(
                f"DELETE FROM {_S}.fleet_marks WHERE grid = %s RETURNING quote, equity", (name,)
            ).fetchone()
            if gone is None:
                continue  # another worker forgot it first
            for limits in held:
                _lower_high_water(db, limits, str(gone[0]), Decimal(gone[1]))
        forgotten.append(str(name))
    return forgotten


def _lower_high_water(db: _Db, limits: Limits, quote: str, equity: Decimal) -> None:
    """``limits``' high water without a grid's ``equity`` (in ``quote``); restarted when no
    mark is left, kept when what remains is summed in another quote asset."""
    if limits.high_water is None:
        return
    rest = scope_totals(db, limits.scope)
    if not rest.marked:
        high = None
    elif rest.quotes == (quote,):
        high = max(Decimal(0), limits.high_water - equity)
    else:
        return
    _set(db, limits.scope, "high_water = %s", _text(high))


def scope_views(db: _Db, scope: str | None = None) -> list[ScopeView]:
    """Every scope's limits and current totals (or ``scope``'s alone); reads only."""
    where, args = ("", ()) if scope is None else ("WHERE scope = %s", (scope,))
    rows = db.execute(
        f"SELECT {_LIMIT_COLUMNS} FROM {_S}.fleet_limits {where} ORDER BY scope", args
    ).fetchall()
    return [ScopeView(_limits(r), scope_totals(db, str(r[0]))) for r in rows]


def enforce_limits(db: _Db) -> list[Trip]:
    """Check every scope not tripped; trip those past a limit (see the module's rules).

    Safe to call from every worker at once, as often as wanted: a scope's row is written
    (high water, trip) only in a transaction holding it, which decides again on the row it
    holds, so a tripped scope is never tripped (nor journaled) twice. A check that finds
    nothing to change writes nothing and takes no lock: two reads in all.
    """
    forget_removed(db)
    rows = db.execute(
        f"SELECT {_LIMIT_COLUMNS} FROM {_S}.fleet_limits WHERE tripped_at IS NULL ORDER BY scope"
    ).fetchall()
    if not rows:
        return []
    every = _every_scope_totals(db)
    trips = []
    for seen in map(_limits, rows):
        totals = every.get(seen.scope, _NONE)
        if _change(seen, totals) is None:
            continue
        with db.transaction():
            tripped = _check_one(db, seen.scope, totals)
        if tripped is not None:
            trips.append(tripped)
    return trips


_NONE: Final = Totals(grids=(), marked=0, quotes=(), equity=Decimal(0), exposure=Decimal(0))


@dataclass(frozen=True, slots=True)
class _Change:
    """What a check writes on a scope's row: a new high water, a reason, maybe a trip."""

    high: Decimal | None
    reason: str
    trip: bool = False


def _change(limits: Limits, totals: Totals) -> _Change | None:
    """What ``totals`` change on ``limits``' row (``None``: nothing)."""
    if limits.tripped or not totals.marked:
        return None
    if len(totals.quotes) > 1:
        why = (
            f"not checked: its grids' marks are in {', '.join(totals.quotes)}; only grids of "
            "one quote asset can be summed"
        )
        return None if limits.reason == why else _Change(limits.high_water, why)
    seen = limits.high_water
    high = totals.equity if seen is None else max(seen, totals.equity)
    reason = _crossed(limits, totals, high)
    if reason is not None:
        return _Change(high, reason, trip=True)
    if high != seen or limits.reason:
        return _Change(high, "")
    return None


def _check_one(db: _Db, scope: str, totals: Totals) -> Trip | None:
    """Decide again on the row locked, inside the caller's transaction, and write it."""
    limits = _locked(db, scope)
    change = None if limits is None else _change(limits, totals)
    if change is None:
        return None  # removed, or changed by another worker while we waited for the row
    trip = ", tripped_at = clock_timestamp()" if change.trip else ""
    _set(db, scope, f"high_water = %s, reason = %s{trip}", _text(change.high), change.reason)
    if not change.trip:
        return None
    commands = journal_trips(db, totals.grids, change.reason)
    return Trip(scope=scope, reason=change.reason, grids=totals.grids, commands=commands)


def _set(db: _Db, scope: str, assignments: str, *args: object) -> None:
    db.execute(f"UPDATE {_S}.fleet_limits SET {assignments} WHERE scope = %s", (*args, scope))


def _crossed(limits: Limits, totals: Totals, high: Decimal) -> str | None:
    """Why ``limits``' scope trips now (the numbers, for the operator), or ``None``."""
    quote, scope = totals.quote, limits.scope
    if limits.max_drawdown is not None and high > 0:
        drawdown = (high - totals.equity) / high
        if drawdown > limits.max_drawdown:
            return (
                f"{reason_prefix(scope)} equity {plain(totals.equity)} {quote} is "
                f"{_percent(drawdown)}% below its high water {plain(high)} {quote} "
                f"(limit {_percent(limits.max_drawdown)}%)"
            )
    if limits.max_exposure is not None and totals.exposure > limits.max_exposure:
        return (
            f"{reason_prefix(scope)} exposure {plain(totals.exposure)} {quote} is above the "
            f"limit {plain(limits.max_exposure)} {quote}"
        )
    return None


def _percent(fraction: Decimal) -> str:
    return plain((fraction * 100).quantize(Decimal("0.01")))
