"""``gridmaker stop --cancel | --leave | --sell --limit 1%``: end a running bot's run, saying
what happens to its orders.

- ``--cancel``: every order of ours is cancelled, then the run ends;
- ``--leave``: the orders stay at the venue (the next start finds and keeps them);
- ``--sell --limit P``: every order is cancelled, then each market's inventory is sold in one
  order no lower than the last price less ``P``, and the run ends once every sale is done.

One stop is queued for every market (``"*"``); the running bot applies it at its next turn and
exits 0. Its next start trades again. With no bot running there is nothing to stop: refused
(exit 2), nothing queued.
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
    store_file,
)

if TYPE_CHECKING:
    from gridmaker.store import DataDirLock

__all__ = ["stop"]


def stop(
    cancel: Annotated[bool, typer.Option("--cancel", help="cancel our orders, then stop")] = False,
    leave: Annotated[
        bool, typer.Option("--leave", help="stop and leave our orders at the venue")
    ] = False,
    sell: Annotated[
        bool,
        typer.Option("--sell", help="cancel our orders, sell the inventory within --limit, stop"),
    ] = False,
    limit: Annotated[
        str | None,
        typer.Option("--limit", help="with --sell: how far under the last price, e.g. 1%"),
    ] = None,
    data_dir: DataDir = Path("gridmaker-data"),
    wait: Annotated[
        float,
        typer.Option("--wait", min=0, max=3600, help="seconds to wait for the bot to exit"),
    ] = 60.0,
    as_json: JsonFlag = False,
) -> None:
    """Stop a running bot: cancel, leave, or sell the inventory within a limit."""
    from gridmaker.cli.store_choice import refuse_postgres
    from gridmaker.store import DataDirLock, DataDirUnusable, StateCorrupt, Store

    command, payload = _command(cancel, leave, sell, limit)
    refuse_postgres()
    path = store_file(data_dir)
    if not path.is_file():
        raise fail(
            EXIT_STATE, f"no gridmaker state in {data_dir} (looked for {path}): nothing to stop"
        )
    lock = DataDirLock(data_dir)
    try:
        if not lock.is_held_elsewhere():
            raise fail(
                EXIT_CONFIG,
                f"no bot runs on {data_dir} (nothing holds its lock): there is nothing to stop; "
                "nothing queued",
            )
        with closing(Store(path)) as store:
            command_id = store.add_command("*", command, "stop from the command line", payload)
    except StateCorrupt as e:
        raise fail(EXIT_STATE, str(e)) from None
    except DataDirUnusable as e:
        raise fail(EXIT_BOOT, str(e)) from None
    stopped = _wait_exit(lock, wait)
    if stopped:
        note = f"stopped: the bot applied {command} and exited"
    else:
        doing = "closing (selling)" if command == "stop_sell" else "stopping"
        note = f"queued {command}: the bot is still {doing} after {wait:g} s"
    if as_json:
        body = {"command": command, "command_id": command_id, "stopped": stopped, "note": note}
        sys.stdout.write(json.dumps(body, sort_keys=True) + "\n")
    else:
        typer.echo(note)


def _command(cancel: bool, leave: bool, sell: bool, limit: str | None) -> tuple[str, str]:
    """The journal's command and payload; exit 2 unless exactly one way is given."""
    from gridmaker.config.values import percent
    from gridmaker.engine.changes import stop_sell_payload

    ways = [name for name, on in (("--cancel", cancel), ("--leave", leave), ("--sell", sell)) if on]
    if len(ways) != 1:
        given = ", ".join(ways) if ways else "none"
        raise fail(EXIT_CONFIG, f"give one of --cancel, --leave or --sell; was {given}")
    if not sell:
        if limit is not None:
            raise fail(EXIT_CONFIG, f"--limit goes with --sell only; was given with {ways[0]}")
        return ("stop_cancel" if cancel else "stop_leave"), ""
    if limit is None:
        raise fail(EXIT_CONFIG, "--sell needs --limit, how far under the last price, e.g. 1%")
    try:
        ppm = percent(limit, top_included=False)
    except ValueError:
        ppm = None
    if ppm is None or not 0 < ppm < 1_000_000:
        raise fail(
            EXIT_CONFIG,
            f"--limit must be a percent above 0% and below 100% like '1%'; was {limit!r}",
        )
    return "stop_sell", stop_sell_payload(ppm)


def _wait_exit(lock: DataDirLock, wait_s: float) -> bool:
    """True once the bot let go of the data dir (it exited) within ``wait_s``."""
    deadline = time.monotonic() + wait_s
    delay = 0.05
    while lock.is_held_elsewhere():
        if time.monotonic() >= deadline:
            return False
        time.sleep(delay)
        delay = min(delay * 2, 0.5)
    return True
