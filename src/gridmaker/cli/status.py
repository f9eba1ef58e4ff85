"""``gridmaker status``: the stored book, read without trading (safe while the bot runs).

It refuses what ``run`` refuses, with the same codes, reading only: a data dir with no store,
or a store with no book yet, is exit 3 and says which.
"""

from __future__ import annotations

from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from gridmaker.cli.common import (
    EXIT_BOOT,
    EXIT_EXCHANGE,
    EXIT_STATE,
    CannotStart,
    ConfigPath,
    DataDir,
    JsonFlag,
    err,
    exchange_file,
    fail,
    load_config,
    store_file,
)
from gridmaker.cli.store_choice import open_chosen_store, store_choice
from gridmaker.cli.summaries import print_summaries

if TYPE_CHECKING:
    from gridmaker.core.state import GridState
    from gridmaker.store import Store

__all__ = ["status"]


def status(
    data_dir: DataDir = Path("gridmaker-data"),
    as_json: JsonFlag = False,
    config_path: ConfigPath = None,
) -> None:
    """Print the stored book without trading (works while the bot runs).

    The store is the data dir's file unless GRIDMAKER_STORE_URL or the config's ``store:``
    names a PostgreSQL one.
    """
    from gridmaker.exchange.sim import SimFileError
    from gridmaker.store import DataDirUnusable, StateCorrupt

    chosen = store_choice(load_config(config_path) if config_path else None)
    try:
        if not chosen.is_postgres:
            _check(data_dir)
        with closing(open_chosen_store(chosen, data_dir, read_only=True)) as store:
            states, summaries = _read(store)
    except DataDirUnusable as e:
        raise fail(EXIT_BOOT, str(e)) from None
    except StateCorrupt as e:
        raise fail(EXIT_STATE, str(e)) from None
    except CannotStart as e:  # a PostgreSQL store that does not answer
        raise fail(EXIT_EXCHANGE, str(e)) from None
    except SimFileError as e:
        raise fail(EXIT_BOOT if e.read_only else EXIT_STATE, str(e)) from None
    if not states:  # as with no store at all (3): there is no book to show
        raise fail(
            EXIT_STATE,
            f"no book yet in {chosen.shown if chosen.is_postgres else data_dir}: the bot has "
            "not traded a price "
            "(`gridmaker run` makes one at its first price)",
        )
    print_summaries(summaries, as_json)
    if not as_json:
        for state in states:
            Console().print(_orders_table(state))


def _check(data_dir: Path) -> None:
    """The data dir and every state file in it, as ``run`` checks them, reading only.

    A read-only data dir can still be shown; it is only said that ``run`` would refuse it.
    """
    from gridmaker.exchange.sim import check_state_file
    from gridmaker.store import DataDirUnusable, check_data_dir
    from gridmaker.store.files import check_dbos_file

    path = store_file(data_dir)
    check_data_dir(data_dir, writable=False)
    if not path.exists():
        raise fail(EXIT_STATE, f"no gridmaker state in {data_dir} (looked for {path})")
    check_state_file(exchange_file(data_dir))
    dbos = data_dir / "dbos.sqlite"
    if dbos.exists() and dbos.stat().st_size:
        check_dbos_file(dbos)
    try:
        check_data_dir(data_dir)
    except DataDirUnusable as e:
        err.print(
            f"[yellow]note:[/] `gridmaker run` would refuse this data dir: {e}",
            highlight=False,
            soft_wrap=True,
        )


def _read(store: Store) -> tuple[list[GridState], list[dict[str, Any]]]:
    """Every stored book, and its summary with what the store recorded beside it."""
    from gridmaker.engine.summary import book_summary

    states = [s for sym in store.symbols() if (s := store.load_book(sym)) is not None]
    return states, [book_summary(state, store) for state in states]


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
