"""One retry policy for every venue call, driven by the error taxonomy.

Reads are retried on anything transient (rate limit, 5xx, timeout, malformed body). Writes are
retried only when the venue certainly did not execute them (rate limit, 5xx before sending);
an ambiguous write is never retried here: the caller marks the order UNKNOWN and looks it up by
client id. A ban, a rejection and "not found" are answers, not failures: never retried.
Backoff is exponential with jitter and honours ``retry_after``.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from gridmaker.exchange.api import (
    MalformedResponse,
    RateLimited,
    Unavailable,
    UnknownOutcome,
)

__all__ = ["Retrier", "RetryPolicy"]

T = TypeVar("T")
log = logging.getLogger("gridmaker.engine")

_READ_RETRYABLE = (RateLimited, Unavailable, UnknownOutcome, MalformedResponse)
_WRITE_RETRYABLE = (RateLimited, Unavailable)


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    attempts: int = 10
    base_delay_s: float = 0.02
    max_delay_s: float = 5.0
    jitter: float = 0.5
    """Each delay is scaled by a random factor in [1 - jitter, 1]."""


class Retrier:
    """Carries out venue calls under a ``RetryPolicy``; counts what it retried."""

    def __init__(
        self,
        policy: RetryPolicy | None = None,
        *,
        seed: int = 0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.policy = policy or RetryPolicy()
        self._rng = random.Random(seed)
        self._sleep = sleep
        self.retries = 0
        self.rate_limited = 0
        self.errors: Counter[str] = Counter()
        """Transient errors met, retried or not, by kind (the exception's class name)."""

    async def read(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        return await self._run(what, call, _READ_RETRYABLE)

    async def write(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        return await self._run(what, call, _WRITE_RETRYABLE)

    async def _run(
        self,
        what: str,
        call: Callable[[], Awaitable[T]],
        retryable: tuple[type[Exception], ...],
    ) -> T:
        policy = self.policy
        for attempt in range(1, policy.attempts + 1):
            try:
                return await call()
            except retryable as e:
                self.errors[type(e).__name__] += 1
                if attempt == policy.attempts:
                    raise
                delay = min(policy.max_delay_s, policy.base_delay_s * 2 ** (attempt - 1))
                delay *= 1 - policy.jitter * self._rng.random()
                if isinstance(e, RateLimited):
                    self.rate_limited += 1
                    delay = max(delay, e.retry_after_s)
                self.retries += 1
                log.info("retrying %s attempt=%d delay_s=%.3f error=%s", what, attempt, delay, e)
                await self._sleep(delay)
        raise AssertionError("unreachable: the last attempt returns or raises")
