"""``gridmaker fleet limits``: the fleet-wide breaker's limits, per account or for the fleet.

Setting a limit only writes it: the workers check every limit every few seconds and trip
every grid of a scope that crosses one (``gridmaker.fleet.breaker``). ``--reset`` clears a
scope's trip, restarts its high water at the current equity and lifts the trips it made in
the grids. Every option is checked before the database is opened, so a mistake (exit 2)
changes nothing; ``--show`` only reads, and says when there is no fleet yet (exit 3).

The database is ``--store`` or ``GRIDMAKER_STORE_URL`` (PostgreSQL; its ``grid=`` does not
matter here). Its password is never shown.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gridmaker.cli.common import EXIT_CONFIG, JsonFlag, fail
from gridmaker.cli.fleet_database import fleet_db

if TYPE_CHECKING:
    import psycopg

    from gridmaker.fleet.breaker import ScopeView

__all__ = ["limits"]

_OFF = "off"


class _Keep:
    """An option not given: the stored limit stays."""


_KEEP = _Keep()
Limit = Decimal | _Keep | None


def _limit(text: str | None, check: Callable[[str], Decimal]) -> Limit:
    """An option's limit: unset (keep the stored one), ``off`` (no limit) or a checked value."""
    from gridmaker.fleet.breaker import LimitsInvalid

    if text is None:
        return _KEEP
    if text.strip().lower() == _OFF:
        return None
    try:
        return check(text)
    except LimitsInvalid as e:
        raise fail(EXIT_CONFIG, str(e)) from None


def _scope(account: str | None, fleet: bool) -> str | None:
    from gridmaker.fleet.breaker import FLEET, LimitsInvalid, account_scope

    if account is not None and fleet:
        raise fail(EXIT_CONFIG, "give --account NAME or --fleet, not both")
    if fleet:
        return FLEET
    if account is None:
        return None
    try:
        return account_scope(account)
    except LimitsInvalid as e:
        raise fail(EXIT_CONFIG, str(e)) from None


