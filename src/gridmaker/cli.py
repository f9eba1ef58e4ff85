"""The ``gridmaker`` command. Wiring of concrete classes happens here and nowhere else.

Exit codes:

====  ==========================================================================
0     success
1     unexpected error (a bug: the message and traceback say where)
2     invalid config, arguments or environment value (``GRIDMAKER_SYSTEM_DB_URL``)
3     stored state refused: checksum mismatch, damaged file, missing table, newer schema;
      ``status``: no book
4     boot refused: book, config and venue disagree; pre-flight failed; data dir in use,
      a file, or not writable
5     exchange error that stops trading (ban, malformed data at boot, ...); system database
      (``GRIDMAKER_SYSTEM_DB_URL``) unreachable
6     ``shadow``: the simple and the durable engine diverged
130   ``run``: a second SIGINT/SIGTERM quit at once, without the summary
====  ==========================================================================

One SIGINT or SIGTERM (Ctrl-C) ends any ``run`` — built-in exchange, a simulator it prints,
a live venue — cleanly, with exit code 0: trading stops at the next safe point (between two
events, never inside a decision or a send), the last fills are polled and saved, and the
summary is printed. A signal during the boot lets the boot finish, then stops. A second
signal quits at once (130), which is as safe as a crash: the next start syncs.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from gridmaker.cli_venue import VenueChoice
    from gridmaker.config import Config
    from gridmaker.core.state import GridState
    from gridmaker.core.units import Instrument
    from gridmaker.engine.executor import GridExecutor
    from gridmaker.engine.orchestrator import BookSetup, GridOrchestrator
    from gridmaker.engine.session import Progress
    from gridmaker.exchange.api import Exchange
    from gridmaker.feeds import MarketFeed
    from gridmaker.store import DataDirLock, Store

__all__ = ["app", "main"]

EXIT_CONFIG = 2
EXIT_STATE = 3
EXIT_BOOT = 4
EXIT_EXCHANGE = 5
EXIT_INTERRUPTED = 130
ENGINES = ("simple", "durable")
DEFAULT_STEPS = 20_000
"""Trades a simulated market prints when neither --steps nor --duration is given."""

app = typer.Typer(
    name="gridmaker",
    help="A crash-safe grid-trading market maker.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True)

DataDir = Annotated[
    Path, typer.Option("--data-dir", help="where the bot's state (and the simulated exchange) live")
]
JsonFlag = Annotated[bool, typer.Option("--json", help="print the summary as one JSON line last")]


def _fail(code: int, message: str) -> typer.Exit:
    from rich.markup import escape  # a message quotes user input: never read it as markup

    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def _load_config(path: Path | None, overrides: dict[str, Any]) -> Config:
    """The config with command-line ``overrides`` (``{"feed": {...}, "exchange": ...}``)."""
    from gridmaker.config import ConfigError, load_config

    try:
        return load_config(path, overrides)
    except ConfigError as e:
        raise _fail(EXIT_CONFIG, str(e)) from None


def _make_feed(config: Config, instrument: Instrument) -> MarketFeed:
    """The market a simulated exchange prints (unused on a real venue, whose market is real)."""
    from gridmaker.feeds import FeedError, ReplayFeed

    feed = config.feed
    if feed.kind == "file":
        assert feed.path is not None
        try:
            recorded = ReplayFeed(feed.path)
            recorded.check_tick(instrument.tick_size)  # an off-tick row: named, not a traceback
        except FeedError as e:
            raise _fail(EXIT_CONFIG, str(e)) from None
        return recorded
    return feed.random_walk(instrument)


@app.command()
def run(
    config_path: Annotated[
        Path | None, typer.Option("--config", help="YAML config file (defaults need none)")
    ] = None,
    engine: Annotated[
        str | None,
        typer.Option("--engine", help="simple, or durable (DBOS workflows); default: config"),
    ] = None,
    feed_path: Annotated[
        Path | None, typer.Option("--feed", help="replay trades from a CSV/JSON file")
    ] = None,
    steps: Annotated[
        int | None,
        typer.Option(
            "--steps",
            min=0,
            help="trades to print (default 20000, or the feed file's length); on a live venue: "
            "prices to trade on (default: until stopped); 0: boot and reconcile only, then "
            "the summary (needs a data dir with a book)",
        ),
    ] = None,
    duration: Annotated[
        float | None,
        typer.Option("--duration", min=0, help="stop after this many seconds (SIGINT/SIGTERM too)"),
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", min=0, help="random-walk seed")] = None,
    exchange_id: Annotated[
        str | None,
        typer.Option(
            "--exchange", help="sim (built in) or a ccxt exchange id: binance, ...; default: config"
        ),
    ] = None,
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="the venue's REST URL, e.g. a sim-exchange")
    ] = None,
    sandbox: Annotated[
        bool, typer.Option("--sandbox", help="trade on the venue's testnet")
    ] = False,
    data_dir: DataDir = Path("gridmaker-data"),
    as_json: JsonFlag = False,
) -> None:
    """Run the grid: on the built-in simulated exchange (no keys needed) or a real venue.

    Boots (sync and reconcile), then trades until --steps, --duration, the feed's end, or
    one SIGINT/SIGTERM (Ctrl-C), which stops at the next safe point and prints the summary.
    """
    _setup_logging()
    if engine is not None and engine not in ENGINES:
        raise _fail(EXIT_CONFIG, f"--engine must be one of: {', '.join(ENGINES)}; was {engine!r}")
    if duration is not None and not math.isfinite(duration):
        raise _fail(EXIT_CONFIG, f"--duration must be a finite number of seconds; was {duration}")
    feed: dict[str, Any] = {}
    if feed_path is not None:
        feed.update(kind="file", path=feed_path)
    if seed is not None:
        feed["seed"] = seed
    from gridmaker.cli_venue import venue_choice, venue_overrides

    config = _load_config(
        config_path,
        {**({"feed": feed} if feed else {}), **venue_overrides(exchange_id, base_url, sandbox)},
    )
    remote = venue_choice(config)
    if steps == 0 and not (data_dir / "gridmaker.sqlite").exists():
        raise _fail(
            EXIT_CONFIG,
            f"--steps 0 boots and reconciles a stored book only, and {data_dir} has none "
            f"(no {data_dir / 'gridmaker.sqlite'}): give --steps N to trade, or the data dir "
            "of a bot that ran",
        )
    try:
        summaries = asyncio.run(
            _run_until_signalled(
                config,
                data_dir,
                steps,
                duration,
                show_progress=True,
                remote=remote,
                engine=engine or config.engine,
            )
        )
    except KeyboardInterrupt:
        raise _fail(
            EXIT_INTERRUPTED,
            "interrupted: stopped at once, without the summary (safe: the next start syncs "
            "with the venue)",
        ) from None
    _print_summaries(summaries, as_json)


async def _run_until_signalled(
    config: Config,
    data_dir: Path,
    steps: int | None,
    duration: float | None,
    *,
    show_progress: bool,
    remote: VenueChoice | None = None,
    engine: str = "simple",
) -> list[dict[str, Any]]:
    """``_run`` with SIGINT/SIGTERM asking it to stop at its next safe point.

    The handlers are the loop's (``add_signal_handler``), installed before anything opens,
    so a signal never lands as an exception inside a decision or a send; a second signal
    raises ``KeyboardInterrupt`` (quit at once: as safe as a crash, the next start syncs).
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_signal(sig: signal.Signals) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        err.print(
            f"{sig.name}: stopping at the next safe point, then the summary "
            "(send it again to quit at once)",
            highlight=False,
            soft_wrap=True,
        )

    signals = (signal.SIGINT, signal.SIGTERM)
    for sig in signals:
        loop.add_signal_handler(sig, on_signal, sig)
    try:
        return await _run(
            config,
            data_dir,
            steps,
            duration,
            show_progress=show_progress,
            remote=remote,
            engine=engine,
            stop=stop,
        )
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)


