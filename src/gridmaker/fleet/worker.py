"""``FleetWorker``: one process of the fleet; DBOS assigns it grids, leases fence them.

Each declared grid is one DBOS workflow, ``fleet:{grid}:{generation}``, on the queue
``gridmaker_fleet`` partitioned by grid (one runner per grid as far as DBOS knows). Whichever
worker dequeues it takes the grid's lease (a new epoch) and runs the grid in that workflow's
thread until the lease is lost, the grid is removed or the worker stops. DBOS alone cannot
tell a dead worker from a slow one and lets a stale copy finish its step
(``docs/adr/0009-fleet-ownership-by-epoch.md``), so DBOS decides *who should* work a grid and
the epoch decides *who can*: the store refuses every write without it, the venue every send.

Three threads keep the worker honest:
- the heartbeat (every second) says it is alive;
- the renewer (every TTL/4) extends its leases, and tells a grid it lost or that the fleet
  removed it;
- the sweeper (every second) gives the work of dead workers (no heartbeat for a TTL) back to
  the queue (DBOS recovery), starts a workflow for every declared grid that has none, and
  enforces the fleet's limits.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from dbos import DBOS

from gridmaker.fleet.leases import LeaseClock, Leases, connect_fleet
from gridmaker.fleet.registry import FleetGrid, bump_generation, declared_grids, find_grid

__all__ = ["FleetWorker", "GridRun", "GridRunner", "WorkerSettings"]

QUEUE: Final = "gridmaker_fleet"
WORKFLOW: Final = "gridmaker_fleet_grid"
MARKETS_MAX_AGE_S: Final = 60.0
"""A worker's grids reuse the venue's market list and the proof of their key for this long:
long enough for a takeover's burst of boots to ask once, short enough that a new listing (or a
revoked key) is seen within a minute."""
RETRY_AFTER_ERROR_S: Final = 3.0
"""A grid whose run failed (venue down, boot refused) is retried by its owner after this
long, holding its lease: no other worker fights over it meanwhile."""

log = logging.getLogger("gridmaker.fleet")


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    conninfo: str
    """The fleet's PostgreSQL (our tables and DBOS's system tables), without ``grid=``."""
    name: str
    capacity: int = 8
    lease_ttl_s: float = 10.0
    version: str = "1"
    """The DBOS application version: workers recover only the work of their own version."""
    heartbeat_s: float = 1.0
    sweep_s: float = 1.0
    queue_poll_s: float = 0.2


@dataclass(slots=True)
class GridRun:
    """One grid worked by this process under one lease; the runner polls its flags."""

    grid: FleetGrid
    lease: LeaseClock
    worker: str
    leases: Leases
    stopping: threading.Event
    removal: str = ""
    """The fleet removed the grid: ``cancel`` or ``leave`` its orders (set by the renewer)."""
    attempt: int = 1
    """Runs of the grid under this lease: a takeover's first boot may spend the rate budget's
    reserve, the retries of a grid that keeps failing may not."""
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def must_stop(self) -> str:
        """Why this run must end now ("" while it may go on)."""
        if not self.lease.valid():
            return f"lost: {self.lease.lost or 'the lease ran out'}"
        if self.stopping.is_set():
            return "worker stopping"
        return ""


GridRunner = Callable[[GridRun], str]
"""Runs one grid until ``GridRun.must_stop`` or its removal is done; returns why it ended.
Raises on failure (the worker retries it). Supplied by the command line, which wires venues."""

_WORKER: dict[str, FleetWorker] = {}
"""The process's worker, for the workflow function (DBOS calls it by name)."""


@DBOS.workflow(name=WORKFLOW)
def _grid_workflow(grid: str) -> str:
    """The body of ``fleet:{grid}:{n}``: take the grid's lease, work it, give it back.

    It records no step: everything it does is fenced by the epoch, not by DBOS's checkpoints,
    and a replay (after a recovery) simply starts the grid again: a boot is a recovery."""
    return _WORKER["this"].work_grid(grid)


