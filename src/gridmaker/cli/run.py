"""``gridmaker run``: boot (sync and reconcile), then trade until told to stop.

One SIGINT or SIGTERM (Ctrl-C) ends any ``run`` — built-in exchange, a simulator it prints,
a live venue — cleanly, with exit code 0: trading stops at the next safe point (between two
events, never inside a decision or a send), the last fills are polled and saved, and the
summary is printed. A signal during the boot lets the boot finish, then stops. A second
signal quits at once (130), which is as safe as a crash: the next start syncs.

Everything the run opens (venue, data dir lock, store, exchange file, executor) is owned by
one exit stack from the moment it opens, and one ``except`` list maps what went wrong to the
exit code: a refusal closes what was open, in reverse order, like any other end.
"""

from __future__ import annotations

import asyncio
import math
import signal
import time
from contextlib import AsyncExitStack, ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final

import typer

from gridmaker.cli.common import (
    EXIT_BOOT,
    EXIT_CONFIG,
    EXIT_EXCHANGE,
    EXIT_INTERRUPTED,
    EXIT_STATE,
    CannotStart,
    ConfigPath,
    DataDir,
    JsonFlag,
    err,
    exchange_file,
    fail,
    load_config,
    make_feed,
    setup_logging,
    store_file,
)
from gridmaker.cli.operating import api_override, ops_settings
from gridmaker.cli.progress import progress_printer
from gridmaker.cli.store_choice import open_chosen_store, store_choice
from gridmaker.cli.summaries import print_summaries, run_summaries
from gridmaker.cli.venue import VenueChoice, venue_choice, venue_overrides

if TYPE_CHECKING:
    from gridmaker.cli.wiring import Session
    from gridmaker.config import Config
    from gridmaker.feeds import MarketFeed
    from gridmaker.ops.runtime import Operating, OpsSettings
    from gridmaker.store import Store

__all__ = ["run"]

ENGINES: Final = ("simple", "durable")
DEFAULT_STEPS: Final = 20_000
"""Trades a simulated market prints when neither --steps nor --duration is given."""


def run(
    config_path: ConfigPath = None,
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
    api: Annotated[
        str | None,
        typer.Option(
            "--api",
            metavar="[HOST:]PORT",
            help="serve the control API and /metrics (token: GRIDMAKER_API_TOKEN, api.token_file, "
            "or made into the data dir on loopback)",
        ),
    ] = None,
    view: Annotated[
        bool | None,
        typer.Option(
            "--view/--no-view",
            help="a live view of every market on the terminal (default: "
            "on for a live venue when stderr is a terminal)",
        ),
    ] = None,
    data_dir: DataDir = Path("gridmaker-data"),
    as_json: JsonFlag = False,
) -> None:
    """Run the grid: on the built-in simulated exchange (no keys needed) or a real venue.

    Boots (sync and reconcile), then trades until --steps, --duration, the feed's end, or
    one SIGINT/SIGTERM (Ctrl-C), which stops at the next safe point and prints the summary.
    """
    setup_logging()
    if engine is not None and engine not in ENGINES:
        raise fail(EXIT_CONFIG, f"--engine must be one of: {', '.join(ENGINES)}; was {engine!r}")
    if duration is not None and not math.isfinite(duration):
        raise fail(EXIT_CONFIG, f"--duration must be a finite number of seconds; was {duration}")
    feed: dict[str, Any] = {}
    if feed_path is not None:
        feed.update(kind="file", path=feed_path)
    if seed is not None:
        feed["seed"] = seed
    api_options = api_override(api)
    config = load_config(
        config_path,
        {
            **({"feed": feed} if feed else {}),
            **venue_overrides(exchange_id, base_url, sandbox),
            **({"api": api_options} if api_options else {}),
        },
    )
    remote = venue_choice(config)
    operating = ops_settings(
        config,
        data_dir,
        engine=engine or config.engine,
        venue=config.exchange,
        view=view,
        live=remote is not None and not remote.is_local_sim,
    )
    on_postgres = store_choice(config).is_postgres  # a bad URL: exit 2 before anything opens
    if steps == 0 and not on_postgres and not store_file(data_dir).exists():
        raise fail(
            EXIT_CONFIG,
            f"--steps 0 boots and reconciles a stored book only, and {data_dir} has none "
            f"(no {store_file(data_dir)}): give --steps N to trade, or the data dir "
            "of a bot that ran",
        )
    try:
        summaries = asyncio.run(
            _run_until_signalled(
                config,
                data_dir,
                steps,
                duration,
                remote=remote,
                engine=engine or config.engine,
                operating=operating,
            )
        )
    except KeyboardInterrupt:
        raise fail(
            EXIT_INTERRUPTED,
            "interrupted: stopped at once, without the summary (safe: the next start syncs "
            "with the venue)",
        ) from None
    print_summaries(summaries, as_json)


