"""``gridmaker reconfigure --config NEW``: change running grids without cancelling them.

For each market of NEW with a book in the data dir, the change is checked against that book
exactly as the loop will check it (``engine.changes.reconfigure_event``) and shown as the core
computes it (``core.change_preview``: kept, cancelled and placed orders). Only then, once
confirmed, is one ``reconfigure`` command queued per market. A running bot applies it at its
next turn; a stopped one right after its next start (started with NEW: the boot accepts a book
that a queued change moves to NEW). Every check runs before anything is written, so a refused
change queues nothing and changes nothing.
"""

from __future__ import annotations

import json
import sys
import time
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from gridmaker.cli.common import (
    EXIT_BOOT,
    EXIT_CONFIG,
    EXIT_STATE,
    DataDir,
    JsonFlag,
    fail,
    load_config,
    store_file,
)
from gridmaker.cli.reconfigure_show import MarketChange, change_json, print_change

if TYPE_CHECKING:
    from gridmaker.config import Config
    from gridmaker.core.setup import BookSetup
    from gridmaker.store import Store

__all__ = ["reconfigure"]

Queued = list[tuple[MarketChange, "BookSetup"]]


def reconfigure(
    config: Annotated[
        Path, typer.Option("--config", help="the new YAML config (its markets are changed)")
    ],
    data_dir: DataDir = Path("gridmaker-data"),
    allow_loss: Annotated[
        bool,
        typer.Option("--allow-loss", help="allow sell prices that do not recover a lot's cost"),
    ] = False,
    yes: Annotated[
        bool, typer.Option("--yes", help="queue without asking (needed without a terminal)")
    ] = False,
    wait: Annotated[
        float,
        typer.Option(
            "--wait", min=0, max=3600, help="seconds to wait for a running bot to apply it"
        ),
    ] = 0.0,
    as_json: JsonFlag = False,
) -> None:
    """Change running grids in place: unchanged levels keep their orders (exit 2: refused)."""
    from gridmaker.cli.store_choice import refuse_postgres
    from gridmaker.store import DataDirUnusable, StateCorrupt

    new = load_config(config)
    refuse_postgres(new)
    path = store_file(data_dir)
    if not path.is_file():
        raise fail(
            EXIT_STATE,
            f"no gridmaker state in {data_dir} (looked for {path}): no grid runs there to "
            "change; `gridmaker run --config NEW` starts one",
        )
    try:
        changes, queue = _prepare(new, path, allow_loss)
        if not as_json:
            for change in changes:
                print_change(change)
        note = _queue(data_dir, queue, allow_loss, wait, yes) if queue else "nothing to queue"
    except StateCorrupt as e:
        raise fail(EXIT_STATE, str(e)) from None
    except DataDirUnusable as e:
        raise fail(EXIT_BOOT, str(e)) from None
    if as_json:
        body = {"markets": [change_json(c) for c in changes], "note": note}
        sys.stdout.write(json.dumps(body, sort_keys=True) + "\n")
    else:
        typer.echo(note)
    refused = [c for c in changes if c.result == "refused"]
    if refused:
        raise fail(
            EXIT_CONFIG,
            "; ".join(f"the running bot refused {c.symbol}'s change: {c.outcome}" for c in refused),
        )


def _prepare(new: Config, path: Path, allow_loss: bool) -> tuple[list[MarketChange], Queued]:
    """Every market of ``new`` checked against its stored book, reading only; exit 2 (nothing
    written) when one is refused."""
    from gridmaker.config import ConfigError, book_setup
    from gridmaker.core.change_preview import preview_change
    from gridmaker.engine.changes import CommandRefused, reconfigure_event
    from gridmaker.store import Store

    now_ms = int(time.time() * 1000)
    changes: list[MarketChange] = []
    queue: Queued = []
    problems: list[str] = []
    with closing(Store(path, read_only=True)) as store:
        pending = [c for c in store.pending_commands() if c.command == "reconfigure"]
        for market in new.markets:
            state = store.load_book(market.symbol)
            if state is None:
                changes.append(MarketChange(symbol=market.symbol, status="new"))
                continue
            try:
                setup = book_setup(market, state.instrument)
                event = reconfigure_event(state, setup, allow_loss, now_ms)
            except (ConfigError, CommandRefused) as e:
                problems.append(str(e))
                continue
            if (state.params, state.grid, state.risk_params) == (
                event.params,
                event.grid,
                event.risk_params,
            ):
                changes.append(MarketChange(symbol=market.symbol, status="unchanged"))
                continue
            change = MarketChange(
                symbol=market.symbol,
                status="change",
                instrument=state.instrument,
                preview=preview_change(state, event),
                earlier=tuple(c.id for c in pending if c.symbol == market.symbol),
            )
            changes.append(change)
            queue.append((change, setup))
        named = {m.symbol for m in new.markets}
        for symbol in store.symbols():
            if symbol not in named:
                changes.append(MarketChange(symbol=symbol, status="absent"))
    if problems:
        raise fail(EXIT_CONFIG, "reconfigure refused, nothing queued: " + "; ".join(problems))
    return changes, queue


def _confirm(yes: bool, count: int) -> bool:
    if yes:
        return True
    if not sys.stdin.isatty():
        raise fail(
            EXIT_CONFIG,
            "--yes is needed to queue a change without a terminal to confirm it; nothing queued",
        )
    return typer.confirm(f"queue {count} change(s)?", default=False)


def _queue(data_dir: Path, queue: Queued, allow_loss: bool, wait: float, yes: bool) -> str:
    """Queue the changes once confirmed; with a running bot and ``wait``, wait for its answer."""
    from gridmaker.engine.changes import reconfigure_payload
    from gridmaker.store import DataDirLock, Store

    if not _confirm(yes, len(queue)):
        return "nothing queued"
    running = DataDirLock(data_dir).is_held_elsewhere()
    with closing(Store(store_file(data_dir))) as store:
        for change, setup in queue:
            reason = "reconfigure from the command line"
            payload = reconfigure_payload(setup, allow_loss)
            change.command_id = store.add_command(change.symbol, "reconfigure", reason, payload)
            change.result = "queued"
        if not running:
            return (
                "queued: no bot runs on this data dir; start it with the new config "
                "(`gridmaker run --config NEW`) and it applies the change right after its boot"
            )
        if wait > 0 and _wait_applied(store, [c for c, _ in queue], wait):
            if any(c.result == "refused" for c, _ in queue):
                return "answered by the running bot"
            return "applied by the running bot; restart it with the new config from now on"
    return (
        "queued: the running bot applies it at its next turn; restart it with the new config "
        "from now on"
    )


def _wait_applied(store: Store, changes: list[MarketChange], wait_s: float) -> bool:
    """Poll the journal until every change is applied (or refused) or ``wait_s`` passed."""
    deadline = time.monotonic() + wait_s
    delay = 0.05
    while True:
        records = [store.command(c.command_id) for c in changes]
        if all(r is not None and r.applied_at for r in records):
            for change, record in zip(changes, records, strict=True):
                assert record is not None
                change.outcome = record.outcome
                change.result = "refused" if record.outcome else "applied"
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(delay)
        delay = min(delay * 2, 0.5)
