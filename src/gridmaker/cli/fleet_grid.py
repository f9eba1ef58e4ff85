"""One fleet grid, run by a worker under its lease: ``run``'s path with the fence in place.

The grid's config is the one the fleet holds (``fleet add``); its store is the fleet's
database under the grid's name, opened without the writer lock (a stopped worker's session
would hold it) and with the epoch fence instead; its venue is wrapped so that nothing is sent
once the lease may be gone. Then it is an ordinary start: load ▸ verify ▸ sync ▸ reconcile ▸
trade, on the simple engine, until the worker stops it, the lease is lost or the fleet
removes the grid (a journaled stop, applied by the grid's own loop).
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from contextlib import AsyncExitStack, nullcontext
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from gridmaker.engine.orchestrator import GridOrchestrator
    from gridmaker.fleet.worker import GridRun
    from gridmaker.store.pg_store import PgStore

__all__ = ["fleet_grid_runner"]

log = logging.getLogger("gridmaker.fleet")

WATCH_S: Final = 0.2
"""How often a grid looks at its lease, the worker's stop and the fleet's removal."""
MARK_EVERY_S: Final = 2.0
"""How often the owner publishes the grid's mark (the fleet breaker's input) and its sync."""
IDLE_TIMEOUT_MS: Final = 3000
"""A stopped worker's open transaction is ended by the server after this: it must not hold
the owner row a takeover has to update."""
REMOVALS: Final = {"cancel": "stop_cancel", "leave": "stop_leave"}


def fleet_grid_runner(conninfo: str) -> Any:
    """The ``GridRunner`` the worker calls in each grid's workflow thread."""

    def run(grid_run: GridRun) -> str:
        return asyncio.run(_run_grid(grid_run, conninfo))

    return run


async def _run_grid(run: GridRun, conninfo: str) -> str:
    import yaml

    from gridmaker.cli.venue import open_run_venue, venue_choice, venue_identity
    from gridmaker.cli.wiring import wire_session
    from gridmaker.config import book_setups
    from gridmaker.config.loading import parse_config
    from gridmaker.engine.venue_binding import bind_venue
    from gridmaker.exchange.ccxt.rate_budget import recovering
    from gridmaker.fleet.guarded import LeaseGuardedExchange
    from gridmaker.store.pg_fence import Fence
    from gridmaker.store.pg_store import PgStore
    from gridmaker.store.url import parse_store_url

    grid, lease = run.grid, run.lease
    config = parse_config(yaml.safe_load(grid.config), source=f"fleet grid {grid.name}")
    remote = venue_choice(config)
    if remote is None:
        raise ValueError(f"grid {grid.name}: a fleet grid cannot trade on the built-in exchange")
    async with AsyncExitStack() as stack:
        # A boot may spend the key's reserve: a takeover's sync must not queue behind the
        # polling of every other grid on the account. A grid that keeps failing may not.
        with recovering() if run.attempt == 1 else nullcontext():
            venue, instruments = await open_run_venue(remote, config)
            stack.push_async_callback(venue.close)
            setups = book_setups(config, instruments)
            url = parse_store_url(_with_grid(conninfo, grid.name), source="fleet")
            store = PgStore(
                url,
                exclusive=False,
                fence=Fence(grid.name, run.worker, lease.epoch),
                session_options=f"-c idle_in_transaction_session_timeout={IDLE_TIMEOUT_MS}",
            )
            bind_venue(store, venue_identity(remote, venue), f"fleet grid {grid.name}")
            data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="gm-fleet-")))
            session = wire_session(
                engine="simple",
                data_dir=data_dir,
                store=store,
                exchange=LeaseGuardedExchange(venue, lease, run.worker),
                setups=setups,
            )
            stack.push_async_callback(session.close)
            orchestrator = session.orchestrator
            await orchestrator.boot()
        state, booked = _state_of(orchestrator)
        run.leases.mark(lease, state, trading=booked, sync=True)
        log.info("worker %s: grid %s %s (epoch %d)", run.worker, grid.name, state, lease.epoch)
        stop = asyncio.Event()
        watching = asyncio.create_task(
            _watch(run, orchestrator, store, stop, grid.account, booked=booked)
        )
        try:
            from gridmaker.cli.venue import run_sessions

            await run_sessions(
                remote,
                False,
                orchestrator,
                venue,
                {symbol: (None, None) for symbol in orchestrator.symbols},
                steps=None,
                duration_s=None,
                reconcile_every=config.reconcile_every,
                stop=stop,
            )
        finally:
            watching.cancel()
            await asyncio.gather(watching, return_exceptions=True)
        if run.removal and orchestrator.stop.is_set():
            return "removed"
        return run.must_stop or ("removed" if run.removal else "stopped")