def limits(
    account: Annotated[
        str | None, typer.Option("--account", help="the limits of one account's grids")
    ] = None,
    fleet: Annotated[bool, typer.Option("--fleet", help="the limits of every grid")] = False,
    max_drawdown: Annotated[
        str | None,
        typer.Option(
            "--max-drawdown",
            help="trip when the summed equity falls this fraction below its high water "
            "(0.05 = 5%); 'off' removes it",
        ),
    ] = None,
    max_exposure: Annotated[
        str | None,
        typer.Option(
            "--max-exposure",
            help="trip when the inventories' summed value (quote asset) is above this; "
            "'off' removes it",
        ),
    ] = None,
    reset: Annotated[
        bool,
        typer.Option("--reset", help="clear the scope's trip and lift the trips it made"),
    ] = False,
    show: Annotated[bool, typer.Option("--show", help="print the limits and their state")] = False,
    store: Annotated[
        str | None,
        typer.Option(
            "--store", help="the fleet's postgresql:// URL (default: GRIDMAKER_STORE_URL)"
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Set, reset or show the fleet-wide breaker's limits (drawdown, exposure)."""
    from gridmaker.fleet.breaker import check_drawdown, check_exposure

    scope = _scope(account, fleet)
    drawdown = _limit(max_drawdown, check_drawdown)
    exposure = _limit(max_exposure, check_exposure)
    setting = max_drawdown is not None or max_exposure is not None
    if (setting or reset) and scope is None:
        raise fail(EXIT_CONFIG, "give --account NAME or --fleet: whose limits to set or reset")
    notes: list[str] = []
    with fleet_db(store, write=setting or reset) as db:
        if setting:
            assert scope is not None
            notes += _set(db, scope, drawdown, exposure)
        if reset:
            assert scope is not None
            notes += _reset(db, scope)
        _report(db, scope, notes, as_json, show=show or not (setting or reset))


def _set(db: psycopg.Connection[Any], scope: str, drawdown: Limit, exposure: Limit) -> list[str]:
    from gridmaker.fleet.breaker import scope_totals, scope_views, set_limits

    with db.transaction():  # merge with the stored limits without a change between
        db.execute("SELECT 1 FROM gridmaker.fleet_limits WHERE scope = %s FOR UPDATE", (scope,))
        views = scope_views(db, scope)
        current = views[0] if views else None
        if isinstance(drawdown, _Keep):
            drawdown = current.limits.max_drawdown if current else None
        if isinstance(exposure, _Keep):
            exposure = current.limits.max_exposure if current else None
        set_limits(db, scope, drawdown, exposure)
    notes = [f"{scope}: limits set; the workers check them every few seconds"]
    if not scope_totals(db, scope).grids:
        notes.append(f"{scope}: no grid is declared there yet (`gridmaker fleet add`)")
    return notes


def _reset(db: psycopg.Connection[Any], scope: str) -> list[str]:
    from gridmaker.core.display import plain
    from gridmaker.fleet.breaker import LimitsUnknown, reset_limits

    try:
        done = reset_limits(db, scope)
    except LimitsUnknown as e:
        raise fail(
            EXIT_CONFIG, f"--reset: {e} (set one with --max-drawdown/--max-exposure)"
        ) from None
    high = done.limits.high_water
    notes = [
        f"{scope}: reset; high water {plain(high) if high is not None else 'unset (no marks)'}"
    ]
    if done.lifted.withdrawn:
        notes.append(f"{scope}: {done.lifted.withdrawn} queued trip(s) withdrawn")
    if done.lifted.reset:
        books = ", ".join(f"{g} {s}" for g, s in done.lifted.reset)
        notes.append(f"{scope}: reset sent to the books it tripped: {books}")
    return notes


def _row(view: ScopeView) -> dict[str, Any]:
    from gridmaker.core.display import plain

    lim, tot = view.limits, view.totals

    def text(value: Decimal | None) -> str | None:
        return None if value is None else plain(value)

    high = lim.high_water
    drawdown = None
    if high is not None and high > 0 and len(tot.quotes) == 1:
        drawdown = max(Decimal(0), (high - tot.equity) / high).quantize(Decimal("0.0001"))
    return {
        "scope": lim.scope,
        "max_drawdown": text(lim.max_drawdown),
        "max_exposure": text(lim.max_exposure),
        "high_water": text(lim.high_water),
        "quote": ", ".join(tot.quotes),
        "equity": plain(tot.equity),
        "exposure": plain(tot.exposure),
        "drawdown": text(drawdown),
        "grids": len(tot.grids),
        "marked": tot.marked,
        "tripped": lim.tripped,
        "tripped_at": lim.tripped_at.isoformat(timespec="seconds") if lim.tripped_at else None,
        "reason": lim.reason,
    }


def _line(row: dict[str, Any]) -> str:
    from gridmaker.core.display import plain

    quote = f" {row['quote']}" if row["quote"] else ""
    cap = row["max_drawdown"]
    drawdown = f"{plain(Decimal(cap) * 100)}%" if cap else "off"
    exposure = f"{row['max_exposure']}{quote}" if row["max_exposure"] else "off"
    high = f"{row['high_water']}{quote}" if row["high_water"] else "none yet"
    if row["drawdown"] is not None:
        high += f" ({plain(Decimal(row['drawdown']) * 100)}% below it)"
    state = f"TRIPPED since {row['tripped_at']}: {row['reason']}" if row["tripped"] else "armed"
    line = (
        f"{row['scope']}: max drawdown {drawdown}, max exposure {exposure}; high water {high}; "
        f"equity {row['equity']}{quote}, exposure {row['exposure']}{quote} "
        f"({row['marked']} of {row['grids']} grids marked); {state}"
    )
    if row["reason"] and not row["tripped"]:
        line += f" ({row['reason']})"
    return line


def _report(
    db: psycopg.Connection[Any], scope: str | None, notes: list[str], as_json: bool, *, show: bool
) -> None:
    """The notes of what changed, then (``show``) every scope's limits and state."""
    from gridmaker.fleet.breaker import scope_views

    rows = [_row(v) for v in scope_views(db, scope)] if show or as_json else []
    if as_json:
        typer.echo(json.dumps({"scopes": rows, "notes": notes}, sort_keys=True))
        return
    for note in notes:
        typer.echo(note)
    for row in rows:
        typer.echo(_line(row))
    if show and not rows:
        typer.echo(f"no limits set for {scope}" if scope else "no fleet limits set")
