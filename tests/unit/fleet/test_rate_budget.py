"""``PgRateBudget``: one weight window per API key in PostgreSQL, spent by every worker on it."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterator

import psycopg
import pytest

from gridmaker.cli.venue import SIM_API_KEY, SIM_API_SECRET
from gridmaker.exchange.api import Banned, RateLimited
from gridmaker.exchange.ccxt import CcxtExchange, build_ccxt_client
from gridmaker.exchange.ccxt.rate_budget import (
    RateBudget,
    recovering,
    set_budget_factory,
    shared_budget,
)
from gridmaker.exchange.faults import FaultKind, FaultPlan
from gridmaker.fleet.leases import connect_fleet
from gridmaker.fleet.rate_budget import (
    APPLICATION_NAME,
    PgRateBudget,
    install_shared_budgets,
    uninstall_shared_budgets,
)
from gridmaker.store.pg_schema import migrate_pg
from tests.kit.http_venue import SYMBOL, running_server
from tests.kit.waiting import eventually

LONG_WINDOW_S = 1e6
"""A window no test run crosses (windows are aligned on the epoch)."""

MakeBudget = Callable[..., PgRateBudget]


@pytest.fixture
def fleet_url(pg_url: str) -> str:
    with connect_fleet(pg_url) as db:
        migrate_pg(db, pg_url)
    return pg_url


@pytest.fixture
def budget(fleet_url: str) -> Iterator[MakeBudget]:
    """``budget(key, limit=, ...)``: a new ``PgRateBudget`` on its own connection."""
    made: list[PgRateBudget] = []

    def make(key: str = "key-a", *, limit: int = 10, **options: float) -> PgRateBudget:
        options.setdefault("window_s", LONG_WINDOW_S)
        made.append(PgRateBudget(fleet_url, key, limit=limit, **options))  # type: ignore[arg-type]
        return made[-1]

    yield make
    for each in made:
        each.close()


def _row(url: str, key: str) -> tuple[int, float] | None:
    with psycopg.connect(url) as db:
        row = db.execute(
            "SELECT used, blocked_until FROM gridmaker.rate_windows WHERE key_id = %s", (key,)
        ).fetchone()
    return None if row is None else (int(row[0]), float(row[1]))


def test_pg_budget_two_workers_on_one_key_spend_one_window(budget: MakeBudget) -> None:
    one, two = budget(), budget()

    one.spend(6, "GET a")
    two.spend(4, "GET b")

    assert one.used == two.used == 10
    with pytest.raises(RateLimited, match=r"weight 10\+1 would exceed 10") as refused:
        two.spend(1, "GET c")
    assert refused.value.retry_after_s > 0
    with pytest.raises(RateLimited):
        one.spend(1, "GET d")
    assert (one.spent, two.spent, one.refused, two.refused) == (6, 4, 1, 1)


def test_pg_budget_reserve_is_left_to_booting_grids_of_every_worker(budget: MakeBudget) -> None:
    one, two = budget(limit=100, reserve=0.25), budget(limit=100, reserve=0.25)

    one.spend(60, "GET poll")
    with pytest.raises(RateLimited, match=r"60\+20 would exceed 75 .*kept for grids that boot"):
        two.spend(20, "GET poll")
    with recovering():
        two.spend(40, "GET account")  # a booting grid on the other worker
        with pytest.raises(RateLimited, match=r"100\+1 would exceed 100"):
            one.spend(1, "GET boot")
    assert one.used == two.used == 100


def test_pg_budget_other_key_has_its_own_window(budget: MakeBudget, fleet_url: str) -> None:
    full, other = budget("key-a"), budget("key-b")
    full.spend(10)

    other.spend(10)

    assert _row(fleet_url, "key-a") == (10, 0.0)
    assert _row(fleet_url, "key-b") == (10, 0.0)


def test_pg_budget_racing_threads_never_exceed_the_limit(budget: MakeBudget) -> None:
    budgets = [budget(limit=50), budget(limit=50)]
    granted: list[int] = []
    lock = threading.Lock()

    def spend_all(b: PgRateBudget) -> None:
        for _ in range(40):
            try:
                b.spend(1)
            except RateLimited:
                continue
            with lock:
                granted.append(1)

    threads = [threading.Thread(target=spend_all, args=(b,)) for b in budgets for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert len(granted) == 50 == budgets[0].used
    assert budgets[0].refused + budgets[1].refused == 160 - 50


def test_pg_budget_429_seen_by_one_worker_blocks_the_other(budget: MakeBudget) -> None:
    one, two = budget(limit=100), budget(limit=100)
    one.spend(1)

    one.observe(429, {"Retry-After": "30", "X-MBX-USED-WEIGHT-1M": "40"})

    with pytest.raises(RateLimited, match="asked to wait") as refused:
        two.spend(1, "GET x")
    assert 25 < refused.value.retry_after_s <= 30
    assert 25 < two.retry_after_s() <= 30
    assert two.used == 40  # the venue's count, larger than ours
    assert two.effective_limit == 50  # everyone slows down after the 429
    assert (one.throttled, two.throttled, two.refused) == (1, 0, 1)


def test_pg_budget_418_bans_this_worker_and_blocks_the_others(budget: MakeBudget) -> None:
    one, two = budget(limit=100), budget(limit=100)

    one.observe(418, {"Retry-After": "120"})

    with pytest.raises(Banned, match="not sent"):
        one.spend(1)
    with pytest.raises(RateLimited, match="asked to wait") as refused:
        two.spend(1)
    assert 110 < refused.value.retry_after_s <= 120
    assert not two.banned  # the ban is the process's; the block is everyone's


def test_pg_budget_used_weight_header_never_lowers_the_count(budget: MakeBudget) -> None:
    one, two = budget(limit=100), budget(limit=100)
    one.spend(30)

    two.observe(200, {"x-mbx-used-weight-1m": "12"})
    assert one.used == 30
    two.observe(200, {"x-mbx-used-weight-1m": "55"})
    assert one.used == 55


def test_pg_budget_window_rolls_for_every_worker(budget: MakeBudget, fleet_url: str) -> None:
    window_s = 2.0
    one, two = budget(limit=3, window_s=window_s), budget(limit=3, window_s=window_s)

    def early_in_a_window() -> bool:
        with psycopg.connect(fleet_url) as db:
            row = db.execute("SELECT extract(epoch FROM clock_timestamp())::float8").fetchone()
        assert row is not None
        return float(row[0]) % window_s < 0.5

    eventually(early_in_a_window, timeout_s=10, what="the start of a window")
    one.spend(3)
    with pytest.raises(RateLimited) as refused:
        two.spend(1)
    assert 0 < refused.value.retry_after_s <= window_s

    def spends() -> bool:
        try:
            two.spend(1)
        except RateLimited:
            return False
        return True

    eventually(spends, timeout_s=10, what="the next window")
    assert one.used == 1


def _terminate_budget_connections(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as db:
        rows = db.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = %s AND datname = current_database()",
            (APPLICATION_NAME,),
        ).fetchall()
    return len(rows)


def test_pg_budget_database_error_fails_closed_then_recovers(
    budget: MakeBudget, fleet_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    b = budget(default_retry_after_s=0.2)
    b.spend(1)
    assert _terminate_budget_connections(fleet_url) == 1

    with caplog.at_level(logging.INFO, logger="gridmaker.fleet.rate"):
        with pytest.raises(RateLimited, match="unreachable") as refused:
            b.spend(1, "POST order")
        assert refused.value.retry_after_s == 0.2
        b.spend(1, "POST order")  # a new connection

    messages = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert [level for level, _ in messages] == [logging.WARNING, logging.INFO]
    assert "refused" in messages[0][1] and "answers again" in messages[1][1]
    assert b.used == 2 and b.spent == 2  # the refused spend took nothing


def test_pg_budget_unreachable_database_refuses_and_logs_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    b = PgRateBudget("postgresql://gm@127.0.0.1:1/none", "key-a", limit=10)
    try:
        with caplog.at_level(logging.INFO, logger="gridmaker.fleet.rate"):
            for _ in range(3):
                with pytest.raises(RateLimited, match="unreachable"):
                    b.spend(1)
            assert b.spent == 0 and b.refused == 3
            assert b.used == 0 and b.effective_limit == 10  # metrics still read, never raise
        assert len(caplog.records) == 1
    finally:
        b.close()


def test_install_shared_budgets_makes_shared_budget_use_postgresql(fleet_url: str) -> None:
    install_shared_budgets(fleet_url)
    try:
        made = shared_budget("binance", "secret-api-key", limit=1200)
        assert shared_budget("binance", "secret-api-key", limit=1200) is made
        assert isinstance(made, PgRateBudget)
        assert made.limit == 1200 and made.window_s == 60
        assert len(made.key_id) == 16 and "secret" not in made.key_id
        made.spend(5)
        assert _row(fleet_url, made.key_id) is not None
    finally:
        uninstall_shared_budgets()
    assert type(shared_budget("binance", "secret-api-key", limit=1200)) is RateBudget


def test_two_workers_adapters_spend_from_one_row(fleet_url: str) -> None:
    """Two workers' ``CcxtExchange``s on one key, against the HTTP simulator."""
    made: list[PgRateBudget] = []

    def factory(key_id: str, limit: int, window_s: float) -> RateBudget:
        made.append(PgRateBudget(fleet_url, key_id, limit=limit, window_s=LONG_WINDOW_S))
        return made[-1]

    def worker_venue(url: str) -> CcxtExchange:
        set_budget_factory(factory)  # a fresh process-wide cache: a second "worker"
        client = build_ccxt_client(
            "binance", api_key=SIM_API_KEY, api_secret=SIM_API_SECRET, base_url=url
        )
        return CcxtExchange(client)

    async def main() -> None:
        async with running_server() as (server, url):
            one, two = worker_venue(url), worker_venue(url)
            try:
                assert one.budget is not two.budget
                assert isinstance(one.budget, PgRateBudget)
                assert isinstance(two.budget, PgRateBudget)
                key = one.budget.key_id
                assert two.budget.key_id == key

                await one.fetch_open_orders(SYMBOL)
                after_one = _row(fleet_url, key)
                await two.fetch_open_orders(SYMBOL)
                after_two = _row(fleet_url, key)
                assert after_one is not None and after_two is not None
                assert after_one[0] >= one.budget.spent > 0
                assert after_two[0] >= after_one[0] + two.budget.spent  # the same row
                assert two.budget.spent > 0

                server.set_chaos(
                    FaultPlan.wire(rate=1.0, kinds=(FaultKind.RATE_LIMITED,), retry_after_s=30)
                )
                with pytest.raises(RateLimited):
                    await one.fetch_open_orders(SYMBOL)  # the venue's 429
                sent = server.stats.requests
                with pytest.raises(RateLimited, match="not sent"):
                    await two.fetch_open_orders(SYMBOL)  # the other worker waits too
                assert server.stats.requests == sent
            finally:
                await one.close()
                await two.close()

    try:
        asyncio.run(main())
    finally:
        set_budget_factory(None)
        for b in made:
            b.close()


