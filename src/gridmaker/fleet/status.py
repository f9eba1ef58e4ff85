"""What ``gridmaker fleet status`` shows: every grid with its owner, lease, state and last
sync, and every worker with its heartbeat; read in one snapshot, writing nothing.

Every age and lease is measured on the database's clock (``clock_timestamp()``), the one the
leases are granted on, so a reader on another host with a skewed clock sees what the workers
see. A worker is alive while its heartbeat is younger than ``dead_after_s`` (the lease TTL:
past it, the other workers take its grids).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

import psycopg

__all__ = [
    "DEAD_AFTER_S",
    "FleetStatus",
    "GridStatus",
    "WorkerStatus",
    "fleet_status",
]

DEAD_AFTER_S: Final = 10.0
"""The default age of a heartbeat past which a worker counts as dead: ``gridmaker worker``'s
default ``--lease-ttl`` (its sweeper uses the same test)."""

_Db = psycopg.Connection[tuple[Any, ...]]
_S: Final = "gridmaker"


@dataclass(frozen=True, slots=True)
class GridStatus:
    """One declared grid as the fleet sees it now."""

    name: str
    account: str
    removed_at: datetime | None
    owner: str
    """The worker that last took it ("" if none ever did)."""
    epoch: int
    lease_left_s: Decimal | None
    """Seconds its lease still runs; ``None`` when it ran out or was given back."""
    owner_state: str
    """What its owner last recorded (``booting``, ``trading``, ``halted: ...``, ...)."""
    trading_since: datetime | None
    last_sync: datetime | None
    last_sync_age_s: Decimal | None
    quote: str | None
    equity: Decimal | None
    exposure: Decimal | None
    mark_at: datetime | None
    last_boot_at: str | None
    last_boot_halted: str | None
    last_halt: str | None
    last_halt_at: str | None

    @property
    def owned(self) -> bool:
        """A worker holds its lease now."""
        return self.lease_left_s is not None

    @property
    def state(self) -> str:
        """For a person: the owner's state while a worker holds the lease; ``unowned`` (with
        the last owner's word, e.g. during a failover) when none does; ``removed``."""
        if self.removed_at is not None:
            return f"removing ({self.owner_state})" if self.owned else "removed"
        if not self.owner:
            return "unowned"
        if not self.owned:
            return f"unowned (last: {self.owner_state})" if self.owner_state else "unowned"
        return self.owner_state


@dataclass(frozen=True, slots=True)
class WorkerStatus:
    """One worker process (every start is a new one)."""

    worker: str
    host: str
    pid: int
    version: str
    started_at: datetime
    heartbeat_age_s: Decimal
    stopped_at: datetime | None
    recovered_at: datetime | None
    """When another worker took it for dead and recovered its work (its next heartbeat, if
    it was only stalled, clears it)."""
    alive: bool
    """Not stopped, not taken for dead by the workers, and its heartbeat younger than
    ``dead_after_s``."""

    @property
    def state(self) -> str:
        if self.stopped_at is not None:
            return "stopped"
        if self.alive:
            return "alive"
        return "dead" if self.recovered_at is None else "dead (its work recovered)"


@dataclass(frozen=True, slots=True)
class FleetStatus:
    grids: list[GridStatus]
    workers: list[WorkerStatus]
    """The workers not stopped cleanly: alive, or dead (killed, stalled, unreachable)."""
    stopped_workers: int
    """How many workers stopped cleanly (not listed)."""
    dead_after_s: float


def _seconds(expr: str) -> str:
    """``expr`` (an interval) as seconds with one decimal, a numeric (read as ``Decimal``)."""
    return f"round(extract(epoch from ({expr}))::numeric, 1)"


_GRIDS: Final = f"""
SELECT g.name, g.account, g.removed_at,
       coalesce(o.owner, ''), coalesce(o.epoch, 0),
       CASE WHEN o.lease_until > clock_timestamp()
            THEN {_seconds("o.lease_until - clock_timestamp()")} END,
       coalesce(o.state, ''), o.trading_since, o.last_sync,
       {_seconds("clock_timestamp() - o.last_sync")},
       m.quote, m.equity, m.exposure, m.at,
       b.at, b.halted, h.reason, h.at
FROM {_S}.fleet_grids g
LEFT JOIN {_S}.fleet_owners o ON o.grid = g.name
LEFT JOIN {_S}.fleet_marks m ON m.grid = g.name
LEFT JOIN LATERAL (SELECT at, halted FROM {_S}.boots WHERE store_id = g.name
                   ORDER BY id DESC LIMIT 1) b ON true
LEFT JOIN LATERAL (SELECT reason, at FROM {_S}.halts WHERE store_id = g.name
                   ORDER BY id DESC LIMIT 1) h ON true
"""

_WORKERS: Final = f"""
SELECT worker, host, pid, version, started_at,
       {_seconds("clock_timestamp() - heartbeat_at")}, stopped_at, recovered_at,
       stopped_at IS NULL AND recovered_at IS NULL
           AND heartbeat_at > clock_timestamp() - make_interval(secs => %s)
FROM {_S}.fleet_workers WHERE stopped_at IS NULL ORDER BY started_at, worker
"""


def _decimal(text: Any) -> Decimal | None:
    return None if text is None else Decimal(str(text))


def _grid(row: tuple[Any, ...]) -> GridStatus:
    return GridStatus(
        name=str(row[0]),
        account=str(row[1]),
        removed_at=row[2],
        owner=str(row[3]),
        epoch=int(row[4]),
        lease_left_s=_decimal(row[5]),
        owner_state=str(row[6]),
        trading_since=row[7],
        last_sync=row[8],
        last_sync_age_s=_decimal(row[9]),
        quote=None if row[10] is None else str(row[10]),
        equity=_decimal(row[11]),
        exposure=_decimal(row[12]),
        mark_at=row[13],
        last_boot_at=None if row[14] is None else str(row[14]),
        last_boot_halted=None if row[15] is None else str(row[15]),
        last_halt=None if row[16] is None else str(row[16]),
        last_halt_at=None if row[17] is None else str(row[17]),
    )


def _worker(row: tuple[Any, ...]) -> WorkerStatus:
    return WorkerStatus(
        worker=str(row[0]),
        host=str(row[1]),
        pid=int(row[2]),
        version=str(row[3]),
        started_at=row[4],
        heartbeat_age_s=Decimal(str(row[5])),
        stopped_at=row[6],
        recovered_at=row[7],
        alive=bool(row[8]),
    )


def fleet_status(
    db: _Db, *, dead_after_s: float = DEAD_AFTER_S, grid: str | None = None
) -> FleetStatus:
    """The fleet now, in one repeatable-read snapshot (every row as of one instant); only
    ``grid`` when given (an unknown name gives no grids)."""
    where, args = ("WHERE g.name = %s ", (grid,)) if grid is not None else ("", ())
    with db.transaction():
        db.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        grids = db.execute(f"{_GRIDS}{where}ORDER BY g.name", args).fetchall()
        workers = db.execute(_WORKERS, (dead_after_s,)).fetchall()
        stopped = db.execute(
            f"SELECT count(*) FROM {_S}.fleet_workers WHERE stopped_at IS NOT NULL"
        ).fetchone()
    return FleetStatus(
        grids=[_grid(r) for r in grids],
        workers=[_worker(r) for r in workers],
        stopped_workers=int(stopped[0]) if stopped else 0,
        dead_after_s=dead_after_s,
    )
