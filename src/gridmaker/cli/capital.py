"""``gridmaker capital --add AMOUNT | --withdraw AMOUNT``: change a running grid's budget.

The amount is quote currency, converted with the stored book's own instrument. A withdrawal is
checked against the stored book first (``core.reshape.capital_problems``: no more than the
quote no working buy holds), so a refused one queues nothing. Then one ``capital`` command is
queued; the one loop applies it, and order sizes follow at each level's next buy cycle with
nothing cancelled for it. A running bot applies it at its next turn (this command waits
``--wait`` seconds for its answer); a stopped one right after its next start.
"""

from __future__ import annotations

import json
import sys
import time
from contextlib import closing
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from gridmaker.cli.common import (
    EXIT_BOOT,
    EXIT_CONFIG,
    EXIT_STATE,
    ConfigPath,
    DataDir,
    JsonFlag,
    fail,
    load_config,
    store_file,
)

if TYPE_CHECKING:
    from gridmaker.core.state import GridState
    from gridmaker.store import Store

__all__ = ["capital"]


def capital(
    add: Annotated[str | None, typer.Option("--add", help="quote to add, e.g. 500")] = None,
    withdraw: Annotated[
        str | None, typer.Option("--withdraw", help="quote to take out, e.g. 500")
    ] = None,
    config: ConfigPath = None,
    data_dir: DataDir = Path("gridmaker-data"),
    symbol: Annotated[
        str | None, typer.Option("--symbol", help="the market; default: the config's first")
    ] = None,
    wait: Annotated[
        float,
        typer.Option("--wait", min=0, max=3600, help="seconds to wait for a running bot"),
    ] = 30.0,
    as_json: JsonFlag = False,
) -> None:
    """Add or withdraw quote on a grid: order sizes follow, nothing is cancelled for it."""
    from gridmaker.cli.store_choice import refuse_postgres
    from gridmaker.store import DataDirUnusable, StateCorrupt, Store

    option, text = _one_amount(add, withdraw)
    amount = _amount(option, text)
    loaded = load_config(config)
    refuse_postgres(loaded)
    markets = [m.symbol for m in loaded.markets]
    name = symbol or markets[0]
    if name not in markets:
        raise fail(
            EXIT_CONFIG,
            f"--symbol must be one of the config's markets: {', '.join(markets)}; was {name!r}",
        )
    path = store_file(data_dir)
    if not path.is_file():
        raise fail(
            EXIT_STATE,
            f"no gridmaker state in {data_dir} (looked for {path}): no grid runs there whose "
            "capital could change",
        )
    try:
        with closing(Store(path, read_only=True)) as store:
            state = _book(store, data_dir, name)
        delta = _delta(state, option, amount)
        command_id, result, outcome, note = _queue(data_dir, name, delta, wait)
    except StateCorrupt as e:
        raise fail(EXIT_STATE, str(e)) from None
    except DataDirUnusable as e:
        raise fail(EXIT_BOOT, str(e)) from None
    if as_json:
        body = {
            "symbol": name,
            "delta": _money(state, delta),
            "command_id": command_id,
            "result": result,
            "note": note,
        }
        sys.stdout.write(json.dumps(body, sort_keys=True) + "\n")
    else:
        typer.echo(note)
    if result == "refused":
        raise fail(EXIT_CONFIG, f"the running bot refused {name}'s capital change: {outcome}")


def _one_amount(add: str | None, withdraw: str | None) -> tuple[str, str]:
    if (add is None) == (withdraw is None):
        given = "both" if add is not None else "neither"
        raise fail(EXIT_CONFIG, f"give one of --add AMOUNT or --withdraw AMOUNT; was {given}")
    return ("--add", add) if add is not None else ("--withdraw", withdraw or "")


def _amount(option: str, text: str) -> Decimal:
    refusal = f"{option} must be a quote amount > 0 like '500'; was {text!r}"
    try:
        amount = Decimal(text.strip())
    except InvalidOperation:
        raise fail(EXIT_CONFIG, refusal) from None
    if not amount.is_finite() or not amount > 0:
        raise fail(EXIT_CONFIG, refusal)
    return amount


