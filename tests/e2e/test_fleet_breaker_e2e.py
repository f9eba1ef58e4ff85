"""The fleet breaker with real workers: two ``gridmaker worker`` processes share the grids of
an account; the market falls at the simulator; every grid of the account ends tripped, on
whichever worker it runs (its buys cancelled), and the other account's grid trades on.

Each grid's owner publishes its mark, every worker checks the limits, and the trip reaches
each grid as a breaker command in its own journal, applied by its own loop.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from gridmaker.core.events import Side
from gridmaker.core.risk import BreakerState
from gridmaker.core.state import GridState
from gridmaker.fleet.breaker import scope_views
from gridmaker.store.pg_store import PgStore
from gridmaker.store.url import parse_store_url
from tests.kit.cli import gridmaker
from tests.kit.http_venue import control
from tests.kit.processes import background, gridmaker_command, sim_exchange
from tests.kit.waiting import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SYMBOL = "X01/USDT"
GRIDS = {"a1": "A", "a2": "A", "a3": "A", "b1": "B"}
"""Four grids on two workers of capacity 2: account A's three cannot all be on one worker."""
TTL_S = "5"

SIM = """sim:
  balances:
    USDT: '4000'
    X01: '0.08'
  instruments:
    X01/USDT: {}
markets:
  - {symbol: X01/USDT}
"""


def _grid_config(name: str, base_url: str) -> str:
    """One market with a budget of 1000 USDT and 0.02 X01 (about 2000 USDT at 50000), buys
    close under the price, its own breakers off: only the fleet's can trip it."""
    return f"""exchange: binance
venue:
  base_url: {base_url}
  audit_interval_s: 2
markets:
  - symbol: {SYMBOL}
    strategy_id: {name}
    order_size: '0.001'
    budget_quote: '1000'
    budget_base: '0.02'
    grid: {{spacing: '0.5%', buy_levels: 4, sell_levels: 4}}
    risk: {{fast_move: null, drawdown: null}}
"""


def _trade(base_url: str, price: str) -> None:
    body = {"symbol": SYMBOL, "price": price, "amount": "1", "ts_event": int(time.time() * 1000)}
    control(base_url, "/__sim/trade", body)


def _book(url: str, grid: str) -> GridState | None:
    store = PgStore(parse_store_url(f"{url}?grid={grid}"), read_only=True)
    try:
        return store.load_book(SYMBOL)
    finally:
        store.close()


@contextmanager
def _workers(url: str, work: Path) -> Iterator[None]:
    """Two workers; SIGTERM on the way out (``background``)."""
    with ExitStack() as stack:
        for name in ("w1", "w2"):
            command = gridmaker_command(
                "worker", "--store", url, "--name", name, "--capacity", "2", "--lease-ttl", TTL_S
            )
            stack.enter_context(background(command, work / f"{name}.log"))
        yield


def _owners(db: psycopg.Connection[tuple[object, ...]]) -> dict[str, tuple[str, str]]:
    rows = db.execute(
        "SELECT o.grid, o.owner, o.state FROM gridmaker.fleet_owners o "
        "JOIN gridmaker.fleet_marks m ON m.grid = o.grid"
    ).fetchall()
    return {str(g): (str(o), str(s)) for g, o, s in rows}


def test_fleet_breaker_trips_every_grid_of_the_account_on_every_worker(
    pg_url: str, tmp_path: Path
) -> None:
    # Arrange: the venue at 50000; four grids declared; two workers trading them
    with sim_exchange(
        tmp_path / "sim", "--config", str(_write(tmp_path, "sim.yaml", SIM))
    ) as venue:
        _trade(venue, "50000")
        for grid, account in GRIDS.items():
            config = _write(tmp_path, f"{grid}.yaml", _grid_config(grid, venue))
            added = gridmaker(
                "fleet", "add", grid, "--config", str(config), "--account", account,
                "--store", pg_url,
            )  # fmt: skip
            assert added.returncode == 0, added.stderr
        limits = gridmaker(
            "fleet", "limits", "--account", "A", "--max-drawdown", "0.005", "--store", pg_url
        )
        assert limits.returncode == 0, limits.stderr
        with _workers(pg_url, tmp_path), psycopg.connect(pg_url, autocommit=True) as db:
            owners = eventually(
                lambda: _all_marked(db), timeout_s=120, what="every grid trading and marked"
            )
            eventually(
                lambda: scope_views(db, "account:A")[0].limits.high_water,
                timeout_s=30,
                what="a worker's check to set account A's high water",
            )

            # Act: the market falls 1.4 %: two buys of each grid fill (each loses about 0.7 %
            # of its equity), two stay open below
            _trade(venue, "49300")
            tripped = eventually(
                lambda: _account_a_tripped(pg_url),
                timeout_s=60,
                what="every grid of account A tripped, its buys cancelled",
            )

    # Assert: A's grids ran on both workers, each was tripped by the fleet, B was not
    assert len({owners[g][0] for g in GRIDS if GRIDS[g] == "A"}) == 2, owners
    for grid in ("a1", "a2", "a3"):
        book = tripped[grid]
        assert book is not None
        assert book.risk.reason.startswith("fleet breaker account:A:"), book.risk
    b1 = tripped["b1"]
    assert b1 is not None and b1.risk.breaker is BreakerState.ACTIVE
    assert any(s.has_live_order and s.order_side is Side.BUY for s in b1.slots.values())
    with psycopg.connect(pg_url) as db:
        [view] = scope_views(db, "account:A")
    assert view.limits.tripped and view.limits.high_water is not None
    assert view.totals.equity < view.limits.high_water * Decimal("0.995")


def _all_marked(db: psycopg.Connection[tuple[object, ...]]) -> dict[str, tuple[str, str]] | None:
    """Every grid's (owner, state) once each has an owner and has published a mark."""
    found = _owners(db)
    return found if len(found) == len(GRIDS) else None


def _account_a_tripped(url: str) -> dict[str, GridState | None] | None:
    """Every grid's book once each of account A's is tripped and works no buy any more."""
    books = {g: _book(url, g) for g in GRIDS}
    stopped = [_buys_stopped(b) for g, b in books.items() if GRIDS[g] == "A"]
    return books if all(stopped) else None


def _buys_stopped(book: GridState | None) -> bool:
    return (
        book is not None
        and book.risk.breaker is not BreakerState.ACTIVE
        and not any(s.has_live_order and s.order_side is Side.BUY for s in book.slots.values())
    )


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path
