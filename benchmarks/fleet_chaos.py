"""The fleet torture's chaos: seeded kills and stalls of ``gridmaker worker`` processes.

Each event falls after a seeded gap. Its victim is a seeded choice among the workers that
are ready (not stopped) and hold a grid, and only while another ready worker is left: the
fleet never goes dark. A ``kill`` is SIGKILL, then a
fresh process of the same name after a short seeded delay; a ``stall`` is SIGSTOP for longer
than the lease (TTL + 2..4 s), then SIGCONT: the zombie that wakes believing it owns its grids.
"""

from __future__ import annotations

import heapq
import random
import signal
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

from fleet_judge import ChaosEvent
from tests.kit.fleet import Worker

__all__ = ["Chaos"]

IDLE_WAIT_S = 60.0
"""How long an event waits for a worker that holds a grid."""

_Db = Any


class Chaos:
    """Run ``kills`` events (``stalls`` of them stalls) on ``fleet``, then bring every
    victim back; ``events`` holds what was done."""

    def __init__(
        self,
        rng: random.Random,
        fleet: Mapping[str, Worker],
        db: _Db,
        *,
        ttl_s: float,
        kills: int,
        stalls: int,
        gap_s: tuple[float, float],
        say: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True),
    ) -> None:
        if not 0 <= stalls <= kills:
            raise ValueError(f"stalls must be 0 .. kills ({kills}); was {stalls}")
        self.rng = rng
        self.fleet = fleet
        self.db = db
        self.ttl_s = ttl_s
        self.kinds = ["stall"] * stalls + ["kill"] * (kills - stalls)
        rng.shuffle(self.kinds)
        self.gap_s = gap_s
        self.say = say
        self.events: list[ChaosEvent] = []
        self.crashes: list[str] = []
        """Workers that ended without a signal from here (their log and exit code)."""
        self._due: list[tuple[float, int, str, str]] = []
        """(monotonic instant, tie-break, action, worker name): restarts and SIGCONTs."""
        self._n = 0

    def run(self) -> list[ChaosEvent]:
        for number, kind in enumerate(self.kinds, 1):
            self._idle(time.monotonic() + self.rng.uniform(*self.gap_s))
            victim = self._victim()
            event = self._strike(kind, victim)
            self.say(
                f"chaos {number}/{len(self.kinds)}: {kind} {victim.name} ({event.executor}) "
                f"holding {sorted(event.held) or 'nothing'}"
                + (f", claiming {sorted(event.claimed)}" if event.claimed else "")
            )
        self._idle(0.0, drain=True)
        return self.events

    # --- internals -----------------------------------------------------------------------

    def _ready(self) -> dict[str, Worker]:
        """Workers running, not stopped, and ready (they said so: their grids can move to them).
        A worker that ended by itself (not killed here) is counted in ``crashes`` and started
        again: the torture goes on with its full fleet."""
        coming = {name for _, _, action, name in self._due if action == "start"}
        for name, worker in self.fleet.items():
            if worker.proc is not None and worker.proc.poll() is not None and name not in coming:
                self.crashes.append(f"{worker.log.name}: exit {worker.proc.returncode}")
                self.say(f"chaos: {name} ended by itself ({self.crashes[-1]}); starting it again")
                worker.start()
        return {name: w for name, w in self.fleet.items() if w.up and w.ready is not None}

    def _held(self, executor: str) -> tuple[Any, dict[str, int]]:
        now = self.db.execute("SELECT clock_timestamp()").fetchone()[0]
        rows = self.db.execute(
            "SELECT grid, epoch FROM gridmaker.fleet_owners WHERE owner = %s "
            "AND lease_until > clock_timestamp()",
            (executor,),
        ).fetchall()
        return now, {str(g): int(e) for g, e in rows}

    def _victim(self) -> Worker:
        """A seeded choice among the ready workers holding a grid, once two are ready. While
        none holds one (grids between owners) the event waits: killing an idle worker then
        would only delay a failover already under way, not start one. After ``IDLE_WAIT_S``
        any ready worker will do."""
        patience = time.monotonic() + IDLE_WAIT_S
        while True:
            ready = self._ready()
            if len(ready) >= 2:
                holding = [n for n, w in sorted(ready.items()) if self._held(w.ready or "")[1]]
                if holding or time.monotonic() > patience:
                    return ready[self.rng.choice(holding or sorted(ready))]
            self._idle(time.monotonic() + 0.1)

    def _claimed(self, executor: str, held: Mapping[str, int]) -> frozenset[str]:
        """Grids whose workflow DBOS has running on ``executor`` though it holds no lease of
        theirs yet (``fleet:{grid}:{generation}``, pending there)."""
        rows = self.db.execute(
            "SELECT workflow_uuid FROM dbos.workflow_status WHERE executor_id = %s "
            "AND status = 'PENDING' AND workflow_uuid LIKE 'fleet:%%'",
            (executor,),
        ).fetchall()
        grids = {str(r[0]).split(":")[1] for r in rows}
        return frozenset(grids - set(held))

    def _strike(self, kind: str, worker: Worker) -> ChaosEvent:
        executor = worker.ready or "?"
        at, held = self._held(executor)
        event = ChaosEvent(kind, worker.name, executor, at, held, self._claimed(executor, held))
        if kind == "kill":
            worker.kill()
            self._later(self.rng.uniform(0.2, 2.0), "start", worker.name)
        else:
            worker.signal(signal.SIGSTOP)
            self._later(self.ttl_s + self.rng.uniform(2.0, 4.0), "cont", worker.name)
        self.events.append(event)
        return event

    def _later(self, delay_s: float, action: str, name: str) -> None:
        self._n += 1
        heapq.heappush(self._due, (time.monotonic() + delay_s, self._n, action, name))

    def _idle(self, until: float, *, drain: bool = False) -> None:
        """Until ``until`` (or, ``drain``, until nothing is due), do what falls due."""
        while True:
            now = time.monotonic()
            if self._due and self._due[0][0] <= now:
                _, _, action, name = heapq.heappop(self._due)
                worker = self.fleet[name]
                if action == "start":
                    worker.start()
                else:
                    worker.signal(signal.SIGCONT)
                self.say(f"chaos: {action} {name}")
                continue
            if drain:
                if not self._due:
                    return
                wake = self._due[0][0]
            else:
                if now >= until:
                    return
                wake = min(until, self._due[0][0]) if self._due else until
            time.sleep(max(0.01, wake - now))