async def _book_setups(
    config: Config, instruments: Sequence[Instrument], venue: Any
) -> list[BookSetup]:
    """Each market in the core's units; a real venue's rules arrive only now, so the config is
    checked against them here (exit 2, the venue closed, before any file is opened)."""
    from gridmaker.config import ConfigError, book_setup_args
    from gridmaker.engine.orchestrator import BookSetup

    try:
        return [
            BookSetup(**book_setup_args(m, inst))
            for m, inst in zip(config.markets, instruments, strict=True)
        ]
    except ConfigError as e:
        if venue is not None:
            await venue.close()
        raise _fail(EXIT_CONFIG, str(e)) from None


async def _run(
    config: Config,
    data_dir: Path,
    steps: int | None,
    duration: float | None,
    *,
    show_progress: bool,
    remote: VenueChoice | None = None,
    engine: str = "simple",
    stop: asyncio.Event | None = None,
) -> list[dict[str, Any]]:
    from gridmaker.cli_venue import open_run_venue, run_sessions
    from gridmaker.engine.orchestrator import BootRefused, GridOrchestrator
    from gridmaker.engine.retry import Retrier
    from gridmaker.engine.simple import SimpleExecutor
    from gridmaker.exchange.api import Banned, ExchangeError
    from gridmaker.exchange.http_sim_client import HttpSimVenue
    from gridmaker.exchange.sim import SimExchange
    from gridmaker.store import StateCorrupt, StoreError

    remote_venue, instruments = await open_run_venue(remote, config)
    setups = await _book_setups(config, instruments, remote_venue)
    prints_market = remote_venue is None or isinstance(remote_venue, HttpSimVenue)
    feeds = await _open_feeds(config, setups, instruments, prints_market, remote_venue)
    lock, store = await _open_bound_to_venue(data_dir, engine, remote, remote_venue)
    exchange: Any = remote_venue or SimExchange(
        instruments=instruments,
        initial_balances=config.sim.balances,
        path=data_dir / "exchange.sqlite",
        partial_fills=config.sim.partial_fills,
        seed=config.feed.seed,
    )
    venue = _with_chaos(config, exchange)
    retrier = Retrier(seed=config.feed.seed)
    executor: GridExecutor
    if engine == "durable":
        from gridmaker.engine.durable import DurableExecutor

        executor = DurableExecutor.launch(data_dir, store=store, exchange=venue, retrier=retrier)
    else:
        executor = SimpleExecutor(store=store, exchange=venue, retrier=retrier)
    orchestrator = GridOrchestrator(
        exchange=venue, executor=executor, setups=setups, retrier=retrier
    )
    try:
        for symbol, feed in feeds.items():
            if feed is not None:  # a data dir bound to another feed is refused before boot
                exchange.bind_feed(symbol, feed.key)
        await orchestrator.boot()
        for setup in setups:
            if reason := orchestrator.halted(setup.symbol):
                err.print(f"[yellow]{setup.symbol} not trading:[/] {reason}", highlight=False)
        if steps is None and duration is None and prints_market:
            steps = DEFAULT_STEPS  # a live market runs until stopped
        feed_name = str(config.feed.path) if config.feed.kind == "file" else "the random walk"
        await run_sessions(
            remote,
            prints_market,
            orchestrator,
            exchange,
            {
                symbol: (
                    feed,
                    _progress_printer(symbol, orchestrator, feed_name, steps)
                    if show_progress
                    else None,
                )
                for symbol, feed in feeds.items()
            },
            steps=steps,
            duration_s=duration,
            reconcile_every=config.reconcile_every,
            stop=stop,
        )
        return _run_summaries(orchestrator, exchange, data_dir, retrier.retries)
    except StateCorrupt as e:
        raise _fail(EXIT_STATE, str(e)) from None
    except (BootRefused, StoreError) as e:
        raise _fail(EXIT_BOOT, str(e)) from None
    except ValueError as e:  # a data dir bound to another feed
        raise _fail(EXIT_BOOT, str(e)) from None
    except Banned as e:
        await orchestrator.halt_all(f"banned by the exchange: {e}", int(time.time() * 1000))
        raise _fail(EXIT_EXCHANGE, f"trading stopped, banned by the exchange: {e}") from None
    except ExchangeError as e:
        raise _fail(EXIT_EXCHANGE, f"trading stopped: {e}") from None
    finally:
        await executor.close()
        await exchange.close()
        lock.release()


