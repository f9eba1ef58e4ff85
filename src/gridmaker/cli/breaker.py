"""``gridmaker breaker status|trip|reset``: the circuit breaker, with the bot running or not.

A running bot holds its data dir's lock; then a command is queued in the store and the bot
applies it within its next few trades (this command waits for that). With no bot running the
command is applied to the stored books directly, and the next start's reconciliation cancels
what a trip forbids before anything new is sent.

A command for a symbol the data dir has no book of is refused (exit 2, listing the symbols it
has), as is any command on a data dir without a book: in an emergency "applied" must mean that
a breaker changed.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from gridmaker.store import Store

from gridmaker.cli.common import (
    EXIT_BOOT,
    EXIT_CONFIG,
    EXIT_STATE,
    fail,
    store_file,
)

__all__ = ["breaker"]


class Verb(StrEnum):
    STATUS = "status"
    TRIP = "trip"
    RESET = "reset"


def _when(ts_ms: int) -> str:
    return datetime.fromtimestamp(ts_ms / 1000, UTC).isoformat(timespec="seconds") if ts_ms else ""


def _books(data_dir: Path) -> list[str]:
    """The symbols the data dir holds a book of."""
    from gridmaker.store import Store

    store = Store(store_file(data_dir))
    try:
        return store.symbols()
    finally:
        store.close()


def _check_symbol(data_dir: Path, symbol: str, verb: Verb) -> None:
    """Refuse (exit 2) a symbol without a book here, and a data dir without any book."""
    books = _books(data_dir)
    if not books and verb is Verb.STATUS:
        return  # nothing to show: said by the empty listing
    if not books:
        raise fail(
            EXIT_CONFIG,
            f"breaker {verb.value}: {data_dir} has no book yet (the bot has not traded a price "
            "there), so there is no breaker to change",
        )
    if symbol != "*" and symbol not in books:
        raise fail(
            EXIT_CONFIG,
            f"--symbol must be one of the symbols with a book in {data_dir}: "
            f"{', '.join(books)}; was {symbol!r}",
        )


def _describe(data_dir: Path, symbol: str = "*") -> list[dict[str, Any]]:
    from gridmaker.store import Store

    store = Store(store_file(data_dir))
    try:
        rows = []
        pending = store.pending_commands()
        for name in store.symbols():
            state = store.load_book(name)
            if state is None or symbol not in ("*", name):
                continue
            risk = state.risk
            rows.append(
                {
                    "symbol": name,
                    "breaker": risk.breaker.value,
                    "trigger": risk.trigger,
                    "reason": risk.reason,
                    "tripped_at": _when(risk.tripped_at),
                    "cleared_by": risk.cleared_by,
                    "cleared_at": _when(risk.cleared_at),
                    "trips": risk.trips,
                    "pending": [
                        f"{c.command}: {c.reason}" for c in pending if c.symbol in ("*", name)
                    ],
                }
            )
        return rows
    finally:
        store.close()


def _targets(store: Store, symbol: str) -> list[str]:
    """The books a command is for. "All" means every book the data dir has now, one command
    each, so each is spent exactly with the book that carries it (never twice, never lost
    because another book could not take it)."""
    return store.symbols() if symbol == "*" else [symbol]


def _apply_at_rest(data_dir: Path, symbol: str, verb: Verb, reason: str) -> None:
    from gridmaker.core.decide import apply_breaker_command
    from gridmaker.core.events import BreakerCommand, BreakerOrder
    from gridmaker.store import Store

    store = Store(store_file(data_dir))
    try:
        now_ms = int(time.time() * 1000)
        for name in _targets(store, symbol):
            state = store.load_book(name)
            if state is None:
                continue
            command = BreakerCommand(verb.value)
            order = BreakerOrder(
                symbol=name,
                command=command,
                reason=reason,
                ts_event=now_ms,
                command_id=store.add_command(name, verb.value, reason),
            )
            changed = apply_breaker_command(state, command, reason, now_ms)
            store.commit(changed, causes=(order,))  # the command is spent with its book
    finally:
        store.close()


def _queue_for_running_bot(
    data_dir: Path, symbol: str, verb: Verb, reason: str, wait_s: float
) -> bool:
    from gridmaker.store import Store

    store = Store(store_file(data_dir))
    try:
        ids = [store.add_command(name, verb.value, reason) for name in _targets(store, symbol)]
        deadline = time.monotonic() + wait_s
        delay = 0.05
        while time.monotonic() < deadline:
            if all(store.is_command_applied(i) for i in ids):
                return True
            time.sleep(delay)
            delay = min(delay * 2, 0.5)
        return False
    finally:
        store.close()


def breaker(
    verb: Annotated[Verb, typer.Argument(help="status, trip or reset")],
    data_dir: Annotated[Path, typer.Option("--data-dir")] = Path("gridmaker-data"),
    reason: Annotated[str, typer.Option("--reason", help="recorded with the change")] = "",
    symbol: Annotated[str, typer.Option("--symbol", help="one symbol; default all")] = "*",
    wait: Annotated[
        float, typer.Option("--wait", min=0, help="seconds to wait for a running bot")
    ] = 30.0,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show, trip or reset the circuit breaker (with the bot running or stopped)."""
    from gridmaker.cli.store_choice import refuse_postgres
    from gridmaker.store import DataDirUnusable, StateCorrupt

    refuse_postgres()
    path = store_file(data_dir)
    if not path.is_file():
        raise fail(
            EXIT_STATE,
            f"no gridmaker state in {data_dir} (looked for {path}): no bot has run on this "
            "--data-dir, so there is no breaker to show or change",
        )
    try:
        _check_symbol(data_dir, symbol, verb)
        note = "" if verb is Verb.STATUS else _change(data_dir, symbol, verb, reason, wait)
        rows = _describe(data_dir, symbol)
    except StateCorrupt as e:
        raise fail(EXIT_STATE, str(e)) from None
    except DataDirUnusable as e:
        raise fail(EXIT_BOOT, str(e)) from None
    if as_json:
        sys.stdout.write(json.dumps({"books": rows, "note": note}, sort_keys=True) + "\n")
        return
    _print(rows, note)


