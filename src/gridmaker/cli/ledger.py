"""``gridmaker ledger``: each grid's profit from its fills; ``--rebuild`` from the venue's.

The running ledger is ``core.ledger.build_ledger`` over the store's fill journal; the rebuild is
the same function over the venue's own trade history for the symbol, read from its start
through the venue the config names (the built-in exchange, ``sim-exchange`` over HTTP, ccxt).
Both only read: the data dir is opened as ``status`` opens it and nothing is written, so it is
safe while the bot runs. ``--rebuild`` exits 6 when the two differ, naming the trade ids.
"""

from __future__ import annotations

import asyncio
import json
import sys
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gridmaker.cli.common import (
    EXIT_BOOT,
    EXIT_CONFIG,
    EXIT_DIVERGED,
    EXIT_STATE,
    ConfigPath,
    DataDir,
    JsonFlag,
    fail,
    load_config,
    store_file,
)

if TYPE_CHECKING:
    from gridmaker.core.events import Fill
    from gridmaker.core.ledger import Ledger
    from gridmaker.core.state import GridState
    from gridmaker.store import Store

__all__ = ["ledger"]

_PAGE = 1000

Rebuild = Annotated[
    bool, typer.Option("--rebuild", help="rebuild from the venue's trade history and compare")
]
SymbolOption = Annotated[
    str | None, typer.Option("--symbol", help="one market of the data dir (default: every one)")
]


def ledger(
    config_path: ConfigPath = None,
    data_dir: DataDir = Path("gridmaker-data"),
    rebuild: Rebuild = False,
    symbol: SymbolOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Print each grid's profit ledger from its fills (--rebuild: from the venue's, compared)."""
    from gridmaker.cli.ledger_view import comparison_json, ledger_json, print_ledger
    from gridmaker.cli.store_choice import refuse_postgres

    config = load_config(config_path)
    refuse_postgres(config)
    books, journals = _read_store(data_dir, symbol)
    running = {s: _build(books[s], journals[s]) for s in books}
    payloads: list[dict[str, Any]] = []
    if not rebuild:
        for s, book in books.items():
            payloads.append(ledger_json(running[s], book))
            if not as_json:
                print_ledger(running[s], book, "ledger")
        _print_json(payloads, as_json)
        return
    from gridmaker.cli.ledger_venue import read_venue_fills
    from gridmaker.cli.ledger_view import compare, print_comparison

    venue_fills = asyncio.run(read_venue_fills(config, data_dir, books))
    comparisons = [
        compare(running[s], _build(books[s], venue_fills[s]), journals[s], venue_fills[s])
        for s in books
    ]
    for comparison in comparisons:
        book = books[comparison.running.symbol]
        payloads.append(comparison_json(comparison, book))
        if not as_json:
            print_comparison(comparison, book)
    _print_json(payloads, as_json)
    if not all(c.equal for c in comparisons):
        raise fail(
            EXIT_DIVERGED,
            "the ledger rebuilt from the venue's fills differs from the running ledger "
            "(the trade ids are listed above)",
        )


def _build(book: GridState, fills: list[Fill]) -> Ledger:
    from gridmaker.core.ledger import build_ledger

    return build_ledger(
        fills,
        strategy_id=book.params.strategy_id,
        instrument=book.instrument,
        start_price_ticks=book.start_price_ticks,
        last_price_ticks=book.last_price_ticks,
    )


def _print_json(payloads: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        payload = payloads[0] if len(payloads) == 1 else {"markets": payloads}
        sys.stdout.write(json.dumps(payload, sort_keys=True) + "\n")


def _read_store(
    data_dir: Path, symbol: str | None
) -> tuple[dict[str, GridState], dict[str, list[Fill]]]:
    """The books (all, or ``symbol``'s) and their fill journals, reading only."""
    from gridmaker.cli.store_choice import open_sqlite_read_only
    from gridmaker.store import DataDirUnusable, StateCorrupt, check_data_dir

    path = store_file(data_dir)
    try:
        check_data_dir(data_dir, writable=False)
        if not path.exists():
            raise fail(EXIT_STATE, f"no gridmaker state in {data_dir} (looked for {path})")
        with closing(open_sqlite_read_only(path, "ledger")) as store:
            symbols = store.symbols()
            if symbol is not None and symbol not in symbols:
                known = ", ".join(symbols) or "none yet"
                raise fail(
                    EXIT_CONFIG,
                    f"--symbol must be a market of {data_dir} ({known}); was {symbol}",
                )
            chosen = [symbol] if symbol is not None else symbols
            books = {s: b for s in chosen if (b := store.load_book(s)) is not None}
            journals = {s: _journal(store, s) for s in books}
    except DataDirUnusable as e:
        raise fail(EXIT_BOOT, str(e)) from None
    except StateCorrupt as e:
        raise fail(EXIT_STATE, str(e)) from None
    if not books:
        raise fail(
            EXIT_STATE,
            f"no book yet in {data_dir}: the bot has not traded a price "
            "(`gridmaker run` makes one at its first price)",
        )
    return books, journals


def _journal(store: Store, symbol: str) -> list[Fill]:
    """Every fill the store applied for ``symbol`` (newest first; the ledger orders them)."""
    from gridmaker.core.events import Fill, Side
    from gridmaker.core.units import Atoms, Steps, Ticks

    fills: list[Fill] = []
    before: int | None = None
    while page := store.fills_page(symbol, before, _PAGE):
        fills.extend(
            Fill(
                symbol=symbol,
                trade_id=row.trade_id,
                client_order_id=row.client_order_id,
                side=Side(row.side),
                price_ticks=Ticks(row.price_ticks),
                qty_steps=Steps(row.qty_steps),
                fee_atoms=Atoms(row.fee_atoms),
                ts_event=row.ts_event,
            )
            for row in page
        )
        before = page[-1].seq
    return fills
