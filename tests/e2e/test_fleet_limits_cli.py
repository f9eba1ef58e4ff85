"""``gridmaker fleet limits`` as a user runs it, on a real PostgreSQL: set, show, reset; the
trip itself is the workers' (``enforce_limits``), run here in the test's own process."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import psycopg

from gridmaker.fleet.breaker import enforce_limits, publish_mark
from gridmaker.fleet.leases import connect_fleet
from gridmaker.fleet.registry import add_grid
from gridmaker.store.pg_store import PgStore
from gridmaker.store.url import parse_store_url
from tests import kit
from tests.kit.cli import gridmaker, last_json


def _limits(url: str, *args: str) -> dict[str, Any]:
    return last_json(
        gridmaker("fleet", "limits", "--json", *args, env={"GRIDMAKER_STORE_URL": url})
    )


def _scope(shown: dict[str, Any], scope: str) -> dict[str, Any]:
    rows: list[dict[str, Any]] = [r for r in shown["scopes"] if r["scope"] == scope]
    assert len(rows) == 1, shown
    return rows[0]


def _pending(url: str, grid: str) -> list[str]:
    store = PgStore(parse_store_url(f"{url}?grid={grid}"), read_only=True)
    try:
        return [c.command for c in store.pending_commands()]
    finally:
        store.close()


def test_fleet_limits_set_show_trip_and_reset_through_the_cli(pg_url: str) -> None:
    # Arrange: two grids of account A, with books, marked at 1000 each
    for grid in ("a1", "a2"):
        store = PgStore(parse_store_url(f"{pg_url}?grid={grid}"))
        store.commit(kit.state())
        store.close()
    with connect_fleet(pg_url) as db:
        for grid in ("a1", "a2"):
            add_grid(db, grid, "A", "markets: []\n")
            publish_mark(db, grid, "A", "USDT", Decimal(1000), Decimal(100), 1)

    # Act: set a drawdown limit; a worker's check sets the high water; a1 loses 200
    set_ = _limits(pg_url, "--account", "A", "--max-drawdown", "0.05")
    with connect_fleet(pg_url) as db:
        assert enforce_limits(db) == []
        publish_mark(db, "a1", "A", "USDT", Decimal(800), Decimal(100), 1)
        [trip] = enforce_limits(db)
    shown = gridmaker("fleet", "limits", "--show", "--store", pg_url)
    reset = _limits(pg_url, "--account", "A", "--reset", "--show")

    # Assert
    assert _scope(set_, "account:A")["max_drawdown"] == "0.05"
    assert trip.grids == ("a1", "a2")
    assert shown.returncode == 0, shown.stderr
    assert "account:A: max drawdown 5%, max exposure off; high water 2000 USDT (10% below it)" in (
        shown.stdout
    )
    assert "equity 1800 USDT, exposure 200 USDT (2 of 2 grids marked); TRIPPED" in shown.stdout
    assert "10% below its high water 2000 USDT" in shown.stdout
    after = _scope(reset, "account:A")
    assert (after["tripped"], after["high_water"], after["drawdown"]) == (False, "1800", "0")
    assert any("2 queued trip(s) withdrawn" in n for n in reset["notes"])
    assert _pending(pg_url, "a1") == [] and _pending(pg_url, "a2") == []


def test_fleet_limits_an_omitted_limit_is_kept_and_off_removes_it(pg_url: str) -> None:
    # Arrange
    _limits(pg_url, "--fleet", "--max-drawdown", "0.2", "--max-exposure", "5000")

    # Act
    kept = _scope(_limits(pg_url, "--fleet", "--max-exposure", "7000.5"), "fleet")
    removed = _scope(_limits(pg_url, "--fleet", "--max-drawdown", "off"), "fleet")

    # Assert
    assert (kept["max_drawdown"], kept["max_exposure"]) == ("0.2", "7000.5")
    assert (removed["max_drawdown"], removed["max_exposure"]) == (None, "7000.5")


def test_fleet_limits_show_without_a_fleet_is_exit_3_and_writes_nothing(pg_url: str) -> None:
    # Act
    result = gridmaker("fleet", "limits", "--show", "--store", pg_url)

    # Assert
    assert result.returncode == 3, result.stderr
    assert "no fleet here yet" in result.stderr
    with psycopg.connect(pg_url) as db:
        schemas = db.execute(
            "SELECT count(*) FROM information_schema.schemata WHERE schema_name = 'gridmaker'"
        ).fetchone()
    assert schemas == (0,)


def test_fleet_limits_reset_of_a_scope_without_limits_is_refused(pg_url: str) -> None:
    # Arrange: the fleet exists, account B has no limits
    _limits(pg_url, "--fleet", "--max-exposure", "10")

    # Act
    result = gridmaker("fleet", "limits", "--account", "B", "--reset", "--store", pg_url)

    # Assert
    assert result.returncode == 2
    assert "no limits are set for account:B" in result.stderr
    assert (
        json.loads(
            gridmaker("fleet", "limits", "--json", "--store", pg_url).stdout.splitlines()[-1]
        )["scopes"][0]["scope"]
        == "fleet"
    )
