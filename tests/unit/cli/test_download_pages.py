"""``with_retries``: paced by the weight budget, patient with a throttled or flaky venue, and
stopping at once for a ban or a refusal."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import ccxt.async_support as accxt  # type: ignore[import-untyped]
import pytest

from gridmaker.cli.download_pages import MalformedPage, VenueRefused, plain_decimal, with_retries
from gridmaker.exchange.ccxt import RateBudget
from gridmaker.exchange.ccxt.errors import Throttled


class _Clock:
    """Time that passes only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _answers(*outcomes: Any) -> tuple[Callable[[], Awaitable[Any]], list[int]]:
    """A call that raises or returns each outcome in turn; the list counts the calls."""
    calls: list[int] = []

    async def call() -> Any:
        calls.append(1)
        outcome = outcomes[min(len(calls), len(outcomes)) - 1]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    return call, calls


def _run(call: Callable[[], Awaitable[Any]], clock: _Clock, **kwargs: Any) -> Any:
    return asyncio.run(with_retries(call, what="page", sleep=clock.sleep, **kwargs))


def test_with_retries_waits_for_the_next_window_when_the_budget_is_spent() -> None:
    clock = _Clock()
    budget = RateBudget(limit=10, window_s=60, clock=clock)
    call, calls = _answers("page")

    for _ in range(3):  # 4 + 4 fit in a window of 10; the third waits for the next one
        assert _run(call, clock, budget=budget, weight=4) == "page"

    assert len(calls) == 3
    assert clock.now == pytest.approx(60.0)


def test_with_retries_waits_out_a_429_retry_after_then_succeeds() -> None:
    clock = _Clock()
    call, calls = _answers(Throttled("429", status=429, retry_after_s=7.0), "page")

    assert _run(call, clock) == "page"
    assert (len(calls), clock.sleeps) == (2, [7.0])


def test_with_retries_stops_at_once_on_a_418_ban() -> None:
    clock = _Clock()
    call, calls = _answers(Throttled("418", status=418, retry_after_s=120.0), "page")

    with pytest.raises(VenueRefused, match="banned"):
        _run(call, clock)
    assert len(calls) == 1


def test_with_retries_stops_at_once_on_a_refusal_but_retries_junk_and_the_network() -> None:
    clock = _Clock()
    refused, refused_calls = _answers(accxt.BadRequest("-1121 Invalid symbol."))
    flaky, flaky_calls = _answers(
        MalformedPage("html"), accxt.RequestTimeout("slow"), accxt.ExchangeNotAvailable("502"), [1]
    )

    with pytest.raises(VenueRefused, match="BadRequest"):
        _run(refused, clock)
    assert _run(flaky, clock) == [1]
    assert (len(refused_calls), len(flaky_calls)) == (1, 4)
    assert clock.sleeps == [0.2, 0.4, 0.8]


def test_with_retries_gives_up_after_its_attempts() -> None:
    clock = _Clock()
    call, calls = _answers(accxt.NetworkError("down"))

    with pytest.raises(VenueRefused, match="failed 3 times"):
        _run(call, clock, attempts=3)
    assert len(calls) == 3


@pytest.mark.parametrize("text", ["1E+2", "NaN", "-1", "abc", 1.5, None])
def test_plain_decimal_refuses_what_is_not_a_plain_amount(text: object) -> None:
    if text == "1E+2":
        assert plain_decimal(text, "price") == "100"
        return
    with pytest.raises(MalformedPage, match="price"):
        plain_decimal(text, "price")
