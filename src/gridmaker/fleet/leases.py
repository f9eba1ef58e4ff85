"""Grid ownership: a lease with an epoch in ``fleet_owners``, and the worker's own clock on it.

A worker takes a grid only when nobody holds it (no row, or its lease ran out): the take bumps
the epoch, so whatever an earlier owner still has in flight carries an epoch that no longer
matches. It renews its leases well inside their TTL; a renewal that finds another epoch, or
none at all, means the grid is gone and must stop at once.

Besides the database's verdict, each lease keeps a *local* deadline on the monotonic clock:
the instant before which the database cannot have given the grid away (the renewal's request
time plus the TTL, minus a margin). Sending to the venue is allowed only before it
(``LeaseClock.valid``), so a worker that wakes from a long stop never sends on a grid whose
lease it has not renewed since; the monotonic clock keeps running while a process is stopped.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Final

import psycopg

__all__ = ["LeaseClock", "Leases", "connect_fleet"]

MARGIN_S: Final = 0.5
"""How much sooner than the database a worker considers its own lease over (clock drift,
the time between the renewal's commit and its answer)."""

_Db = psycopg.Connection[tuple[Any, ...]]


def connect_fleet(conninfo: str, *, idle_timeout_ms: int = 3000) -> _Db:
    """An autocommit connection for the fleet's own tables; a stopped process's open
    transaction is ended by the server after ``idle_timeout_ms`` (it must not hold a lock
    that a takeover waits on)."""
    return psycopg.connect(
        conninfo,
        autocommit=True,
        connect_timeout=10,
        options=f"-c idle_in_transaction_session_timeout={idle_timeout_ms}",
    )


@dataclass(slots=True)
class LeaseClock:
    """The worker's own view of one lease: valid until a monotonic instant."""

    grid: str
    epoch: int
    until: float = 0.0
    lost: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def valid(self) -> bool:
        """True while the database cannot have given the grid to anyone else."""
        with self._lock:
            return not self.lost and time.monotonic() < self.until

    def extend(self, asked_at: float, ttl_s: float) -> None:
        with self._lock:
            self.until = max(self.until, asked_at + ttl_s - MARGIN_S)

    def lose(self, why: str) -> None:
        with self._lock:
            self.lost = self.lost or why


class Leases:
    """One worker's leases over one connection (thread-safe: one statement at a time)."""

    def __init__(
        self, db: _Db, worker: str, ttl_s: float, reconnect: Callable[[], _Db] | None = None
    ) -> None:
        if ttl_s <= 2 * MARGIN_S:
            raise ValueError(f"the lease TTL must be more than {2 * MARGIN_S:g} s; was {ttl_s:g}")
        self.db = db
        self._reconnect = reconnect
        """Opens a new connection when the server ended ours (a stall past its idle timeout)."""
        self.worker = worker
        self.ttl_s = ttl_s
        self._mutex = threading.Lock()

    def _ready(self) -> _Db:
        """The connection, opened again if the server ended it (call holding the mutex)."""
        if (self.db.closed or self.db.broken) and self._reconnect is not None:
            self.db.close()
            self.db = self._reconnect()
        return self.db

    @contextmanager
    def using(self) -> Iterator[_Db]:
        """The connection, for one short statement of the caller's, one thread at a time."""
        with self._mutex:
            yield self._ready()

    def acquire(self, grid: str) -> LeaseClock | None:
        """Take ``grid`` under a new epoch if its lease is free or ran out; ``None`` if held."""
        asked_at = time.monotonic()
        with self._mutex, self._ready().transaction():
            self.db.execute(
                "INSERT INTO gridmaker.fleet_owners (grid, owner, epoch, lease_until, state) "
                "VALUES (%s, '', 0, '-infinity', '') ON CONFLICT (grid) DO NOTHING",
                (grid,),
            )
            row = self.db.execute(
                "UPDATE gridmaker.fleet_owners SET owner = %s, epoch = epoch + 1, "
                "lease_until = clock_timestamp() + make_interval(secs => %s), state = 'booting', "
                "trading_since = NULL WHERE grid = %s AND lease_until < clock_timestamp() "
                "RETURNING epoch",
                (self.worker, self.ttl_s, grid),
            ).fetchone()
            if row is None:
                return None
            epoch = int(row[0])
            self._history(grid, epoch, "acquired", "")
        lease = LeaseClock(grid, epoch)
        lease.extend(asked_at, self.ttl_s)
        return lease

    def renew(self, lease: LeaseClock) -> bool:
        """Extend ``lease``; False (and the lease marked lost) when the grid is no longer ours."""
        if lease.lost:
            return False
        asked_at = time.monotonic()
        with self._mutex:
            row = (
                self._ready()
                .execute(
                    "UPDATE gridmaker.fleet_owners SET lease_until = clock_timestamp() + "
                    "make_interval(secs => %s) WHERE grid = %s AND owner = %s AND epoch = %s "
                    "AND lease_until > clock_timestamp() RETURNING 1",
                    (self.ttl_s, lease.grid, self.worker, lease.epoch),
                )
                .fetchone()
            )
        if row is None:
            lease.lose("the lease was lost (expired, or taken by another worker)")
            return False
        lease.extend(asked_at, self.ttl_s)
        return True

    def mark(
        self, lease: LeaseClock, state: str, *, trading: bool = False, sync: bool = False
    ) -> bool:
        """Record the grid's state (and that it trades, or just synced) under our epoch."""
        sets = ["state = %s"]
        if trading:
            sets.append("trading_since = clock_timestamp()")
        if sync:
            sets.append("last_sync = clock_timestamp()")
        with self._mutex, self._ready().transaction():
            row = self.db.execute(
                f"UPDATE gridmaker.fleet_owners SET {', '.join(sets)} "
                "WHERE grid = %s AND owner = %s AND epoch = %s RETURNING 1",
                (state, lease.grid, self.worker, lease.epoch),
            ).fetchone()
            if row is not None and trading:
                self._history(lease.grid, lease.epoch, "trading", "")
        return row is not None

    def release(self, lease: LeaseClock, state: str, detail: str = "") -> None:
        """Give the grid up at once (a clean stop): the next owner need not wait for the TTL."""
        lease.lose(f"released: {state}")
        with self._mutex, self._ready().transaction():
            row = self.db.execute(
                "UPDATE gridmaker.fleet_owners SET lease_until = '-infinity', state = %s "
                "WHERE grid = %s AND owner = %s AND epoch = %s RETURNING 1",
                (state, lease.grid, self.worker, lease.epoch),
            ).fetchone()
            if row is not None:
                self._history(lease.grid, lease.epoch, "released", detail or state)

    def note(self, grid: str, epoch: int, event: str, detail: str) -> None:
        """One line of the grid's ownership history (``fleet status``, failover timing)."""
        with self._mutex, self._ready().transaction():
            self._history(grid, epoch, event, detail)

    def _history(self, grid: str, epoch: int, event: str, detail: str) -> None:
        self.db.execute(
            "INSERT INTO gridmaker.fleet_history (at, grid, worker, epoch, event, detail) "
            "VALUES (clock_timestamp(), %s, %s, %s, %s, %s)",
            (grid, self.worker, epoch, event, detail),
        )