async def _open_feeds(
    config: Config,
    setups: Sequence[BookSetup],
    instruments: Sequence[Instrument],
    prints_market: bool,
    remote_venue: Any,
) -> dict[str, MarketFeed | None]:
    """Each market's feed when we print the market; a bad feed file is refused (exit 2)
    before the data dir is touched."""
    try:
        return {
            setup.symbol: _make_feed(config, inst) if prints_market else None
            for setup, inst in zip(setups, instruments, strict=True)
        }
    except typer.Exit:
        if remote_venue is not None:
            await remote_venue.close()
        raise


def _run_summaries(
    orchestrator: GridOrchestrator, exchange: Any, data_dir: Path, retries: int
) -> list[dict[str, Any]]:
    """The summary of every market with a book; a market without one is named on stderr."""
    from gridmaker.engine.summary import summarize

    summaries = []
    for symbol in orchestrator.symbols:
        state = orchestrator.state(symbol)
        if state is None:
            if not orchestrator.halted(symbol):
                err.print(
                    f"{symbol}: no book yet in {data_dir}: the bot has not traded a price",
                    highlight=False,
                )
            continue
        summary = summarize(state)
        summary["feed_position"] = (
            exchange.feed_position(symbol) if hasattr(exchange, "feed_position") else None
        )
        summary["data_dir"] = str(data_dir)
        summary["boot_sync"] = orchestrator.report(symbol).counts()
        summary["retries"] = retries
        summaries.append(summary)
    return summaries