def test_worker_adapter_refused_by_a_full_shared_window_sends_nothing(fleet_url: str) -> None:
    made: list[PgRateBudget] = []

    def factory(key_id: str, limit: int, window_s: float) -> RateBudget:
        made.append(PgRateBudget(fleet_url, key_id, limit=limit, window_s=LONG_WINDOW_S))
        return made[-1]

    async def main() -> None:
        async with running_server() as (server, url):
            set_budget_factory(factory)
            client = build_ccxt_client(
                "binance", api_key=SIM_API_KEY, api_secret=SIM_API_SECRET, base_url=url
            )
            venue = CcxtExchange(client)
            try:
                await venue.fetch_open_orders(SYMBOL)
                assert isinstance(venue.budget, PgRateBudget)
                other = PgRateBudget(
                    fleet_url, venue.budget.key_id, limit=venue.budget.limit, window_s=1e6
                )
                made.append(other)
                other.spend(venue.budget.limit - other.used)  # another worker takes the rest
                sent = server.stats.requests
                with pytest.raises(RateLimited, match="would exceed"):
                    await venue.fetch_open_orders(SYMBOL)
                assert server.stats.requests == sent
            finally:
                await venue.close()

    try:
        asyncio.run(main())
    finally:
        set_budget_factory(None)
        for b in made:
            b.close()
