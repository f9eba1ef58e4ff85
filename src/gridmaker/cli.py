"""The ``gridmaker`` command. Wiring of concrete classes happens here and nowhere else.

Exit codes:

====  ==========================================================================
0     success
1     unexpected error (a bug: the message and traceback say where)
2     invalid config or arguments
3     stored state refused: checksum mismatch or unreadable file
4     boot refused: book, config and venue disagree; pre-flight failed; data dir in use
5     exchange error that stops trading (ban, malformed data at boot, ...)
6     ``shadow``: the simple and the durable engine diverged
====  ==========================================================================
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from gridmaker.cli_venue import VenueChoice
    from gridmaker.config import Config
    from gridmaker.core.strategy import GridState
    from gridmaker.core.units import Instrument
    from gridmaker.engine.executor import GridExecutor
    from gridmaker.exchange.api import Exchange
    from gridmaker.feeds import MarketFeed
    from gridmaker.store import DataDirLock, Store

__all__ = ["app", "main"]

EXIT_CONFIG = 2
EXIT_STATE = 3
EXIT_BOOT = 4
EXIT_EXCHANGE = 5
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
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
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
            return ReplayFeed(feed.path)
        except FeedError as e:
            raise _fail(EXIT_CONFIG, str(e)) from None
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
            help="trades to print (default 20000); on a live venue: prices to trade on "
            "(default: until stopped)",
        ),
    ] = None,
    duration: Annotated[
        float | None, typer.Option("--duration", min=0, help="stop after this many seconds")
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="random-walk seed")] = None,
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
    """Run a grid session on the simulated exchange (no keys needed)."""
    _setup_logging()
    if engine is not None and engine not in ENGINES:
        raise _fail(EXIT_CONFIG, f"--engine must be one of: {', '.join(ENGINES)}; was {engine!r}")
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
    summaries = asyncio.run(
        _run(
            config,
            data_dir,
            steps,
            duration,
            show_progress=True,
            remote=remote,
            engine=engine or config.engine,
        )
    )
    _print_summaries(summaries, as_json)


async def _run(
    config: Config,
    data_dir: Path,
    steps: int | None,
    duration: float | None,
    *,
    show_progress: bool,
    remote: VenueChoice | None = None,
    engine: str = "simple",
) -> list[dict[str, Any]]:
    from gridmaker.cli_venue import open_run_venue, run_sessions
    from gridmaker.config import book_setup_args
    from gridmaker.engine.orchestrator import BookSetup, BootRefused, GridOrchestrator
    from gridmaker.engine.retry import Retrier
    from gridmaker.engine.simple import SimpleExecutor
    from gridmaker.engine.summary import summarize
    from gridmaker.exchange.api import Banned, ExchangeError
    from gridmaker.exchange.sim import SimExchange
    from gridmaker.store import StateCorrupt, StoreError

    remote_venue, instruments = await open_run_venue(remote, config)
    setups = [
        BookSetup(**book_setup_args(m, inst))
        for m, inst in zip(config.markets, instruments, strict=True)
    ]
    lock, store = _open_bot_files(data_dir)
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
        await orchestrator.boot()
        for setup in setups:
            if reason := orchestrator.halted(setup.symbol):
                err.print(f"[yellow]{setup.symbol} not trading:[/] {reason}", highlight=False)
        from gridmaker.exchange.http_sim_client import HttpSimVenue

        prints_market = remote_venue is None or isinstance(remote_venue, HttpSimVenue)
        if steps is None and duration is None and prints_market:
            steps = DEFAULT_STEPS  # a live market runs until stopped
        await run_sessions(
            remote,
            prints_market,
            orchestrator,
            exchange,
            {
                setup.symbol: (
                    _make_feed(config, inst) if prints_market else None,
                    _progress_printer(setup.symbol, steps, orchestrator) if show_progress else None,
                )
                for setup, inst in zip(setups, instruments, strict=True)
            },
            steps=steps,
            duration_s=duration,
            reconcile_every=config.reconcile_every,
        )
        summaries = []
        for symbol in orchestrator.symbols:
            state = orchestrator.state(symbol)
            if state is not None:
                summary = summarize(state)
                summary["feed_position"] = (
                    exchange.feed_position(symbol) if hasattr(exchange, "feed_position") else None
                )
                summary["data_dir"] = str(data_dir)
                summary["boot_sync"] = orchestrator.report(symbol).counts()
                summary["retries"] = retrier.retries
                summaries.append(summary)
        return summaries
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


def _open_bot_files(data_dir: Path) -> tuple[DataDirLock, Store]:
    """This process's hold on the data dir, and the bot's store (verified schema)."""
    from gridmaker.store import AlreadyRunning, DataDirLock, StateCorrupt, Store

    lock = DataDirLock(data_dir)
    try:
        lock.acquire()
    except AlreadyRunning as e:
        raise _fail(EXIT_BOOT, str(e)) from None
    try:
        return lock, Store(data_dir / "gridmaker.sqlite")
    except StateCorrupt as e:
        lock.release()
        raise _fail(EXIT_STATE, str(e)) from None


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


def _progress_printer(symbol: str, steps: int | None, orchestrator: Any) -> Any:
    def show(done: int) -> None:
        state = orchestrator.state(symbol)
        if state is None:
            return
        inst = state.instrument
        total = f"/{steps}" if steps else ""
        err.print(
            f"{symbol} trades {done}{total}  price {inst.from_ticks(state.last_price_ticks)}"
            f"  fills {state.fills} (buy {state.buy_fills} / sell {state.sell_fills})"
            f"  pnl {inst.from_atoms(state.realized_pnl_atoms)} {inst.quote}",
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
    from gridmaker.store import StateCorrupt, Store

    path = data_dir / "gridmaker.sqlite"
    if not path.exists():
        raise _fail(EXIT_STATE, f"no gridmaker state in {data_dir} (looked for {path})")
    try:
        store = Store(path)
        try:
            states = [s for sym in store.symbols() if (s := store.load_book(sym)) is not None]
            fill_rows = {s.symbol: store.fill_count(s.symbol) for s in states}
            boots = {s.symbol: store.last_boot(s.symbol) for s in states}
            halt = store.last_halt()
        finally:
            store.close()
    except StateCorrupt as e:
        raise _fail(EXIT_STATE, str(e)) from None
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