def _book(store: Store, data_dir: Path, symbol: str) -> GridState:
    state = store.load_book(symbol)
    if state is None:
        books = store.symbols()
        has = f"the books it has: {', '.join(books)}" if books else "it has no book yet"
        raise fail(
            EXIT_CONFIG,
            f"--symbol {symbol}: {data_dir} has no book of it (the bot has not traded its "
            f"price yet); {has}",
        )
    return state


def _delta(state: GridState, option: str, amount: Decimal) -> int:
    """The change in the book's atoms; exit 2 when off its atom or refused by the core."""
    from gridmaker.core.display import plain
    from gridmaker.core.errors import CoreError
    from gridmaker.core.events import CapitalChange
    from gridmaker.core.planning import free_funds
    from gridmaker.core.reshape import capital_problems
    from gridmaker.core.units import MAX_STORED

    inst = state.instrument
    try:
        atoms: int = inst.to_atoms(amount)
    except CoreError:
        atoms = -1
    if atoms < 1:
        raise fail(
            EXIT_CONFIG,
            f"{option} must be a multiple of {plain(inst.atom)} {inst.quote} (the smallest "
            f"amount {state.symbol} counts); was {plain(amount)}",
        )
    if atoms + max(0, state.quote_atoms) > MAX_STORED:
        raise fail(
            EXIT_CONFIG,
            f"{option} {plain(amount)} {inst.quote} is more than {state.symbol}'s book can count "
            f"(its quote must stay at or below {plain(inst.from_atoms(MAX_STORED))}); "
            f"was {plain(amount)}",
        )
    delta = atoms if option == "--add" else -atoms
    change = CapitalChange(
        symbol=state.symbol, delta_atoms=delta, reason="", ts_event=int(time.time() * 1000)
    )
    if problems := capital_problems(state, change):
        free = max(0, free_funds(state, state.slots).quote)
        if -delta > free:  # the core's words in atoms; a person reads the quote
            problems = [
                f"only {_money(state, free)} {inst.quote} are free (the rest is held by "
                "working buys)"
            ]
        raise fail(
            EXIT_CONFIG,
            f"{option} {plain(amount)} {inst.quote} refused for {state.symbol}, nothing queued: "
            + "; ".join(problems),
        )
    return delta


def _money(state: GridState, atoms: int) -> str:
    from gridmaker.core.display import money_text

    return money_text(state.instrument, atoms)


def _queue(data_dir: Path, symbol: str, delta: int, wait: float) -> tuple[int, str, str, str]:
    """Queue the change; with a running bot, wait for its answer. (id, result, outcome, note)"""
    from gridmaker.engine.changes import capital_payload
    from gridmaker.store import DataDirLock, Store

    running = DataDirLock(data_dir).is_held_elsewhere()
    verb = "add" if delta > 0 else "withdraw"
    with closing(Store(store_file(data_dir))) as store:
        command_id = store.add_command(
            symbol, "capital", f"{verb} capital from the command line", capital_payload(delta)
        )
        if not running:
            return (
                command_id,
                "queued",
                "",
                "queued: no bot runs on this data dir; its next start applies it right after "
                "the boot",
            )
        outcome = _wait_applied(store, command_id, wait) if wait > 0 else None
    if outcome is None:
        return command_id, "queued", "", "queued: the running bot applies it at its next turn"
    if outcome:
        return command_id, "refused", outcome, f"refused by the running bot: {outcome}"
    return (
        command_id,
        "applied",
        "",
        "applied by the running bot: order sizes follow at each level's next buy",
    )


def _wait_applied(store: Store, command_id: int, wait_s: float) -> str | None:
    """The command's outcome once applied ("" = applied, else why refused); None on timeout."""
    deadline = time.monotonic() + wait_s
    delay = 0.05
    while True:
        record = store.command(command_id)
        if record is not None and record.applied_at:
            return record.outcome
        if time.monotonic() >= deadline:
            return None
        time.sleep(delay)
        delay = min(delay * 2, 0.5)
