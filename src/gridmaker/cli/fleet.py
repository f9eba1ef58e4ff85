"""``gridmaker fleet add|remove|list|status|apply``: the fleet's grids, declared in PostgreSQL.

The database is ``--store`` or ``GRIDMAKER_STORE_URL`` (PostgreSQL only; its ``grid=`` does
not matter here). Every argument and config is checked before the database is opened, so a
mistake changes nothing. ``add``/``remove``/``apply`` create the fleet's tables if needed;
``list``/``status`` only read (a read-only session) and say when there is no fleet yet.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gridmaker.cli.common import EXIT_CONFIG, JsonFlag, fail
from gridmaker.cli.fleet_database import fleet_db
from gridmaker.cli.fleet_input import check_name, config_text, read_fleet_file

if TYPE_CHECKING:
    import psycopg

    from gridmaker.cli.fleet_input import FleetEntry

__all__ = ["fleet_app"]

fleet_app = typer.Typer(
    name="fleet",
    help="Declare the grids a fleet of workers trades (PostgreSQL), and see who works them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

StoreOption = Annotated[
    str | None,
    typer.Option(
        "--store",
        help="the fleet's postgresql:// URL (default: GRIDMAKER_STORE_URL); the password is "
        "best kept in the environment (PGPASSWORD) or ~/.pgpass",
    ),
]


@fleet_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="the grid's name (also its store namespace)")],
    config: Annotated[
        Path, typer.Option("--config", help="the grid's YAML config (its venue outside the worker)")
    ],
    account: Annotated[
        str, typer.Option("--account", help="the account it trades (breaker and rate scope)")
    ] = "default",
    store: StoreOption = None,
) -> None:
    """Declare a grid; a worker takes it within a second or two."""
    from gridmaker.fleet.registry import GridExists, add_grid, find_grid

    check_name(name, "the grid's name")
    check_name(account, "--account")
    text = config_text(config)
    with fleet_db(store, write=True) as db:
        try:
            grid = add_grid(db, name, account, text)
        except GridExists:
            known = find_grid(db, name)
            taken = " (removed, and a removed grid's name stays taken: its rows remain)"
            raise fail(
                EXIT_CONFIG,
                f"the fleet already has a grid named {name!r}"
                f"{taken if known and known.removed else ''}; choose another name",
            ) from None
    print(f"added grid {grid.name} (account {grid.account}) from {config}")


@fleet_app.command("remove")
def remove(
    name: Annotated[str, typer.Argument(help="the grid to remove")],
    leave: Annotated[
        bool,
        typer.Option("--leave", help="leave its open orders on the venue (default: cancel them)"),
    ] = False,
    store: StoreOption = None,
) -> None:
    """Mark a grid removed: its owner stops it (cancelling its orders unless --leave)."""
    from gridmaker.fleet.registry import find_grid, mark_removed

    check_name(name, "the grid's name")
    mode = "leave" if leave else "cancel"
    with fleet_db(store, write=False) as db:  # an unknown name must not create the tables
        before = find_grid(db, name)
    if before is None:
        raise fail(EXIT_CONFIG, f"the fleet has no grid named {name!r}")
    if before.removed:
        print(f"grid {name} was already removed ({before.remove_mode}); nothing changed")
        return
    with fleet_db(store, write=True) as db:
        mark_removed(db, name, mode)  # a name is never deleted: it is still there
    orders = "leaves its orders open" if mode == "leave" else "cancels its orders"
    print(f"removed grid {name}: its owner {orders} as it stops it")


@fleet_app.command("list")
def list_grids(as_json: JsonFlag = False, store: StoreOption = None) -> None:
    """Every declared grid, removed ones too."""
    from gridmaker.cli.fleet_show import grid_lines, grid_record
    from gridmaker.fleet.registry import declared_grids

    with fleet_db(store, write=False) as db:
        grids = declared_grids(db, include_removed=True)
    if as_json:
        print(json.dumps({"grids": [grid_record(g) for g in grids]}))
        return
    for line in grid_lines(grids):
        print(line)


@fleet_app.command("status")
def status(
    as_json: JsonFlag = False,
    grid: Annotated[str | None, typer.Option("--grid", help="only this grid")] = None,
    dead_after: Annotated[
        float,
        typer.Option(
            "--dead-after",
            min=1,
            max=3600,
            help="seconds without a heartbeat after which a worker counts as dead (the "
            "workers' --lease-ttl)",
        ),
    ] = 10.0,
    store: StoreOption = None,
) -> None:
    """Every grid: its owner, lease, state and last sync; every worker and its heartbeat."""
    from gridmaker.cli.fleet_show import status_lines, status_record
    from gridmaker.fleet.status import fleet_status

    if grid is not None:
        check_name(grid, "--grid")
    with fleet_db(store, write=False) as db:
        seen = fleet_status(db, dead_after_s=dead_after, grid=grid)
    if grid is not None and not seen.grids:
        raise fail(EXIT_CONFIG, f"--grid: the fleet has no grid named {grid!r}")
    if as_json:
        print(json.dumps(status_record(seen)))
        return
    for line in status_lines(seen):
        print(line)


@fleet_app.command("apply")
def apply(
    fleet_file: Annotated[
        Path, typer.Argument(help="YAML: grids: [{name, account?, config: PATH}]", metavar="FILE")
    ],
    prune: Annotated[
        bool,
        typer.Option("--prune", help="remove (cancelling their orders) the grids not in FILE"),
    ] = False,
    store: StoreOption = None,
) -> None:
    """Declare the grids of a fleet file: every entry checked before any is written."""
    entries = read_fleet_file(fleet_file)
    with fleet_db(store, write=True) as db:
        lines = apply_entries(db, entries, fleet_file, prune=prune)
    for line in lines:
        print(line)


def apply_entries(
    db: psycopg.Connection[Any], entries: list[FleetEntry], path: Path, *, prune: bool
) -> list[str]:
    """Add the entries the fleet lacks (and, with ``prune``, remove the grids ``path`` no
    longer names), all in one transaction; what was done, a line each."""
    from gridmaker.fleet.registry import add_grid, declared_grids, mark_removed

    lines: list[str] = []
    with db.transaction():
        known = {g.name: g for g in declared_grids(db, include_removed=True)}
        for entry in entries:
            grid = known.get(entry.name)
            if grid is not None and grid.removed:
                raise fail(
                    EXIT_CONFIG,
                    f"{path}: grid {entry.name!r} was removed from the fleet and a removed "
                    "grid's name stays taken (its rows remain); give it a new name",
                )
        added = differ = same = removed = 0
        for entry in entries:
            grid = known.get(entry.name)
            if grid is None:
                add_grid(db, entry.name, entry.account, entry.config)
                lines.append(f"added grid {entry.name} (account {entry.account})")
                added += 1
                continue
            changed = [
                what
                for what, differs in (
                    ("config", grid.config != entry.config),
                    ("account", grid.account != entry.account),
                )
                if differs
            ]
            if changed:
                lines.append(
                    f"grid {entry.name}: its {' and '.join(changed)} in {path} differ from the "
                    "fleet's; not changed (change a running grid with `gridmaker reconfigure`, "
                    f"or `gridmaker fleet remove {entry.name}` and add it under a new name)"
                )
                differ += 1
            else:
                same += 1
        if prune:
            wanted = {e.name for e in entries}
            for name, grid in sorted(known.items()):
                if name not in wanted and not grid.removed:
                    mark_removed(db, name, "cancel")
                    lines.append(f"removed grid {name} (not in {path}; its orders are cancelled)")
                    removed += 1
    lines.append(f"{added} added, {same} unchanged, {differ} differ, {removed} removed")
    return lines
