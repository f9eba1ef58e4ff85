"""``gridmaker worker``: one process of a fleet; works the grids DBOS gives it.

Start as many as you like, on one machine or several, all on one PostgreSQL. Each process is
a new worker (``NAME-<8 hex>``): a restarted worker does not resume its old grids itself; the
others take them over once its lease runs out, as they would from a dead machine. SIGINT or
SIGTERM stops every grid at its next safe point and gives its lease back at once (exit 0); a
second signal quits at once (130), as safe as a crash.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from types import FrameType
from typing import Annotated

import typer

from gridmaker.cli.common import EXIT_CONFIG, EXIT_EXCHANGE, EXIT_INTERRUPTED, fail

__all__ = ["worker"]


def worker(
    store: Annotated[
        str | None,
        typer.Option(
            "--store",
            help="the fleet's postgresql:// URL (default: GRIDMAKER_STORE_URL); the password "
            "is best kept in the environment (PGPASSWORD) or ~/.pgpass",
        ),
    ] = None,
    name: Annotated[
        str, typer.Option("--name", help="this worker's name (its id adds a random suffix)")
    ] = "worker",
    capacity: Annotated[
        int, typer.Option("--capacity", min=1, max=256, help="grids this worker runs at most")
    ] = 8,
    lease_ttl: Annotated[
        float,
        typer.Option(
            "--lease-ttl",
            min=2,
            max=600,
            help="seconds a grid's lease lasts unrenewed: a dead worker's grids move after it",
        ),
    ] = 10.0,
    version: Annotated[
        str,
        typer.Option(
            "--version",
            help="the application version: workers recover only the work of their own version "
            "(docs/operating.md: upgrading a fleet)",
        ),
    ] = "1",
) -> None:
    """Work grids of the fleet until stopped (SIGINT/SIGTERM: stop at a safe point, exit 0)."""
    from gridmaker.fleet.registry import NAME_RULE
    from gridmaker.fleet.worker import FleetWorker, WorkerSettings

    if not NAME_RULE.match(name):
        raise fail(
            EXIT_CONFIG,
            f"--name must be letters, digits, '_', '.' or '-' (64 at most); was {name!r}",
        )
    from gridmaker.cli.fleet_database import fleet_db, fleet_url, redacted

    conninfo = fleet_url(store).conninfo or ""
    with fleet_db(store, write=True):  # the tables made or checked before DBOS or any grid
        pass
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("dbos", "sqlalchemy", "ccxt", "httpx", "websockets"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    from gridmaker.cli.fleet_grid import fleet_grid_runner

    settings = WorkerSettings(
        conninfo=conninfo, name=name, capacity=capacity, lease_ttl_s=lease_ttl, version=version
    )
    stopped = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        if stopped.is_set():
            raise fail(EXIT_INTERRUPTED, "interrupted: quit at once (the grids move on)")
        stopped.set()
        sys.stderr.write(f"{signal.Signals(signum).name}: stopping every grid at a safe point\n")

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        fleet = FleetWorker(settings, fleet_grid_runner(conninfo))
        fleet.start()
    except Exception as e:  # the database refused us: nothing runs
        raise fail(EXIT_EXCHANGE, f"cannot start the worker: {redacted(e, conninfo)}") from None
    sys.stderr.write(f"worker {fleet.id} ready\n")
    sys.stderr.flush()
    while not stopped.wait(0.5):
        pass
    fleet.stop()
    sys.stderr.write(f"worker {fleet.id} stopped\n")
