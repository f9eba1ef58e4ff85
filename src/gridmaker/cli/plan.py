"""``gridmaker plan``: what a new config would do, shown before anything changes.

For a market with a stored book it is the change ``reconfigure`` would apply, computed by the
core itself (``core.change_preview``) from the same event the loop builds
(``engine.changes.reconfigure_event``); for a market without one, the new grid's start. The
data dir is only read (as ``status`` reads it: safe while the bot runs, no lock taken).

Exit codes: 0 every change or start is allowed; 2 invalid config or arguments, or a change or
start that would be refused (its problems named); 3 stored state refused or unreadable.
"""

from __future__ import annotations

import time
from contextlib import closing
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from gridmaker.cli.common import (
    EXIT_CONFIG,
    EXIT_STATE,
    DataDir,
    JsonFlag,
    err,
    fail,
    load_config,
    make_feed,
    store_file,
)
from gridmaker.cli.plan_show import MarketPlan, show_plans

if TYPE_CHECKING:
    from gridmaker.config import Config, MarketConfig
    from gridmaker.core.setup import BookSetup
    from gridmaker.core.state import GridState
    from gridmaker.core.units import Instrument

__all__ = ["plan"]


def plan(
    config_path: Annotated[
        Path, typer.Option("--config", help="the NEW config: what the grid(s) should become")
    ],
    data_dir: DataDir = Path("gridmaker-data"),
    as_json: JsonFlag = False,
    history: Annotated[
        Path | None,
        typer.Option(
            "--history",
            help="also backtest the stored (old) and the new grid side by side over this file "
            "(any file `backtest --feed` takes) for the config's first market",
        ),
    ] = None,
    price: Annotated[
        str | None,
        typer.Option(
            "--price",
            help="a market with no stored book: its first price (default: the simulator's "
            "feed start_price, or a feed file's first trade)",
        ),
    ] = None,
    allow_loss: Annotated[
        bool,
        typer.Option(
            "--allow-loss", help="plan as `reconfigure --allow-loss`: inventory may sell below cost"
        ),
    ] = False,
) -> None:
    """Preview a config change: levels, orders kept/cancelled/placed, capital, inventory.

    Nothing is changed and the data dir is only read. Exit 0 when every change is allowed,
    2 when one would be refused (the problems are named) or the config or arguments are
    invalid, 3 when the stored state cannot be read.
    """
    from gridmaker.cli.store_choice import refuse_postgres

    config = load_config(config_path)
    refuse_postgres(config)
    books = _stored_books(data_dir)
    symbols = {m.symbol for m in config.markets}
    if price is not None and all(m.symbol in books for m in config.markets):
        raise fail(
            EXIT_CONFIG,
            f"--price sets the first price of a grid with no stored book; every market of "
            f"{config_path} has one in {data_dir} (its last price is used); was --price {price}",
        )
    now_ms = int(time.time() * 1000)
    plans: list[MarketPlan] = []
    for market in config.markets:
        state = books.get(market.symbol)
        if state is not None:
            plans.append(_change(market, state, allow_loss, now_ms))
        else:
            plans.append(_new_grid(config, market, price, config_path))
    for symbol in sorted(books.keys() - symbols):
        err.print(
            f"note: {data_dir} also holds a book for {symbol}, which {config_path} does not "
            "list (plan leaves it out; a reconfiguration does not remove a market)",
            highlight=False,
            soft_wrap=True,
        )
    compared = None
    if history is not None:
        from gridmaker.cli.plan_history import compare

        first = config.markets[0]
        compared = compare(config, first, books.get(first.symbol), history)
    show_plans(plans, compared, as_json)
    if any(p.problems for p in plans):
        raise typer.Exit(EXIT_CONFIG)


def _stored_books(data_dir: Path) -> dict[str, GridState]:
    """Every stored book in ``data_dir``, read only; none when it has no store yet."""
    from gridmaker.store import SCHEMA_VERSION, DataDirUnusable, StateCorrupt, Store
    from gridmaker.store.schema import verify_store

    path = store_file(data_dir)
    if data_dir.exists() and not data_dir.is_dir():
        raise fail(EXIT_CONFIG, f"--data-dir must be a folder; was {data_dir}, a file")
    if not path.exists():
        return {}
    try:
        version = verify_store(path)
        if version == 0:
            return {}
        if version < SCHEMA_VERSION:
            raise fail(
                EXIT_STATE,
                f"{path} is at schema version {version}; plan only reads and does not upgrade "
                f"it to {SCHEMA_VERSION} (`gridmaker run` or `status` does)",
            )
        with closing(Store(path, read_only=True, verify=False)) as store:
            books = {s: b for s in store.symbols() if (b := store.load_book(s)) is not None}
            queued = [c for c in store.pending_commands() if c.command == "reconfigure"]
    except (StateCorrupt, DataDirUnusable) as e:
        raise fail(EXIT_STATE, str(e)) from None
    for command in queued:
        err.print(
            f"note: a reconfigure of {command.symbol} (command {command.id}) is queued and not "
            "applied yet; this plan starts from the book as stored",
            highlight=False,
            soft_wrap=True,
        )
    return books