async def _run_until_signalled(
    config: Config,
    data_dir: Path,
    steps: int | None,
    duration: float | None,
    *,
    remote: VenueChoice | None,
    engine: str,
    operating: OpsSettings,
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
        return await _run(config, data_dir, steps, duration, remote, engine, stop, operating)
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)


async def _run(
    config: Config,
    data_dir: Path,
    steps: int | None,
    duration: float | None,
    remote: VenueChoice | None,
    engine: str,
    stop: asyncio.Event,
    operating: OpsSettings,
) -> list[dict[str, Any]]:
    """Open, boot and trade; what went wrong is mapped to its exit code here, in one place,
    while what was open is still open (a ban halts the books before they are closed)."""
    from gridmaker.config import ConfigError
    from gridmaker.engine.orchestrator import BootRefused
    from gridmaker.engine.venue_binding import VenueMismatch
    from gridmaker.exchange.api import Banned, ExchangeError
    from gridmaker.exchange.sim import SimFileError
    from gridmaker.feeds import FeedError
    from gridmaker.ops.runtime import Operating
    from gridmaker.ops.server import ApiUnavailable, check_address
    from gridmaker.store import StateCorrupt, StoreError

    session: Session | None = None
    ops = Operating(operating)
    async with AsyncExitStack() as stack:
        try:
            if operating.api is not None:
                check_address(operating.api.host, operating.api.port)
            opened = await _open(stack, config, data_dir, remote, engine, ops)
            session = opened.session
            summaries = await _trade(opened, config, data_dir, steps, duration, remote, stop, ops)
        except (ConfigError, FeedError, ApiUnavailable) as e:
            raise fail(EXIT_CONFIG, str(e)) from None
        except StateCorrupt as e:
            raise fail(EXIT_STATE, str(e)) from None
        except SimFileError as e:
            raise fail(EXIT_BOOT if e.read_only else EXIT_STATE, str(e)) from None
        except (BootRefused, StoreError, VenueMismatch) as e:
            raise fail(EXIT_BOOT, str(e)) from None
        except ValueError as e:  # a data dir bound to another feed
            raise fail(EXIT_BOOT, str(e)) from None
        except CannotStart as e:
            raise fail(EXIT_EXCHANGE, str(e)) from None
        except Banned as e:
            if session is not None:
                now_ms = int(time.time() * 1000)
                await session.orchestrator.halt_all(f"banned by the exchange: {e}", now_ms)
            raise fail(EXIT_EXCHANGE, f"trading stopped, banned by the exchange: {e}") from None
        except ExchangeError as e:
            raise fail(EXIT_EXCHANGE, f"trading stopped: {e}") from None
    return summaries


async def _trade(
    opened: _Opened,
    config: Config,
    data_dir: Path,
    steps: int | None,
    duration: float | None,
    remote: VenueChoice | None,
    stop: asyncio.Event,
    ops: Operating,
) -> list[dict[str, Any]]:
    """Boot (sync and reconcile), trade until the run ends, and summarize every market."""
    from gridmaker.cli.operating import keep_made_token
    from gridmaker.cli.venue import run_sessions

    session, market, feeds = opened.session, opened.market, opened.feeds
    for symbol, feed in feeds.items():
        if feed is not None:  # a data dir bound to another feed is refused before boot
            market.bind_feed(symbol, feed.key)
    orchestrator = session.orchestrator
    if ops.settings.api is not None:
        ops.settings = replace(ops.settings, api=keep_made_token(ops.settings.api))
    orchestrator.take_commands_at_rest()  # before the API can queue any
    await ops.start(orchestrator, opened.store, session.retrier, session.exchange)
    if ops.settings.api is not None:
        host = ops.settings.api.host
        shown = f"[{host}]" if ":" in host else host
        err.print(
            f"api: http://{shown}:{ops.api_port} (token from {ops.settings.api.token_source})",
            highlight=False,
            soft_wrap=True,
        )
    await orchestrator.boot()
    ops.started(f"{len(orchestrator.symbols)} market(s) on {ops.settings.venue}")
    for symbol in orchestrator.symbols:
        if reason := orchestrator.halted(symbol):
            err.print(f"[yellow]{symbol} not trading:[/] {reason}", highlight=False)
    if steps is None and duration is None and opened.prints_market:
        steps = DEFAULT_STEPS  # a live market runs until stopped
    feed_name = str(config.feed.path) if config.feed.kind == "file" else "the random walk"
    await run_sessions(
        remote,
        opened.prints_market,
        orchestrator,
        market,
        {
            symbol: (feed, progress_printer(symbol, orchestrator, feed_name, steps))
            for symbol, feed in feeds.items()
        },
        steps=steps,
        duration_s=duration,
        reconcile_every=config.reconcile_every,
        stop=stop,
    )
    await ops.close("operator stop" if orchestrator.stop.is_set() else "run ended")
    return run_summaries(orchestrator, market, data_dir, session.retrier.retries)