class FleetWorker:
    """A worker: ``start`` launches DBOS and the threads; ``stop`` winds everything down."""

    def __init__(self, settings: WorkerSettings, runner: GridRunner) -> None:
        self.settings = settings
        self.runner = runner
        self.id = f"{settings.name}-{secrets.token_hex(4)}"
        self.stopping = threading.Event()
        self.runs: dict[str, GridRun] = {}
        self._runs_lock = threading.Lock()
        self.leases = Leases(
            connect_fleet(settings.conninfo),
            self.id,
            settings.lease_ttl_s,
            reconnect=lambda: connect_fleet(settings.conninfo),
        )
        self._threads: list[threading.Thread] = []
        self._queue: Any = None
        self._db = connect_fleet(settings.conninfo)
        self._db_lock = threading.Lock()

    def _read(self, query: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """A registry read on the worker's own connection, one thread at a time."""
        with self._db_lock:
            self._db = _fresh(self._db, self.settings.conninfo)
            return query(self._db, *args, **kwargs)

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        """Register, launch DBOS (the queue, this worker as its executor), start the threads."""
        from dbos import DBOSConfig

        with connect_fleet(self.settings.conninfo) as db:
            db.execute(
                "INSERT INTO gridmaker.fleet_workers (worker, host, pid, version, started_at, "
                "heartbeat_at) VALUES (%s, %s, %s, %s, clock_timestamp(), clock_timestamp())",
                (self.id, socket.gethostname(), os.getpid(), self.settings.version),
            )
        _WORKER["this"] = self
        from gridmaker.exchange.ccxt.venue_share import share_venue
        from gridmaker.fleet.rate_budget import install_shared_budgets

        install_shared_budgets(self.settings.conninfo)  # one window per API key, fleet-wide
        share_venue(MARKETS_MAX_AGE_S)  # a takeover of many grids asks the venue once
        DBOS.destroy()
        config: DBOSConfig = {
            "name": "gridmaker-fleet",
            "system_database_url": _sqlalchemy_url(self.settings.conninfo),
            "executor_id": self.id,
            "application_version": self.settings.version,
            "sys_db_pool_size": 5,
            "log_level": "WARNING",
        }
        DBOS(config=config)
        DBOS.launch()
        # The queue's settings live in the database: the last worker started sets the
        # per-worker limit for all (``--capacity``).
        self._queue = DBOS.register_queue(
            QUEUE,
            worker_concurrency=self.settings.capacity,
            partition_concurrency=1,
            polling_interval_sec=self.settings.queue_poll_s,
            on_conflict="always_update",
        )
        for name, body in (
            ("heartbeat", self._heartbeat),
            ("renewer", self._renewer),
            ("sweeper", self._sweeper),
        ):
            thread = threading.Thread(target=body, name=f"fleet-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        log.info("worker %s ready (capacity %d)", self.id, self.settings.capacity)

    def stop(self, timeout_s: float = 60.0) -> None:
        """Stop every grid at its next safe point, give the leases back, shut DBOS down."""
        self.stopping.set()
        deadline = time.monotonic() + timeout_s
        for run in list(self.runs.values()):
            run.done.wait(max(0.0, deadline - time.monotonic()))
        DBOS.destroy(workflow_completion_timeout_sec=max(1, int(deadline - time.monotonic())))
        for thread in self._threads:
            thread.join(timeout=5)
        with connect_fleet(self.settings.conninfo) as db:
            db.execute(
                "UPDATE gridmaker.fleet_workers SET stopped_at = clock_timestamp() "
                "WHERE worker = %s",
                (self.id,),
            )
        self.leases.db.close()
        self._db.close()
        from gridmaker.exchange.ccxt.venue_share import share_venue
        from gridmaker.fleet.rate_budget import uninstall_shared_budgets

        share_venue(None)  # the process's later clients (a test's) are on their own again
        uninstall_shared_budgets()
        log.info("worker %s stopped", self.id)

    # --- one grid -----------------------------------------------------------------------------

    def work_grid(self, name: str) -> str:
        """Take ``name``'s lease (waiting out the previous owner's), run it, give it back.

        A run that fails (the venue down, a refused boot) is retried after a pause, the lease
        kept and renewed meanwhile, so no other worker fights over the grid."""
        lease = self._acquire(name)
        if isinstance(lease, str):
            return lease
        log.info("worker %s: grid %s acquired (epoch %d)", self.id, name, lease.epoch)
        ended = ""
        done = threading.Event()
        attempt = 0
        try:
            while not ended:
                grid = self._read(find_grid, name)
                if grid is None or grid.removed:
                    ended = "removed"
                    break
                attempt += 1
                run = GridRun(
                    grid, lease, self.id, self.leases, self.stopping, attempt=attempt, done=done
                )
                with self._runs_lock:
                    self.runs[name] = run
                try:
                    ended = self.runner(run)
                except Exception as e:
                    ended = run.must_stop
                    if not ended:
                        log.warning("worker %s: grid %s failed: %s", self.id, name, e)
                        self.leases.mark(lease, f"error: {e}"[:300])
                        self.stopping.wait(RETRY_AFTER_ERROR_S)
                        ended = run.must_stop
        finally:
            with self._runs_lock:
                self.runs.pop(name, None)
            done.set()
        self._give_back(lease, ended)
        return ended

    def _acquire(self, name: str) -> LeaseClock | str:
        waited = False
        while True:
            if self.stopping.is_set():
                return "worker stopping"
            grid = self._read(find_grid, name)
            if grid is None or grid.removed:
                return "removed"
            lease = self.leases.acquire(name)
            if lease is not None:
                return lease
            if not waited:
                log.info("worker %s: grid %s waits for its lease to end", self.id, name)
                waited = True
            self.stopping.wait(0.25)

    def _give_back(self, lease: LeaseClock, ended: str) -> None:
        if ended.startswith("lost"):
            log.warning("worker %s: grid %s %s", self.id, lease.grid, ended)
            self.leases.note(lease.grid, lease.epoch, "lost", ended)
            return
        state = "removed" if ended == "removed" else "released"
        self.leases.release(lease, state, ended)
        log.info("worker %s: grid %s %s (%s)", self.id, lease.grid, state, ended)

    # --- threads ------------------------------------------------------------------------------

    def _heartbeat(self) -> None:
        db = connect_fleet(self.settings.conninfo)
        while not self.stopping.wait(self.settings.heartbeat_s):
            db = _fresh(db, self.settings.conninfo)
            _quietly(
                db.execute,
                "UPDATE gridmaker.fleet_workers SET heartbeat_at = clock_timestamp(), "
                "recovered_at = NULL WHERE worker = %s",
                (self.id,),
            )
        db.close()

    def _renewer(self) -> None:
        every = self.settings.lease_ttl_s / 4
        while not self.stopping.wait(every):
            with self._runs_lock:
                runs = list(self.runs.values())
            for run in runs:
                _quietly(self.leases.renew, run.lease)  # a loss marks the lease: the run stops
            removed = {
                g.name: g.remove_mode
                for g in _quietly(self._read, declared_grids, include_removed=True) or []
                if g.removed
            }
            for run in runs:
                if run.grid.name in removed and not run.removal:
                    run.removal = removed[run.grid.name] or "cancel"

    def _sweeper(self) -> None:
        db = connect_fleet(self.settings.conninfo)
        while not self.stopping.wait(self.settings.sweep_s):
            db = _fresh(db, self.settings.conninfo)
            _quietly(self._recover_dead, db)
            _quietly(self._start_missing, db)
            _quietly(self._enforce_limits, db)
        db.close()

    def _recover_dead(self, db: Any) -> None:
        rows = db.execute(
            "SELECT worker FROM gridmaker.fleet_workers WHERE stopped_at IS NULL AND "
            "recovered_at IS NULL AND worker <> %s AND heartbeat_at < clock_timestamp() - "
            "make_interval(secs => %s)",
            (self.id, self.settings.lease_ttl_s),
        ).fetchall()
        for (dead,) in rows:
            # private in DBOS 3.4 and the only call that keeps the queue and partition
            handles = DBOS._recover_pending_workflows([str(dead)])
            db.execute(
                "UPDATE gridmaker.fleet_workers SET recovered_at = clock_timestamp() "
                "WHERE worker = %s",
                (dead,),
            )
            if handles:
                log.warning(
                    "worker %s: worker %s is silent; %d grid(s) back on the queue: %s",
                    self.id,
                    dead,
                    len(handles),
                    ", ".join(h.workflow_id for h in handles),
                )

    def _start_missing(self, db: Any) -> None:
        """Queue a workflow for every declared grid that has none a live worker can run.

        Only workers of the newest version running do this (the one a rolling upgrade moves
        to); work left to a version no live worker runs is cancelled first, then re-queued."""
        from dbos import SetEnqueueOptions, SetWorkflowID

        alive = db.execute(
            "SELECT version FROM gridmaker.fleet_workers WHERE stopped_at IS NULL AND "
            "heartbeat_at >= clock_timestamp() - make_interval(secs => %s) "
            "ORDER BY started_at DESC",
            (self.settings.lease_ttl_s,),
        ).fetchall()
        if not alive or alive[0][0] != self.settings.version:
            return
        versions = {str(v) for (v,) in alive}
        flows = DBOS.list_workflows(
            status=["ENQUEUED", "PENDING"], name=WORKFLOW, load_input=False, load_output=False
        )
        stranded = [w.workflow_id for w in flows if w.app_version not in versions]
        if stranded:
            DBOS.cancel_workflows(stranded)
            log.warning(
                "worker %s: no live worker runs the version of %s: cancelled, to be re-queued",
                self.id,
                ", ".join(stranded),
            )
        live = {str(w.workflow_id).split(":")[1] for w in flows if w.app_version in versions}
        for grid in declared_grids(db):
            if grid.name in live:
                continue
            generation = bump_generation(db, grid.name, grid.generation)
            if generation is None:
                continue  # another worker started it just now
            with (
                SetWorkflowID(f"fleet:{grid.name}:{generation}"),
                SetEnqueueOptions(queue_partition_key=grid.name),
            ):
                self._queue.enqueue(_grid_workflow, grid.name)
            log.info("worker %s: grid %s queued (generation %d)", self.id, grid.name, generation)

    def _enforce_limits(self, db: Any) -> None:
        from gridmaker.fleet.breaker import enforce_limits

        for trip in enforce_limits(db):
            log.warning("worker %s: fleet breaker tripped: %s", self.id, trip)


def _sqlalchemy_url(conninfo: str) -> str:
    """DBOS takes an SQLAlchemy URL: ours with psycopg 3 named as the driver."""
    for prefix in ("postgresql://", "postgres://"):
        if conninfo.startswith(prefix):
            return "postgresql+psycopg://" + conninfo[len(prefix) :]
    return conninfo


def _fresh(db: Any, conninfo: str) -> Any:
    """``db``, or a new connection when the server ended it (after a stall, its idle timeout);
    a worker that cannot reconnect keeps failing its turns, and its leases run out."""
    if db.closed or db.broken:
        db.close()
        try:
            return connect_fleet(conninfo)
        except Exception as e:
            log.warning("fleet: cannot reconnect to the database: %s", e)
    return db


def _quietly(call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """A background thread's one turn: a database hiccup is logged and tried again next turn
    (a lease that cannot be renewed runs out by itself: the grid stops on its own clock)."""
    try:
        return call(*args, **kwargs)
    except Exception as e:
        log.warning("fleet: %s failed: %s", getattr(call, "__name__", "a step"), e)
        return None
