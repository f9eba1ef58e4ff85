"""``RateBudget``: one weight-aware request budget per venue API key, shared in the process.

Venues such as Binance count a *weight* per request in a fixed one-minute window per IP/key and
answer 429 (with ``Retry-After``) when it is exceeded, then 418 (an IP ban) when the client keeps
going. ccxt's own limiter is per client instance, ignores the used-weight headers and
``Retry-After`` and never slows down; this budget does all of that, for every client that shares
a key:

- ``spend(weight)`` before a request: raises ``RateLimited(retry_after_s)`` when the window is
  spent or a ``Retry-After`` is pending, ``Banned`` after a 418. It never sleeps: the engine's
  retry policy waits (the adapter neither retries nor sleeps).
- ``observe(status, headers)`` after every response: the venue's used-weight header corrects our
  count (we take the larger), a 429 blocks until its ``Retry-After`` and halves the budget for
  the next window (slow down), a 418 bans the key until the process restarts (the caller trips
  the breaker).

A budget may keep a ``reserve``: a share of the limit that reads (fill polls, audits) stop
short of and that only requests made inside ``recovering()`` may use: the adapter's orders and
cancels, and a fleet grid's first boot under a new lease. A fleet keeps one so that a grid taken
over from a dead worker can sync at once, even while the other grids on the key have filled the
window with their polling.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar

from gridmaker.exchange.api import Banned, RateLimited

__all__ = [
    "BudgetFactory",
    "RateBudget",
    "parse_retry_after",
    "recovering",
    "set_budget_factory",
    "shared_budget",
]


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """``Retry-After`` in seconds (fractions allowed), or ``None`` when absent or unreadable."""
    raw = _header(headers, "Retry-After")
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


_RECOVERING: ContextVar[bool] = ContextVar("gridmaker_rate_recovering", default=False)


@contextmanager
def recovering() -> Iterator[None]:
    """Requests made inside (this task and the tasks it starts) may spend a budget's reserve:
    a boot's sync must not queue behind the routine polling of every other grid on the key."""
    token = _RECOVERING.set(True)
    try:
        yield
    finally:
        _RECOVERING.reset(token)