@dataclass(frozen=True, slots=True)
class _Opened:
    """A run's open resources (owned by its exit stack)."""

    session: Session
    market: Any
    """The venue itself, not the fault layer: the built-in one is told to print its market."""
    feeds: dict[str, MarketFeed | None]
    """Each market's feed; ``None`` on a venue whose market is real."""
    prints_market: bool
    store: Store


async def _open(
    stack: AsyncExitStack,
    config: Config,
    data_dir: Path,
    remote: VenueChoice | None,
    engine: str,
    ops: Operating,
) -> _Opened:
    """The wired session and what it trades on; each resource joins ``stack`` as it opens.

    The order is the promise of the exit codes: the venue and the config against its rules
    (2, 5), the feed file (2), the data dir read-only (2 to 5), the lock and the store (3, 4),
    the venue the data dir is bound to (4): all before anything is written or sent.
    """
    from gridmaker.cli.venue import open_run_venue, venue_identity
    from gridmaker.cli.wiring import fault_plan, sim_exchange_for, wire_session
    from gridmaker.config import book_setups
    from gridmaker.engine.venue_binding import VenueIdentity, bind_venue
    from gridmaker.exchange.api import SimulatedMarket
    from gridmaker.store import DataDirLock

    venue, instruments = await open_run_venue(remote, config)
    if venue is not None:
        stack.push_async_callback(venue.close)
    setups = book_setups(config, instruments)  # a real venue's rules arrive only now
    # a simulator waiting to be printed gets the feed from us; a real market moves itself
    prints_market = venue is None or isinstance(venue, SimulatedMarket)
    feeds = {
        setup.symbol: make_feed(config, inst) if prints_market else None
        for setup, inst in zip(setups, instruments, strict=True)
    }
    _check_data_dir(data_dir, engine)
    chosen = store_choice(config)
    with ExitStack() as until_wired:  # the session owns the store once wired
        # PostgreSQL is checked (or refused) before the data dir is touched; its file after
        early = open_chosen_store(chosen, data_dir) if chosen.is_postgres else None
        if early is not None:
            until_wired.callback(early.close)
            err.print(f"store: {chosen.shown} (grid {chosen.namespace})", highlight=False)
        lock = DataDirLock(data_dir)
        lock.acquire()
        stack.callback(lock.release)
        store = early or open_chosen_store(chosen, data_dir)
        if early is None:
            until_wired.callback(store.close)
        legacy_builtin = bool(store.symbols()) and exchange_file(data_dir).exists()
        bind_venue(
            store,
            venue_identity(remote, venue),
            str(data_dir),
            presumed=VenueIdentity(exchange="sim", endpoint="built-in") if legacy_builtin else None,
        )
        market: Any = venue
        if market is None:
            path = exchange_file(data_dir)
            market = sim_exchange_for(config, instruments, path=path, seed=config.feed.seed)
            stack.push_async_callback(market.close)
        faults = fault_plan(config.chaos)
        if faults is not None:
            err.print(f"chaos: {faults.describe()}", highlight=False)
        session = wire_session(
            engine=engine,
            data_dir=data_dir,
            store=store,
            exchange=market,
            setups=setups,
            seed=config.feed.seed,
            faults=faults,
            notices=ops.hub,
        )
        until_wired.pop_all()
    stack.push_async_callback(session.close)
    stack.push_async_callback(ops.close)  # before the store closes: the API reads it
    return _Opened(session, market, feeds, prints_market, store)


def _check_data_dir(data_dir: Path, engine: str) -> None:
    """Everything the run will open, checked reading only, so that a refusal leaves the data
    dir exactly as it was: the directory (``DataDirUnusable``), the system database
    (``ConfigError`` for a bad URL, ``CannotStart`` when it does not answer) and each state
    file (``StateCorrupt``, ``SimFileError``)."""
    from gridmaker.config import ConfigError
    from gridmaker.exchange.sim import check_state_file
    from gridmaker.store import check_data_dir, verify_store

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
            raise ConfigError(str(e)) from None
        except SystemDatabaseUnreachable as e:
            raise CannotStart(str(e)) from None
    verify_store(store_file(data_dir))
    check_state_file(exchange_file(data_dir))
