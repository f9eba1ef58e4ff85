from __future__ import annotations

import asyncio

import pytest

from gridmaker.engine.retry import Retrier, RetryPolicy
from gridmaker.exchange.api import (
    Banned,
    MalformedResponse,
    NotFound,
    RateLimited,
    Rejected,
    Unavailable,
    UnknownOutcome,
)


class Flaky:
    """Fails with the given errors in turn, then answers."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def _retrier() -> tuple[Retrier, list[float]]:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    return Retrier(RetryPolicy(attempts=4, base_delay_s=0.1, jitter=0.5), sleep=sleep), slept


def test_read_retries_transient_errors_then_answers() -> None:
    retrier, slept = _retrier()
    call = Flaky(Unavailable("503"), MalformedResponse("junk"), UnknownOutcome("timeout"))
    assert asyncio.run(retrier.read("x", call)) == "ok"
    assert call.calls == 4 and len(slept) == 3


def test_backoff_grows_and_honours_retry_after() -> None:
    retrier, slept = _retrier()
    call = Flaky(Unavailable("503"), Unavailable("503"), RateLimited("429", retry_after_s=7.0))
    asyncio.run(retrier.read("x", call))
    assert 0.05 <= slept[0] <= 0.1 and 0.1 <= slept[1] <= 0.2
    assert slept[2] == 7.0
    assert retrier.rate_limited == 1


def test_write_is_not_retried_when_it_may_have_executed() -> None:
    retrier, _ = _retrier()
    for error in (UnknownOutcome("timeout"), MalformedResponse("junk")):
        call = Flaky(error)
        with pytest.raises(type(error)):
            asyncio.run(retrier.write("place", call))
        assert call.calls == 1


def test_write_is_retried_when_it_certainly_did_not_execute() -> None:
    retrier, _ = _retrier()
    call = Flaky(RateLimited("429", retry_after_s=0.0), Unavailable("503"))
    assert asyncio.run(retrier.write("place", call)) == "ok"
    assert call.calls == 3


@pytest.mark.parametrize("error", [Banned("418"), NotFound("gone"), Rejected("no", reason="x")])
def test_answers_are_never_retried(error: Exception) -> None:
    retrier, _ = _retrier()
    call = Flaky(error)
    with pytest.raises(type(error)):
        asyncio.run(retrier.read("x", call))
    assert call.calls == 1


def test_read_gives_up_after_the_policy_attempts() -> None:
    retrier, slept = _retrier()
    call = Flaky(*[Unavailable("503")] * 10)
    with pytest.raises(Unavailable):
        asyncio.run(retrier.read("x", call))
    assert call.calls == 4 and len(slept) == 3
