"""Fleet torture: kill and stall ``gridmaker worker`` processes at seeded instants, judge.

Usage:
    python benchmarks/fleet_torture.py --workers W --grids G --kills K --seed S
        [--stalls N] [--lease-ttl T] [--markets M] [--walk-ms MS] [--pg-url URL] [--keep DIR]

W workers (real processes) share one PostgreSQL (``--pg-url``, else a throwaway cluster
started here) and work G grids declared in it, on one account of a ``gridmaker sim-exchange``
whose market walks by itself (``--walk-ms``) and whose state lives apart from the workers.
K chaos events (``fleet_chaos``): SIGKILL a worker holding grids and restart it, or (N of
them) SIGSTOP it past its lease, then SIGCONT. Then the fleet settles (every grid trading
under a running worker: ``grids_without_one_owner``), the workers stop (SIGTERM), the market
freezes (the simulator restarts on its port, printing no more) and one last worker syncs
every grid with the venue, as a fleet restart would; then ``fleet_judge`` judges
against the exchange's own records and the database's ownership history. Failover: signal ->
the grid trading again under a newer epoch, p50 and p99 against the lease TTL + 5 s.

The last stdout line is the JSON verdict; the exit code is non-zero only when the harness
itself fails (a process that does not start, a fleet that never trades at all).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: tests.kit is the repo's
    sys.path.insert(0, str(ROOT))

from fleet_chaos import Chaos  # noqa: E402
from fleet_judge import ZEROS_VENUE, judge_ownership, judge_venue  # noqa: E402
from tests.kit.fleet import (  # noqa: E402
    GridSpec,
    Worker,
    connect,
    declare_grids,
    install_write_audit,
    layout,
    migrate,
    sim_config,
    stop_all,
)
from tests.kit.waiting import eventually  # noqa: E402

FROZEN_WALK_MS = 86_400_000
"""The frozen market: the restarted simulator prints one round, then waits a day."""


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class SimServer:
    """``gridmaker sim-exchange`` on one state file; restartable on the same port."""

    def __init__(self, root: Path, config: Path) -> None:
        self.root = root
        self.config = config
        self.state = root / "exchange.sqlite"
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.lives = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, walk_ms: int) -> None:
        self.lives += 1
        out = self.root / f"sim-exchange.{self.lives}.out"
        command = [sys.executable, "-m", "gridmaker.cli", "sim-exchange", "--port", str(self.port)]
        command += ["--state", str(self.state), "--config", str(self.config)]
        command += ["--walk-ms", str(walk_ms)]
        with out.open("w") as sink:
            self.proc = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
        proc = self.proc

        def listening() -> str | None:
            text = out.read_text()
            if proc.poll() is not None:
                raise SystemExit(f"sim-exchange did not start: {text[-2000:]}")
            return text.split("listening on ", 1)[1].split()[0] if "listening on" in text else None

        url = eventually(listening, timeout_s=60, what="the simulator to listen")
        self.port = int(url.rsplit(":", 1)[1])

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=60)
        self.proc = None


@contextmanager
def database(pg_url: str | None) -> Iterator[str]:
    """``pg_url``, or a database on a throwaway cluster started here."""
    if pg_url:
        yield pg_url
        return
    from tests.kit.postgres import NoPostgres, PgServer, throwaway_cluster

    try:
        with throwaway_cluster(max_connections=300) as server:
            yield PgServer(server).new_database()
    except NoPostgres as e:
        raise SystemExit(f"no PostgreSQL: {e} (or give --pg-url)") from None


def _unheld(db: Any, specs: Sequence[GridSpec], ready: set[str], since: Any = None) -> set[str]:
    """The grids not leased by a ready worker trading under that epoch (since ``since``)."""
    rows = db.execute(
        "SELECT o.grid, o.owner FROM gridmaker.fleet_owners o "
        "WHERE o.lease_until > clock_timestamp() AND EXISTS (SELECT 1 FROM "
        "gridmaker.fleet_history h WHERE h.grid = o.grid AND h.epoch = o.epoch AND "
        "h.worker = o.owner AND h.event = 'trading' AND (%s::timestamptz IS NULL OR h.at > %s))",
        (since, since),
    ).fetchall()
    return {s.name for s in specs} - {str(g) for g, owner in rows if owner in ready}


def _ready(fleet: Mapping[str, Worker]) -> set[str]:
    found = (w.ready for w in fleet.values() if w.up)
    return {e for e in found if e}


IN_FLIGHT = ("placing", "cancelling", "unknown")
"""Order states a settled book does not hold (an order not yet proven at the venue or gone)."""


def _in_flight(db: Any) -> set[str]:
    """The grids whose book holds an order still in flight (``IN_FLIGHT``)."""
    from gridmaker.store.codec import decode_state

    grids = set()
    for grid, text in db.execute("SELECT store_id, state_json FROM gridmaker.books"):
        state = decode_state(json.loads(text))
        if any(s.order.value in IN_FLIGHT for s in state.slots.values()):
            grids.add(str(grid))
    return grids


def _all_ready(fleet: Mapping[str, Worker]) -> None:
    """Every worker ready: one stopped while it starts is killed by the signal (exit -15)."""
    eventually(lambda: all(w.ready for w in fleet.values()), timeout_s=120, what="every worker")


def _settle(
    db: Any,
    specs: Sequence[GridSpec],
    fleet: Mapping[str, Worker],
    timeout_s: float,
    since: Any = None,
    *,
    settled: bool = False,
) -> set[str]:
    """Wait until every grid trades under a running worker (and, ``settled``, holds no order
    in flight); the grids that still do not when ``timeout_s`` ran out."""
    deadline = time.monotonic() + timeout_s
    while True:
        unheld = _unheld(db, specs, _ready(fleet), since)
        if settled:
            unheld |= _in_flight(db)
        if not unheld or time.monotonic() > deadline:
            return unheld
        time.sleep(0.2)


def _venue_weight(base_url: str) -> dict[str, int]:
    """The request weight the simulator has served since it started (Binance's table), by
    endpoint: where a full window comes from."""
    import urllib.request

    from gridmaker.exchange.binance_weights import endpoint_weight

    with urllib.request.urlopen(base_url + "/__sim/chaos", timeout=30) as response:
        calls = json.loads(response.read())["calls"]
    by_call = {call: endpoint_weight(*call.split(" ", 1)) * n for call, n in calls.items()}
    return dict(sorted(by_call.items(), key=lambda kv: -kv[1]))


def _logged(work: Path, text: str) -> int:
    """How often the workers logged ``text``."""
    return sum(log.read_text(errors="replace").count(text) for log in work.glob("*.log"))


def _executors(db: Any, fleet: Mapping[str, Worker]) -> dict[str, str]:
    """Each process's application name -> its executor id (by pid and name)."""
    rows = db.execute("SELECT worker, pid FROM gridmaker.fleet_workers").fetchall()
    by_pid = {(int(pid), str(w).rsplit("-", 1)[0]): str(w) for w, pid in rows}
    return {
        app: by_pid[(pid, w.name)]
        for w in fleet.values()
        for app, pid in w.apps.items()
        if (pid, w.name) in by_pid
    }


def _db_now(db: Any) -> Any:
    """The database's clock (every time in the verdict is on it)."""
    row = db.execute("SELECT clock_timestamp()").fetchone()
    assert row is not None
    return row[0]


def _stop_all(fleet: Mapping[str, Worker]) -> list[str]:
    """Stop every worker; the logs of those that did not exit 0."""
    codes = stop_all(fleet.values())
    return [f"{w.log.name}: exit {c}" for w, c in zip(fleet.values(), codes, strict=True) if c]


def torture(args: argparse.Namespace) -> dict[str, Any]:
    from gridmaker.config import load_config, sim_instrument

    specs = layout(args.grids, args.markets or args.grids)
    ttl = args.lease_ttl
    started = time.monotonic()
    with ExitStack() as stack:
        root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="gm-fleet-")))
        if args.keep is not None:
            stack.callback(shutil.copytree, root, args.keep, dirs_exist_ok=True)
        url = stack.enter_context(database(args.pg_url))
        (root / "sim.yaml").write_text(sim_config(specs, seed=args.seed))
        sim = SimServer(root, root / "sim.yaml")
        stack.callback(sim.stop)
        sim.start(args.walk_ms)
        migrate(url)
        db = stack.enter_context(connect(url))
        install_write_audit(db)
        declared = declare_grids(url, specs, sim.url, root / "grids")
        names = [f"w{k + 1}" for k in range(args.workers)]
        capacity = ("--capacity", str(args.capacity or args.grids))
        fleet = {n: Worker(n, url, ttl, root / "workers", capacity) for n in names}
        stack.callback(_stop_all, fleet)
        for worker in fleet.values():
            worker.start()
        if _settle(db, specs, fleet, 120 + 10 * args.grids):
            raise SystemExit(f"the fleet never traded every grid: see {root} (--keep)")
        say(f"fleet trading after {time.monotonic() - started:.1f} s")
        chaos = Chaos(
            random.Random(args.seed),
            fleet,
            db,
            ttl_s=ttl,
            kills=args.kills,
            stalls=args.stalls,
            gap_s=(args.gap_min_s, args.gap_max_s),
        )
        events = chaos.run()
        settle_from = time.monotonic()
        unowned = _settle(db, specs, fleet, 3 * ttl + 120)
        _all_ready(fleet)
        chaos_end = _db_now(db)
        weights, minutes = _venue_weight(sim.url), (time.monotonic() - started) / 60
        settle_s = time.monotonic() - settle_from
        exits = _stop_all(fleet)
        sim.stop()
        sim.start(FROZEN_WALK_MS)
        final_from = _db_now(db)
        syncer = {
            "sync": Worker("sync", url, ttl, root / "workers", ("--capacity", str(len(specs))))
        }
        syncer["sync"].start()
        # An order in doubt stays so for the venue's lookup grace (Binance: 60 s) after a
        # boot, then the next audit (every 15 s) settles it.
        unsynced = _settle(db, specs, syncer, 150 + 10 * args.grids, since=final_from, settled=True)
        exits += _stop_all(syncer)
        sim.stop()
        executors = _executors(db, {**fleet, **syncer})
        throttled = _logged(root / "workers", "not sent, weight")
        tracebacks = _logged(root / "workers", "Traceback (most recent call last)")
        config = load_config(root / "sim.yaml")
        instruments = [sim_instrument(config, s) for s in sorted({s.symbol for s in specs})]
        venue = judge_venue(sim.state, instruments, specs, url)
        ownership = judge_ownership(url, events, chaos_end, executors)
        for sample in ownership.pop("samples"):
            say("failover " + " ".join(map(str, sample)))
    p99 = ownership["failover_p99_s"]
    return {
        "workers": args.workers,
        "grids": args.grids,
        "markets": len({s.symbol for s in specs}),
        "seed": args.seed,
        "lease_ttl_s": ttl,
        "kills": sum(e.kind == "kill" for e in events),
        "stalls": sum(e.kind == "stall" for e in events),
        **{k: venue.pop(k) for k in ZEROS_VENUE},
        "balance_mismatches": venue.pop("balance_mismatches"),
        "grids_without_one_owner": len(unowned),
        "epoch_regressions": ownership.pop("epoch_regressions"),
        "stale_trading": ownership.pop("stale_trading"),
        "stale_writes": ownership.pop("stale_writes"),
        "failovers_missing": ownership.pop("failovers_missing"),
        "failover_p50_s": ownership.pop("failover_p50_s"),
        "failover_p99_s": p99,
        "failover_limit_s": ttl + 5,
        "failover_within_limit": p99 is not None and p99 <= ttl + 5,
        **ownership,
        **venue,
        "settle_s": round(settle_s, 1),
        "venue_weight_per_min": round(sum(weights.values()) / minutes),
        "venue_weight_per_min_by_call": {k: round(w / minutes) for k, w in weights.items()},
        "requests_held_by_rate_budget": throttled,
        "tracebacks_in_worker_logs": tracebacks,
        "grids_not_synced_at_the_end": len(unsynced),
        "worker_crashes": len(chaos.crashes),
        "crashed": chaos.crashes[:10],
        "worker_exits_not_zero": len(exits),
        "exits_not_zero": exits[:10],
        "grids_declared_by": declared,
        "seconds": round(time.monotonic() - started, 1),
    }


