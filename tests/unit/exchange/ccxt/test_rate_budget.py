from __future__ import annotations

import pytest

from gridmaker.exchange.api import Banned, RateLimited
from gridmaker.exchange.binance_weights import endpoint_weight
from gridmaker.exchange.ccxt.rate_budget import RateBudget, recovering, shared_budget


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_budget_spends_endpoint_weights_and_refuses_past_the_limit() -> None:
    clock = Clock()
    budget = RateBudget(limit=50, window_s=60, clock=clock)

    budget.spend(endpoint_weight("GET", "account"))
    budget.spend(endpoint_weight("GET", "myTrades"))
    with pytest.raises(RateLimited) as refused:
        budget.spend(endpoint_weight("GET", "openOrders") + 10)

    assert budget.used == 40
    assert refused.value.retry_after_s == pytest.approx(20.0)  # until the window at 1020 s
    clock.now = 1020.0
    budget.spend(30)
    assert budget.used == 30


def test_budget_takes_the_venues_count_when_higher() -> None:
    budget = RateBudget(limit=100, clock=Clock())
    budget.spend(5)

    budget.observe(200, {"x-mbx-used-weight-1m": "97"})
    budget.observe(200, {"X-MBX-USED-WEIGHT-1M": "3"})

    assert budget.used == 97
    with pytest.raises(RateLimited):
        budget.spend(4)


def test_budget_honours_retry_after_then_slows_down() -> None:
    clock = Clock()
    budget = RateBudget(limit=100, clock=clock)

    budget.observe(429, {"Retry-After": "2"})
    with pytest.raises(RateLimited) as waiting:
        budget.spend(1)
    clock.now += 2.0
    budget.spend(1)

    assert waiting.value.retry_after_s == pytest.approx(2.0)
    assert budget.effective_limit == 50
    clock.now += 61.0
    assert budget.effective_limit == 100


def test_budget_418_is_a_ban_until_restart() -> None:
    clock = Clock()
    budget = RateBudget(limit=100, clock=clock)

    budget.observe(418, {"Retry-After": "120"})
    clock.now += 3600

    with pytest.raises(Banned):
        budget.spend(1)


def test_shared_budget_is_one_per_venue_and_key() -> None:
    a = shared_budget("binance", "key-a", limit=10)
    again = shared_budget("binance", "key-a", limit=10)
    other = shared_budget("binance", "key-b", limit=10)

    assert a is again and a is not other


def test_budget_ignores_a_weight_header_that_is_not_a_plain_number() -> None:
    # Arrange: digits Python calls digits but int() refuses ("²"), and non-ASCII digits.
    budget = RateBudget(limit=100, clock=Clock())

    # Act
    budget.observe(200, {"X-MBX-USED-WEIGHT-1M": "²"})
    budget.observe(200, {"X-MBX-USED-WEIGHT-1M": "٣"})

    # Assert: junk from the venue is not a bug of ours; the count is unchanged.
    assert budget.used == 0


def test_budget_reserve_is_left_to_requests_made_while_recovering() -> None:
    budget = RateBudget(limit=100, reserve=0.25, clock=Clock())

    budget.spend(70, "GET routine")
    with pytest.raises(RateLimited, match=r"70\+10 would exceed 75"):
        budget.spend(10, "GET routine")
    with recovering():
        budget.spend(30, "GET boot")  # up to the whole limit
        with pytest.raises(RateLimited, match=r"100\+1 would exceed 100"):
            budget.spend(1, "GET boot")
    assert budget.used == 100


def test_budget_recovering_lane_ends_with_its_block_and_reaches_tasks_it_starts() -> None:
    import asyncio

    budget = RateBudget(limit=100, reserve=0.5, clock=Clock())
    budget.spend(50)

    async def spend_in_a_task() -> None:
        budget.spend(20)

    async def boot() -> None:
        with recovering():
            await asyncio.create_task(spend_in_a_task())  # a task it starts
            await asyncio.to_thread(budget.spend, 20)  # a thread it starts

    asyncio.run(boot())
    assert budget.used == 90
    with pytest.raises(RateLimited):
        budget.spend(1)  # routine again: still past its half


def test_budget_reserve_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ValueError, match="reserve"):
        RateBudget(limit=10, reserve=1.0)