async def _open_bound_to_venue(
    data_dir: Path, engine: str, remote: VenueChoice | None, venue: Any
) -> tuple[DataDirLock, Store]:
    """The data dir's lock and store, refused (exit 4) when it was made on another venue.

    Checked before anything is read from the venue or sent to it; on any refusal the venue's
    connections are closed before exiting.
    """
    from gridmaker.cli_venue import venue_identity
    from gridmaker.engine.venue_binding import VenueMismatch, bind_venue

    try:
        lock, store = _open_bot_files(data_dir, engine)
    except typer.Exit:
        if venue is not None:
            await venue.close()
        raise
    try:
        bind_venue(store, venue_identity(remote, venue), str(data_dir))
    except VenueMismatch as e:
        store.close()
        lock.release()
        if venue is not None:
            await venue.close()
        raise _fail(EXIT_BOOT, str(e)) from None
    return lock, store


def _open_bot_files(data_dir: Path, engine: str = "simple") -> tuple[DataDirLock, Store]:
    """This process's hold on the data dir, and the bot's store (verified).

    Everything the run will open is checked first, reading only, so that a refusal leaves the
    data dir exactly as it was: the directory (exit 4), the system database's URL (2, 5), and
    each state file (3). Only then is the lock taken and the store opened for writing.
    """
    from gridmaker.exchange.sim import SimFileError, check_state_file
    from gridmaker.store import (
        AlreadyRunning,
        DataDirLock,
        DataDirUnusable,
        StateCorrupt,
        Store,
        check_data_dir,
        verify_store,
    )

    store_path = data_dir / "gridmaker.sqlite"
    try:
        check_data_dir(data_dir)
        if engine == "durable":
            from gridmaker.engine.durable import (
                SystemDatabaseInvalid,
                SystemDatabaseUnreachable,
                check_system_database,
            )

            try:
                check_system_database(data_dir)
            except SystemDatabaseInvalid as e:
                raise _fail(EXIT_CONFIG, str(e)) from None
            except SystemDatabaseUnreachable as e:
                raise _fail(EXIT_EXCHANGE, str(e)) from None
        verify_store(store_path)
        check_state_file(data_dir / "exchange.sqlite")
    except DataDirUnusable as e:
        raise _fail(EXIT_BOOT, str(e)) from None
    except StateCorrupt as e:
        raise _fail(EXIT_STATE, str(e)) from None
    except SimFileError as e:
        raise _fail(EXIT_BOOT if e.read_only else EXIT_STATE, str(e)) from None
    lock = DataDirLock(data_dir)
    try:
        lock.acquire()
    except AlreadyRunning as e:
        raise _fail(EXIT_BOOT, str(e)) from None
    except DataDirUnusable as e:
        raise _fail(EXIT_BOOT, str(e)) from None
    try:
        return lock, Store(store_path, verify=False)
    except StateCorrupt as e:
        lock.release()
        raise _fail(EXIT_STATE, str(e)) from None
    except DataDirUnusable as e:
        lock.release()
        raise _fail(EXIT_BOOT, str(e)) from None


