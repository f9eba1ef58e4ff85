"""``PgRateBudget``: one venue API key's weight window, kept in PostgreSQL for every worker.

The venue counts weight per key (or IP), not per process: ten workers trading on one key each
with an in-process ``RateBudget`` would together send ten times the limit and earn a 429, then a
418 ban. Here the window lives in ``gridmaker.rate_windows`` (one row per key digest, never the
key in clear) and every worker on the key spends from it:

- ``spend`` is one atomic ``INSERT .. ON CONFLICT DO UPDATE`` whose ``WHERE`` rolls the window
  and checks the limit against the row as it is *now* (locked), so two workers racing for the
  last weight cannot both get it. Time is the database's clock, which all hosts share.
- ``observe`` merges the venue's used-weight header (the larger wins) and a 429/418's
  ``Retry-After`` (``blocked_until`` only grows): a 429 seen by one worker stops them all, and
  slows them all (half the limit) for one window after it, as ``RateBudget`` does in-process.
- When PostgreSQL fails, ``spend`` refuses (``RateLimited`` with a short wait): a request is
  never sent unbudgeted. The failure is logged once, and its recovery once.

``install_shared_budgets(conninfo)`` makes ``shared_budget`` (``exchange/ccxt``) hand these out,
so a worker's ``CcxtExchange``s pick them up without knowing about the fleet.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from contextlib import suppress
from typing import Any, Final

import psycopg

from gridmaker.exchange.api import Banned, RateLimited
from gridmaker.exchange.ccxt.rate_budget import RateBudget, parse_retry_after, set_budget_factory
from gridmaker.fleet.leases import connect_fleet
from gridmaker.store.pg_schema import PG_SCHEMA

__all__ = [
    "APPLICATION_NAME",
    "RECOVERY_RESERVE",
    "PgRateBudget",
    "install_shared_budgets",
    "uninstall_shared_budgets",
]

log = logging.getLogger("gridmaker.fleet.rate")

APPLICATION_NAME: Final = "gridmaker-rate-budget"
"""How the budgets' connections are named in ``pg_stat_activity``."""

_TABLE = f"{PG_SCHEMA}.rate_windows"
_NOW = """now AS (
    SELECT c.t, round(floor(c.t * 1000 / %(w_ms)s) * %(w_ms)s)::bigint AS cur
    FROM (SELECT extract(epoch FROM clock_timestamp())::float8 AS t) c
)"""
"""The database's clock (epoch seconds) and the current window's start (epoch milliseconds,
windows aligned on the epoch), read once per statement."""
_ROLLED = "(CASE WHEN r.window_start >= excluded.window_start THEN r.used ELSE 0 END)"
"""The row's weight in the current window (0 once the window has moved on)."""

_SPEND = f"""
WITH {_NOW},
spent AS (
    INSERT INTO {_TABLE} AS r (key_id, window_start, used, blocked_until)
    SELECT %(key)s, now.cur, %(weight)s, 0 FROM now
    ON CONFLICT (key_id) DO UPDATE SET
        used = {_ROLLED} + excluded.used,
        window_start = greatest(r.window_start, excluded.window_start)
    WHERE r.blocked_until <= (SELECT t FROM now)
      AND ({_ROLLED} = 0 OR {_ROLLED} + excluded.used <= CASE
            WHEN (SELECT t FROM now) < r.blocked_until + %(w)s THEN %(slow_limit)s
            ELSE %(limit)s END)
    RETURNING r.used, r.window_start, r.blocked_until
)
SELECT true, s.used, s.window_start, s.blocked_until, now.t, now.cur FROM spent s, now
UNION ALL
SELECT false, r.used, r.window_start, r.blocked_until, now.t, now.cur FROM {_TABLE} r, now
WHERE r.key_id = %(key)s AND NOT EXISTS (SELECT 1 FROM spent)
"""
"""Granted: the row after the spend. Refused: the row as the statement's snapshot saw it
(only to say how long to wait). No row at all: refused in a race with the row's creation."""

_OBSERVE = f"""
WITH {_NOW}
INSERT INTO {_TABLE} AS r (key_id, window_start, used, blocked_until)
SELECT %(key)s, now.cur, %(used)s,
       CASE WHEN %(wait)s::float8 IS NULL THEN 0 ELSE now.t + %(wait)s::float8 END FROM now
ON CONFLICT (key_id) DO UPDATE SET
    used = CASE WHEN r.window_start = excluded.window_start THEN greatest(r.used, excluded.used)
                WHEN r.window_start > excluded.window_start THEN r.used
                ELSE excluded.used END,
    window_start = greatest(r.window_start, excluded.window_start),
    blocked_until = greatest(r.blocked_until, excluded.blocked_until)
RETURNING r.used, r.window_start, r.blocked_until, (SELECT t FROM now)
"""

_PEEK = f"""
WITH {_NOW}
SELECT r.used, r.window_start, r.blocked_until, now.t, now.cur
FROM now LEFT JOIN {_TABLE} r ON r.key_id = %(key)s
"""