ZEROS = (
    *ZEROS_VENUE,
    "balance_mismatches",
    "grids_without_one_owner",
    "epoch_regressions",
    "stale_trading",
    "stale_writes",
    "failovers_missing",
    "grids_not_synced_at_the_end",
    "worker_crashes",
)
"""The judgements that must all be 0."""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--grids", type=int, default=12)
    parser.add_argument("--kills", type=int, default=50, help="chaos events, stalls included")
    parser.add_argument("--stalls", type=int, help="of them stalls (default: 15%%, at least 1)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--lease-ttl", type=float, default=5.0, help="the workers' --lease-ttl")
    parser.add_argument("--markets", type=int, help="markets the grids share (default: one each)")
    parser.add_argument(
        "--capacity", type=int, help="each worker's --capacity (default: every grid)"
    )
    parser.add_argument("--walk-ms", type=int, default=50, help="the market's pace")
    parser.add_argument("--gap-min-s", type=float, default=4.0, help="least gap between events")
    parser.add_argument("--gap-max-s", type=float, default=14.0, help="most gap between events")
    parser.add_argument("--pg-url", help="a database to use (default: a throwaway cluster)")
    parser.add_argument("--keep", type=Path, help="copy the run's files here (a post-mortem)")
    args = parser.parse_args()
    if args.workers < 2:
        parser.error("--workers must be at least 2 (one stays up while another is down)")
    if args.stalls is None:
        args.stalls = max(1, round(args.kills * 0.15)) if args.kills else 0
    verdict = torture(args)
    verdict["judged_zero"] = list(ZEROS)
    verdict["all_zero"] = all(verdict[k] == 0 for k in ZEROS)
    print(json.dumps(verdict))


if __name__ == "__main__":
    main()