def _check_for_status(data_dir: Path) -> None:
    """``status`` refuses what ``run`` refuses, with the same codes, reading only.

    A read-only data dir can still be shown; it is only said that ``run`` would refuse it.
    """
    from gridmaker.exchange.sim import SimFileError, check_state_file
    from gridmaker.store import DataDirUnusable, StateCorrupt, check_data_dir
    from gridmaker.store.files import check_dbos_file

    path = data_dir / "gridmaker.sqlite"
    try:
        check_data_dir(data_dir, writable=False)
        if not path.exists():
            raise _fail(EXIT_STATE, f"no gridmaker state in {data_dir} (looked for {path})")
        check_state_file(data_dir / "exchange.sqlite")
        dbos = data_dir / "dbos.sqlite"
        if dbos.exists() and dbos.stat().st_size:
            check_dbos_file(dbos)
    except DataDirUnusable as e:
        raise _fail(EXIT_BOOT, str(e)) from None
    except StateCorrupt as e:
        raise _fail(EXIT_STATE, str(e)) from None
    except SimFileError as e:
        raise _fail(EXIT_BOOT if e.read_only else EXIT_STATE, str(e)) from None
    try:
        check_data_dir(data_dir)
    except DataDirUnusable as e:
        err.print(
            f"[yellow]note:[/] `gridmaker run` would refuse this data dir: {e}",
            highlight=False,
            soft_wrap=True,
        )


def _with_chaos(config: Config, exchange: Exchange) -> Exchange:
    """The exchange as the bot sees it: behind a fault plan when the config asks for chaos."""
    if config.chaos is None:
        return exchange
    from gridmaker.exchange.faults import FaultKind, FaultPlan, FaultyExchange

    plan = FaultPlan(
        seed=config.chaos.seed,
        rate=config.chaos.rate,
        every=config.chaos.every,
        kinds=tuple(FaultKind(k) for k in config.chaos.kinds),
    )
    err.print(f"chaos: {plan.describe()}", highlight=False)
    return FaultyExchange(exchange, plan)


def _progress_printer(
    symbol: str, orchestrator: Any, feed_name: str, steps: int | None
) -> Callable[[Progress], None]:
    """Progress lines on stderr: the market's feed position against where this run stops.

    Positions count from the market's creation (``feed_position``), so a continued data dir
    reads ``20500/40000 (500 this run)``; the end is ``--steps`` past the start, capped by a
    feed file's length. The last line says why the run stopped when it was not the steps.
    """
    shown = {"position": -1}  # the last line's position: the end repeats no line

    def show(p: Progress) -> None:
        if p.ended and steps == 0:
            return  # boot only: the summary says it all
        if p.ended == "feed" and p.done == 0:
            err.print(
                f"{symbol}: the feed {feed_name} ended at trade {p.position}; nothing left to "
                "print: use a new --data-dir or a longer feed",
                highlight=False,
                soft_wrap=True,
            )
            return
        state = orchestrator.state(symbol)
        if state is not None and p.position != shown["position"]:
            shown["position"] = p.position
            inst = state.instrument
            total = "" if p.end is None else f"/{p.end}"
            this_run = f" ({p.done} this run)" if p.start else ""
            price = format(inst.from_ticks(state.last_price_ticks), "f")
            pnl = format(inst.from_atoms(state.realized_pnl_atoms), "f")
            err.print(
                f"{symbol} trades {p.position}{total}{this_run}  price {price}"
                f"  fills {state.fills} (buy {state.buy_fills} / sell {state.sell_fills})"
                f"  pnl {pnl} {inst.quote}",
                highlight=False,
                soft_wrap=True,
            )
        if p.ended == "feed":
            err.print(
                f"{symbol}: feed ended after {p.position} trades ({feed_name})",
                highlight=False,
                soft_wrap=True,
            )
        elif p.ended == "stop":
            err.print(
                f"{symbol}: stopped by a signal after {p.done} trades this run "
                f"(position {p.position})",
                highlight=False,
                soft_wrap=True,
            )

    return show