class PgRateBudget(RateBudget):
    """``RateBudget``'s interface over one row of ``rate_windows``; thread-safe, never sleeps.

    ``key_id`` is the key's digest (``shared_budget`` computes it). The counters (``spent``,
    ``refused``, ``throttled``) and a 418's ``banned`` are this process's own; the window and
    the ``Retry-After`` block are everyone's.
    """

    def __init__(
        self,
        conninfo: str,
        key_id: str,
        *,
        limit: int,
        window_s: float = 60.0,
        used_weight_header: str | None = "X-MBX-USED-WEIGHT-1M",
        default_retry_after_s: float = 1.0,
        slowdown: float = 0.5,
        reserve: float = 0.0,
        statement_timeout_ms: int = 2000,
    ) -> None:
        super().__init__(
            limit=limit,
            window_s=window_s,
            used_weight_header=used_weight_header,
            default_retry_after_s=default_retry_after_s,
            slowdown=slowdown,
            reserve=reserve,
        )
        self.key_id = key_id
        self._conninfo = conninfo
        self._statement_timeout_ms = statement_timeout_ms
        self._db: psycopg.Connection[tuple[Any, ...]] | None = None
        self._db_lock = threading.Lock()
        self._failing = False
        self._reconnect_at = 0.0
        self._local_block = 0.0
        """Monotonic instant before which this process sends nothing (its own 429s, kept
        even when PostgreSQL could not be told)."""
        self._seen_used = 0
        """The key's weight as the row last told us (``used`` when PostgreSQL is down)."""

    # --- the connection ------------------------------------------------------------------------

    def _params(self, **extra: object) -> dict[str, object]:
        return {"key": self.key_id, "w": self.window_s, "w_ms": self.window_s * 1000, **extra}

    def _run(self, sql: str, params: Mapping[str, object]) -> tuple[Any, ...] | None:
        """One statement on the budget's connection; (re)connects, raises ``psycopg.Error``."""
        with self._db_lock:
            if self._db is None or self._db.closed:
                if time.monotonic() < self._reconnect_at:
                    raise psycopg.OperationalError("waiting before connecting again")
                try:
                    self._db = connect_fleet(self._conninfo)
                    self._db.execute(f"SET statement_timeout = {int(self._statement_timeout_ms)}")
                    self._db.execute(f"SET application_name = '{APPLICATION_NAME}'")
                except psycopg.Error:
                    self._drop()
                    self._reconnect_at = time.monotonic() + self.default_retry_after_s
                    raise
            try:
                row = self._db.execute(sql, params).fetchone()
            except psycopg.Error:
                self._drop()
                raise
        self._recovered()
        return row

    def _drop(self) -> None:
        db, self._db = self._db, None
        if db is not None:
            with suppress(psycopg.Error):
                db.close()

    def _failed(self, doing: str, error: psycopg.Error) -> None:
        if not self._failing:
            self._failing = True
            log.warning(
                "rate budget %s: PostgreSQL failed while %s (%s); requests on this key are "
                "refused until it answers again",
                self.key_id,
                doing,
                type(error).__name__,
            )

    def _recovered(self) -> None:
        if self._failing:
            self._failing = False
            log.info("rate budget %s: PostgreSQL answers again", self.key_id)

    def close(self) -> None:
        with self._db_lock:
            self._drop()

    # --- the budget ----------------------------------------------------------------------------

    def _remember(self, used: int) -> None:
        with self._lock:
            self._seen_used = int(used)

    def _count(self, counter: str, n: int) -> None:
        with self._lock:
            setattr(self, counter, getattr(self, counter) + n)

    def spend(self, weight: int, what: str = "", *, symbol: str = "") -> None:
        """Take ``weight`` from the key's shared window; ``Banned`` or ``RateLimited`` instead."""
        if self.banned:
            raise Banned(f"{what}: not sent, {self.banned}", symbol=symbol)
        local_wait = self._local_block - time.monotonic()
        if local_wait > 0:
            self._count("refused", 1)
            raise RateLimited(
                f"{what}: not sent, the venue asked to wait {local_wait:.3f} s",
                retry_after_s=local_wait,
                symbol=symbol,
            )
        limit = self.lane_limit(self.limit)
        slow_limit = self.lane_limit(max(1, int(self.limit * self.slowdown)))
        params = self._params(weight=weight, limit=limit, slow_limit=slow_limit)
        try:
            row = self._run(_SPEND, params)
            if row is None:  # refused: the row was created by another worker meanwhile
                row = self._run(_SPEND, params)  # it exists now, so this one decides
        except psycopg.Error as e:
            self._failed("spending", e)
            self._count("refused", 1)
            raise RateLimited(
                f"{what}: not sent, the shared rate budget is unreachable",
                retry_after_s=self.default_retry_after_s,
                symbol=symbol,
            ) from e
        if row is None:  # the row was deleted and made again meanwhile: refuse, ask later
            self._count("refused", 1)
            raise RateLimited(
                f"{what}: not sent, the shared rate budget was busy",
                retry_after_s=self.default_retry_after_s,
                symbol=symbol,
            )
        granted, used, window_start, blocked_until, now, current = row
        self._remember(used)
        if granted:
            self._count("spent", weight)
            return
        self._count("refused", 1)
        if now < blocked_until:
            wait = blocked_until - now
            raise RateLimited(
                f"{what}: not sent, the venue asked to wait {wait:.3f} s",
                retry_after_s=wait,
                symbol=symbol,
            )
        in_window = used if window_start >= current else 0
        in_force = slow_limit if now < blocked_until + self.window_s else limit
        wait = (current / 1000 + self.window_s) - now
        raise RateLimited(
            f"{what}: not sent, weight {in_window}+{weight} would exceed {in_force} "
            f"per {self.window_s:g} s (shared by the key's workers"
            f"{', the rest kept for grids that boot' if limit < self.limit else ''})",
            retry_after_s=max(wait, 0.0),
            symbol=symbol,
        )

    def observe(self, status: int, headers: Mapping[str, str]) -> None:
        """Learn from one response, for every worker on the key; never raises for the database
        (a 429 still blocks this process when PostgreSQL cannot be told)."""
        reported = 0
        if self.used_weight_header is not None:
            raw = next(
                (v for k, v in headers.items() if k.lower() == self.used_weight_header.lower()),
                None,
            )
            if raw is not None and raw.strip().isascii() and raw.strip().isdecimal():
                reported = int(raw)
        wait: float | None = None
        if status in (418, 429):
            retry_after = parse_retry_after(headers)
            wait = self.default_retry_after_s if retry_after is None else retry_after
            with self._lock:
                self._local_block = max(self._local_block, time.monotonic() + wait)
                self.throttled += 1
            if status == 418:
                self.banned = "the venue banned this key/IP (HTTP 418)"
        if wait is None and reported <= self._seen_used:
            return  # nothing the row does not already know: spare the round trip
        try:
            row = self._run(_OBSERVE, self._params(used=reported, wait=wait))
        except psycopg.Error as e:
            self._failed("recording a response", e)
            return
        if row is not None:
            self._remember(row[0])

    def _peek(self) -> tuple[int, float, float] | None:
        """(weight in the current window, blocked_until, the database's now), or ``None``."""
        try:
            row = self._run(_PEEK, self._params())
        except psycopg.Error as e:
            self._failed("reading the window", e)
            return None
        if row is None:
            return None
        used, window_start, blocked_until, now, current = row
        if used is None:
            return 0, 0.0, now
        in_window = used if window_start >= current else 0
        self._remember(in_window)
        return in_window, blocked_until, now

    @property
    def used(self) -> int:
        """The key's weight in the current window, all workers together (last known when the
        database does not answer)."""
        peek = self._peek()
        return self._seen_used if peek is None else peek[0]

    @property
    def effective_limit(self) -> int:
        """The limit in force for every worker: halved for one window after a 429/418."""
        peek = self._peek()
        if peek is None:
            return self.limit
        _, blocked_until, now = peek
        if now < blocked_until + self.window_s:
            return max(1, int(self.limit * self.slowdown))
        return self.limit

    def retry_after_s(self) -> float:
        """Seconds until the key's pending ``Retry-After`` ends (0 when none)."""
        local = max(0.0, self._local_block - time.monotonic())
        peek = self._peek()
        shared = 0.0 if peek is None else max(0.0, peek[1] - peek[2])
        return max(local, shared)