class RateBudget:
    """The weight spent in the current window of one API key; thread-safe, never sleeps.

    ``limit`` is the venue's weight per ``window_s``; ``used_weight_header`` the response header
    that reports the venue's own count (``None`` when the venue sends none); ``reserve`` the
    share of the limit kept for requests made inside ``recovering()``.
    """

    def __init__(
        self,
        *,
        limit: int,
        window_s: float = 60.0,
        used_weight_header: str | None = "X-MBX-USED-WEIGHT-1M",
        default_retry_after_s: float = 1.0,
        slowdown: float = 0.5,
        reserve: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1:
            raise ValueError(f"rate limit must be >= 1, was {limit}")
        if window_s <= 0:
            raise ValueError(f"window_s must be > 0, was {window_s}")
        if not 0 < slowdown <= 1:
            raise ValueError(f"slowdown must be in (0, 1], was {slowdown}")
        if not 0 <= reserve < 1:
            raise ValueError(f"reserve must be in [0, 1), was {reserve}")
        self.limit = limit
        self.reserve = reserve
        self.window_s = window_s
        self.used_weight_header = used_weight_header
        self.default_retry_after_s = default_retry_after_s
        self.slowdown = slowdown
        self._clock = clock
        self._lock = threading.Lock()
        self._window = self._window_of(clock())
        self._used = 0
        self._blocked_until = 0.0
        self._slow_until = 0.0
        self.banned = ""
        """Why the key is banned ("" = it is not)."""
        self.spent = 0
        self.refused = 0
        self.throttled = 0

    def _window_of(self, now: float) -> int:
        return math.floor(now / self.window_s)

    def _roll(self, now: float) -> None:
        window = self._window_of(now)
        if window != self._window:
            self._window = window
            self._used = 0

    @property
    def effective_limit(self) -> int:
        """The limit in force: reduced by ``slowdown`` for one window after a 429."""
        if self._clock() < self._slow_until:
            return max(1, int(self.limit * self.slowdown))
        return self.limit

    def lane_limit(self, limit: int) -> int:
        """``limit`` for a request made inside ``recovering()``; less the reserve otherwise."""
        if self.reserve == 0 or _RECOVERING.get():
            return limit
        return max(1, int(limit * (1 - self.reserve)))

    @property
    def used(self) -> int:
        with self._lock:
            self._roll(self._clock())
            return self._used

    def spend(self, weight: int, what: str = "", *, symbol: str = "") -> None:
        """Take ``weight`` from the window; raises ``Banned`` or ``RateLimited`` instead."""
        with self._lock:
            now = self._clock()
            self._roll(now)
            if self.banned:
                raise Banned(f"{what}: not sent, {self.banned}", symbol=symbol)
            if now < self._blocked_until:
                self.refused += 1
                wait = self._blocked_until - now
                raise RateLimited(
                    f"{what}: not sent, the venue asked to wait {wait:.3f} s",
                    retry_after_s=wait,
                    symbol=symbol,
                )
            limit = self.lane_limit(self.effective_limit)
            if self._used + weight > limit and self._used > 0:
                self.refused += 1
                wait = (self._window + 1) * self.window_s - now
                raise RateLimited(
                    f"{what}: not sent, weight {self._used}+{weight} would exceed {limit} "
                    f"per {self.window_s:g} s",
                    retry_after_s=max(wait, 0.0),
                    symbol=symbol,
                )
            self._used += weight
            self.spent += weight

    def observe(self, status: int, headers: Mapping[str, str]) -> None:
        """Learn from one response: the venue's weight count, a 429's wait, a 418's ban."""
        with self._lock:
            now = self._clock()
            self._roll(now)
            if self.used_weight_header is not None:
                raw = _header(headers, self.used_weight_header)
                if raw is not None and raw.strip().isascii() and raw.strip().isdecimal():
                    self._used = max(self._used, int(raw))
            if status in (418, 429):
                retry_after = parse_retry_after(headers)
                wait = self.default_retry_after_s if retry_after is None else retry_after
                self._blocked_until = max(self._blocked_until, now + wait)
                self._slow_until = now + wait + self.window_s
                self.throttled += 1
            if status == 418:
                self.banned = "the venue banned this key/IP (HTTP 418)"

    def retry_after_s(self) -> float:
        """Seconds until the pending ``Retry-After`` ends (0 when none)."""
        with self._lock:
            return max(0.0, self._blocked_until - self._clock())


_SHARED: dict[str, RateBudget] = {}
_SHARED_LOCK = threading.Lock()

BudgetFactory = Callable[[str, int, float], RateBudget]
"""Makes the budget of one key: ``(key_id, limit, window_s)``; ``key_id`` is the key's digest."""

_FACTORY: list[BudgetFactory] = []


def set_budget_factory(factory: BudgetFactory | None) -> None:
    """Make ``shared_budget`` build its budgets with ``factory`` (``None``: in-process again).

    A fleet worker installs budgets kept in PostgreSQL (``gridmaker.fleet.rate_budget``) so
    every worker on the same key spends from one window; this layer cannot import that one.
    The budgets made so far are forgotten: clients made after the call get the new kind.
    """
    with _SHARED_LOCK:
        _FACTORY[:] = [] if factory is None else [factory]
        _SHARED.clear()


def shared_budget(venue: str, api_key: str, *, limit: int, window_s: float = 60.0) -> RateBudget:
    """The process-wide budget of (venue, API key): every client with that key spends from it.

    The key is identified by a hash, never kept in clear.
    """
    digest = hashlib.sha256(f"{venue}\0{api_key}".encode()).hexdigest()[:16]
    with _SHARED_LOCK:
        budget = _SHARED.get(digest)
        if budget is None:
            if _FACTORY:
                budget = _FACTORY[0](digest, limit, window_s)
            else:
                budget = RateBudget(limit=limit, window_s=window_s)
            _SHARED[digest] = budget
        return budget