def _change(market: MarketConfig, state: GridState, allow_loss: bool, now_ms: int) -> MarketPlan:
    """The stored book moved onto ``market``: the event the loop would build, previewed."""
    from gridmaker.config import ConfigError, book_setup
    from gridmaker.core.change_preview import ChangePreview, preview_change
    from gridmaker.engine.changes import CommandRefused, reconfigure_event

    try:
        setup = book_setup(market, state.instrument)
    except ConfigError as e:
        raise fail(EXIT_CONFIG, str(e)) from None
    try:
        change = reconfigure_event(state, setup, allow_loss, now_ms)
    except CommandRefused as e:
        problems = _problems(state, setup, allow_loss) or [str(e).removeprefix(f"{state.symbol}: ")]
        refused = ChangePreview(symbol=state.symbol, problems=tuple(problems))
        return MarketPlan(instrument=state.instrument, change=refused, before=state)
    preview = preview_change(state, change)
    return MarketPlan(instrument=state.instrument, change=preview, before=state)


def _problems(state: GridState, setup: BookSetup, allow_loss: bool) -> list[str]:
    """Each reason the core refuses the change, one by one (the refusal joins them)."""
    from gridmaker.core.errors import CoreError
    from gridmaker.core.events import Reconfigure
    from gridmaker.core.reshape import reshape_problems

    try:
        grid = setup.template.build(state.grid.anchor_ticks)
    except CoreError:
        return []
    change = Reconfigure(
        symbol=state.symbol,
        grid=grid,
        params=setup.params,
        risk_params=setup.risk,
        allow_loss=allow_loss,
        ts_event=0,
    )
    return reshape_problems(state, change)


def _new_grid(
    config: Config, market: MarketConfig, price: str | None, config_path: Path
) -> MarketPlan:
    """``market`` started from scratch at ``--price`` (or the simulator's first price)."""
    from gridmaker.config import ConfigError, backtest_setup, book_setup
    from gridmaker.core.change_preview import preview_new_grid

    try:
        inst = config.sim.instrument(market.symbol)
        setup = book_setup(market, inst)
        account = backtest_setup(config, market.symbol)
    except ConfigError as e:
        raise fail(
            EXIT_CONFIG,
            f"{market.symbol} has no stored book, so plan previews a new grid with the rules "
            f"and balances of the built-in exchange (sim:); {e}",
        ) from None
    ticks, source = _first_price(config, inst, price, config_path)
    preview = preview_new_grid(
        setup, inst, ticks, account.book_base_steps, account.book_quote_atoms
    )
    return MarketPlan(instrument=inst, new=preview, price_source=source)


def _first_price(
    config: Config, inst: Instrument, price: str | None, config_path: Path
) -> tuple[int, str]:
    """The new grid's first price in ticks, and where it came from (said in the output)."""
    from gridmaker.core.errors import OffTick

    if price is not None:
        try:
            value = Decimal(price.strip())
        except InvalidOperation:
            value = Decimal("NaN")
        if not value.is_finite() or value <= 0:
            raise fail(EXIT_CONFIG, f"--price must be a price > 0 like '50000'; was {price!r}")
        try:
            return inst.to_ticks(value), "--price"
        except OffTick:
            raise fail(
                EXIT_CONFIG,
                f"--price must be a multiple of {inst.symbol}'s tick size {inst.tick_size}; "
                f"was {price}",
            ) from None
    if config.exchange != "sim":
        raise fail(
            EXIT_CONFIG,
            f"--price is needed: {config_path} trades on {config.exchange}, whose price plan "
            "does not ask for (it changes nothing and talks to no venue)",
        )
    if config.feed.kind != "file":
        return inst.buy_price_ticks(config.feed.start_price), "the config's feed.start_price"
    from gridmaker.feeds import FeedError

    try:
        trade = next(iter(make_feed(config, inst).trades(0)), None)
    except FeedError as e:
        raise fail(EXIT_CONFIG, str(e)) from None
    if trade is None:
        raise fail(EXIT_CONFIG, f"--price is needed: the feed file {config.feed.path} is empty")
    return inst.buy_price_ticks(trade.price), f"the first trade of {config.feed.path}"