def _print_summaries(summaries: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        payload = summaries[0] if len(summaries) == 1 else {"markets": summaries}
        sys.stdout.write(json.dumps(payload, sort_keys=True) + "\n")
        return
    from gridmaker.engine.summary import cell

    out = Console()
    for summary in summaries:
        table = Table(title=f"gridmaker — {summary['symbol']}", show_header=False)
        for key, value in summary.items():
            table.add_row(key, cell(value))
        out.print(table)


@app.command()
def status(data_dir: DataDir = Path("gridmaker-data"), as_json: JsonFlag = False) -> None:
    """Print the stored book without trading (works while the bot runs)."""
    from gridmaker.engine.summary import summarize
    from gridmaker.store import DataDirUnusable, StateCorrupt, Store

    path = data_dir / "gridmaker.sqlite"
    _check_for_status(data_dir)
    try:
        store = Store(path, read_only=True)
        try:
            states = [s for sym in store.symbols() if (s := store.load_book(sym)) is not None]
            fill_rows = {s.symbol: store.fill_count(s.symbol) for s in states}
            boots = {s.symbol: store.last_boot(s.symbol) for s in states}
            halt = store.last_halt()
        finally:
            store.close()
    except StateCorrupt as e:
        raise _fail(EXIT_STATE, str(e)) from None
    except DataDirUnusable as e:
        raise _fail(EXIT_BOOT, str(e)) from None
    if not states:  # as with no store at all (3): there is no book to show
        raise _fail(
            EXIT_STATE,
            f"no book yet in {data_dir}: the bot has not traded a price "
            "(`gridmaker run` makes one at its first price)",
        )
    summaries = []
    for state in states:
        summary = summarize(state)
        summary["recorded_fills"] = fill_rows[state.symbol]
        boot = boots[state.symbol]
        if boot is not None:
            summary["last_boot"] = boot.at
            summary["boot_sync"] = boot.report
            summary["not_trading"] = boot.halted
        if halt is not None:
            summary["last_halt"] = f"{halt[1]}: {halt[0]}"
        summaries.append(summary)
    if as_json:
        _print_summaries(summaries, True)
        return
    _print_summaries(summaries, False)
    for state in states:
        Console().print(_orders_table(state))


def _orders_table(state: GridState) -> Table:
    from gridmaker.core.display import price_text, size_text

    inst = state.instrument
    table = Table(title=f"{state.symbol} slots with orders or inventory")
    for column in ("level", "phase", "held", "order", "side", "price", "size", "cycle", "cid"):
        table.add_column(column)
    for tick in sorted(state.slots, reverse=True):
        slot = state.slots[tick]
        if slot.is_idle:
            continue
        table.add_row(
            str(slot.level),
            slot.phase.value,
            size_text(inst, slot.position_steps),
            slot.order.value,
            slot.order_side.value if slot.order_side else "",
            price_text(inst, slot.order_price_ticks) if slot.order_cid else "",
            size_text(inst, slot.order_qty_steps) if slot.order_cid else "",
            str(slot.cycle),
            slot.order_cid,
        )
    return table


def _setup_logging() -> None:
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )


from gridmaker.cli_backtest import register as _register_backtest  # noqa: E402

_register_backtest(app)

from gridmaker.cli_venue import register as _register_venue  # noqa: E402

_register_venue(app)

from gridmaker.cli_breaker import register as _register_breaker  # noqa: E402

_register_breaker(app)

from gridmaker.cli_shadow import register as _register_shadow  # noqa: E402

_register_shadow(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