async def _watch(
    run: GridRun,
    orchestrator: GridOrchestrator,
    store: PgStore,
    stop: asyncio.Event,
    account: str,
    *,
    booked: bool,
) -> None:
    """Stop the grid's session when it must; journal the fleet's removal; publish its mark.

    A new grid has no book until its first price (and the pre-flight checks) built one: it is
    marked trading only then, so ``fleet status`` never shows a grid that refuses to start as
    trading. A failed publish is logged and tried again: the watch must go on stopping the
    grid when it has to.
    """
    loop = asyncio.get_running_loop()
    next_mark = loop.time() + MARK_EVERY_S
    removal_sent = failing = False
    while True:
        if run.must_stop:
            stop.set()
            return
        if run.removal and not removal_sent:
            symbol = orchestrator.symbols[0]  # a stop acts on every book of the grid
            store.add_command(symbol, REMOVALS.get(run.removal, "stop_cancel"), "fleet remove")
            orchestrator.wake_commands()
            removal_sent = True
        if loop.time() >= next_mark or (not booked and not failing and _state_of(orchestrator)[1]):
            next_mark = loop.time() + MARK_EVERY_S
            failing = True  # until it succeeds: a failed publish waits for the next mark
            try:
                booked = _publish(run, orchestrator, account, booked)
                failing = False
            except Exception as e:  # the fence and the lease guard still hold meanwhile
                log.warning(
                    "worker %s: grid %s: publishing failed: %s", run.worker, run.grid.name, e
                )
        await asyncio.sleep(WATCH_S)


def _state_of(orchestrator: GridOrchestrator) -> tuple[str, bool]:
    """The grid's state for ``fleet status`` and whether every market has its book yet."""
    booked = all(orchestrator.state(s) is not None for s in orchestrator.symbols)
    halted = [f"{s}: {r}" for s in orchestrator.symbols if (r := orchestrator.halted(s))]
    if halted:
        return f"halted: {'; '.join(halted)}"[:300], booked
    return ("trading" if booked else "starting: waiting for the first price"), booked


def _publish(run: GridRun, orchestrator: GridOrchestrator, account: str, booked: bool) -> bool:
    """The grid's mark for the fleet breaker, its state and last sync for ``fleet status``;
    marks it trading when its books were built since. Returns whether they are."""
    from gridmaker.fleet.breaker import mark_of, publish_mark

    marks = [
        mark_of(state, state.last_price_ticks)
        for symbol in orchestrator.symbols
        if (state := orchestrator.state(symbol)) is not None and state.last_price_ticks
    ]
    if marks and len({quote for quote, _, _ in marks}) == 1:  # one quote asset: they add up
        equity, exposure = (
            sum((m[1] for m in marks), Decimal(0)),
            sum((m[2] for m in marks), Decimal(0)),
        )
        with run.leases.using() as db:
            publish_mark(db, run.grid.name, account, marks[0][0], equity, exposure, run.lease.epoch)
    text, now_booked = _state_of(orchestrator)
    run.leases.mark(run.lease, text, trading=now_booked and not booked, sync=True)
    return now_booked


def _with_grid(conninfo: str, grid: str) -> str:
    return f"{conninfo}{'&' if '?' in conninfo else '?'}grid={grid}"
