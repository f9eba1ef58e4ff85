"""``gridmaker fleet command GRID COMMAND``: steer one grid of a fleet, wherever it runs.

The command is journaled in the grid's own namespace, exactly as ``gridmaker breaker`` does for
a bot on a data dir; whichever worker owns the grid applies it in its loop (at its next turn,
within the venue's audit interval), under its epoch. Nothing here needs to know which worker
that is, and a grid that is between owners gets it at its next boot.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Annotated, Final

import typer

from gridmaker.cli.common import EXIT_CONFIG, EXIT_STATE, fail

__all__ = ["command"]

STEERING: Final = ("pause", "resume", "take_profit_only", "trip", "reset")
"""What an operator sends a fleet grid. To stop one for good: ``fleet remove`` (a journaled
stop would only end the owner's run, and the fleet would start the grid again)."""


def command(
    grid: Annotated[str, typer.Argument(help="the grid (its name in the fleet)")],
    what: Annotated[str, typer.Argument(metavar="COMMAND", help=", ".join(STEERING))],
    symbol: Annotated[
        str | None, typer.Option("--symbol", help="only this market of the grid (default: all)")
    ] = None,
    reason: Annotated[str, typer.Option("--reason", help="kept with the command")] = "operator",
    wait: Annotated[
        float,
        typer.Option("--wait", min=0, max=3600, help="seconds to wait for the owner to apply it"),
    ] = 0.0,
    store: Annotated[
        str | None,
        typer.Option(
            "--store", help="the fleet's postgresql:// URL (default: GRIDMAKER_STORE_URL)"
        ),
    ] = None,
) -> None:
    """Queue an operator command for one fleet grid; its owner applies it."""
    from gridmaker.cli.fleet_database import fleet_db, fleet_url
    from gridmaker.fleet.registry import find_grid
    from gridmaker.store.pg_store import PgStore

    if what not in STEERING:
        raise fail(EXIT_CONFIG, f"COMMAND must be one of {', '.join(STEERING)}; was {what!r}")
    with fleet_db(store, write=True) as db:
        found = find_grid(db, grid)
        if found is None:
            raise fail(
                EXIT_CONFIG, f"the fleet has no grid named {grid!r} (`gridmaker fleet list`)"
            )
        if found.removed:
            raise fail(EXIT_CONFIG, f"grid {grid!r} was removed from the fleet: nothing runs it")
        books = [
            str(r[0])
            for r in db.execute(
                "SELECT symbol FROM gridmaker.books WHERE store_id = %s ORDER BY symbol", (grid,)
            ).fetchall()
        ]
        if not books:
            raise fail(EXIT_STATE, f"grid {grid!r} has no book yet: no worker has booted it")
        if symbol is not None and symbol not in books:
            raise fail(
                EXIT_CONFIG,
                f"--symbol must be one of grid {grid!r}'s markets ({', '.join(books)}); "
                f"was {symbol!r}",
            )
        targets = [symbol] if symbol else books
        journal = PgStore(replace(fleet_url(store), namespace=grid), exclusive=False)
        try:
            ids = [journal.add_command(target, what, reason) for target in targets]
        finally:
            journal.close()
        typer.echo(
            f"queued: {what} for grid {grid} ({', '.join(targets)}), "
            f"command {', '.join(map(str, ids))}"
        )
        if wait <= 0:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            row = db.execute(
                "SELECT count(*) FILTER (WHERE applied_at IS NULL), string_agg(outcome, '; ') "
                "FROM gridmaker.commands WHERE store_id = %s AND id = ANY(%s)",
                (grid, ids),
            ).fetchone()
            if row is not None and int(str(row[0])) == 0:
                outcome = str(row[1] or "")
                typer.echo(f"applied{': ' + outcome if outcome else ''}")
                return
            time.sleep(0.2)
        raise fail(
            EXIT_STATE, f"not applied within {wait:g} s (no owner, or it is busy): still queued"
        )