def _change(data_dir: Path, symbol: str, verb: Verb, reason: str, wait: float) -> str:
    """Trip or reset through the running bot, or on the stored books; says which."""
    from gridmaker.store import DataDirLock

    text = reason or f"{verb.value} from the command line"
    lock = DataDirLock(data_dir)
    if lock.is_held_elsewhere():
        if _queue_for_running_bot(data_dir, symbol, verb, text, wait):
            return "applied by the running bot"
        return (
            f"queued: the running bot has not applied it within {wait:g} s; "
            "it will within its next trades"
        )
    lock.acquire()
    try:
        _apply_at_rest(data_dir, symbol, verb, text)
    finally:
        lock.release()
    if verb is Verb.TRIP:
        return (
            "applied to the stored book; the next start cancels what the trip forbids "
            "before sending anything"
        )
    return "applied to the stored book; the next start trades again"


def _print(rows: list[dict[str, Any]], note: str) -> None:
    for row in rows:
        line = f"{row['symbol']}: {row['breaker'].upper()}"
        if row["breaker"] != "active":
            line += f" since {row['tripped_at']} ({row['trigger']}: {row['reason']})"
        else:
            if row["cleared_by"]:
                line += f" (cleared {row['cleared_at']}: {row['cleared_by']})"
            if row["trips"]:
                line += f"; last trip {row['tripped_at']} ({row['trigger']}: {row['reason']})"
        for pending in row["pending"]:
            line += f"; pending {pending}"
        typer.echo(line)
    if not rows:
        typer.echo("no book yet: the bot has not traded a price on this data dir")
    if note:
        typer.echo(note)