RECOVERY_RESERVE: Final = 0.25
"""The share of a key's window that reads may not spend, kept for booting grids and for orders
and cancels: a takeover of twelve grids costs about 900 weight on Binance, 15 % of its 6,000 a
minute; the rest is margin."""

_INSTALLED: list[PgRateBudget] = []
_INSTALLED_LOCK = threading.Lock()


def install_shared_budgets(conninfo: str, *, reserve: float = RECOVERY_RESERVE) -> None:
    """From now on, ``shared_budget`` gives this process's ccxt clients budgets kept in the
    fleet's PostgreSQL at ``conninfo`` (its ``rate_windows`` table must exist: migration 2),
    each keeping ``reserve`` of its limit for grids that boot (``recovering()``)."""

    def factory(key_id: str, limit: int, window_s: float) -> RateBudget:
        budget = PgRateBudget(conninfo, key_id, limit=limit, window_s=window_s, reserve=reserve)
        with _INSTALLED_LOCK:
            _INSTALLED.append(budget)
        return budget

    set_budget_factory(factory)


def uninstall_shared_budgets() -> None:
    """Back to in-process budgets; closes the connections of the budgets handed out."""
    set_budget_factory(None)
    with _INSTALLED_LOCK:
        budgets = list(_INSTALLED)
        _INSTALLED.clear()
    for budget in budgets:
        budget.close()
