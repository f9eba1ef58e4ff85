"""``FaultyExchange``: any ``Exchange`` with faults injected from a seeded, printable plan.

Each call draws (from the plan's own seeded generator) whether it fails and how:

- ``rate_limited``   429: refused before executing, with ``retry_after_s``
- ``banned``         418: refused; trading must stop (never drawn unless listed)
- ``unavailable``    5xx / connection refused: not executed
- ``timeout_before`` the request timed out before the venue executed it (``UnknownOutcome``)
- ``timeout_after``  the venue executed it and the answer was lost (``UnknownOutcome``)
- ``delay``          the answer comes late but intact
- ``malformed``      a 200 whose body makes no sense: for reads a body that fails validation
                     (``MalformedResponse`` or nonsensical values), for writes after executing
- ``invisible``      a placement executes, but lookups by client id miss it for the next
                     ``invisible_lookups`` calls (eventual consistency)

With ``every=N`` the first listed kind hits every N-th call instead, for deterministic tests.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum
from typing import TypeVar

from gridmaker.core.units import Instrument
from gridmaker.exchange.api import (
    Balance,
    Banned,
    Exchange,
    ExchangeOrder,
    FillPage,
    LookupGrace,
    MalformedResponse,
    NotFound,
    OrderRequest,
    RateLimited,
    Unavailable,
    UnknownOutcome,
)

__all__ = ["FaultKind", "FaultPlan", "FaultyExchange"]

T = TypeVar("T")


class FaultKind(StrEnum):
    RATE_LIMITED = "rate_limited"
    BANNED = "banned"
    UNAVAILABLE = "unavailable"
    TIMEOUT_BEFORE = "timeout_before"
    TIMEOUT_AFTER = "timeout_after"
    DELAY = "delay"
    MALFORMED = "malformed"
    INVISIBLE = "invisible"


DEFAULT_KINDS = tuple(k for k in FaultKind if k is not FaultKind.BANNED)


@dataclass(frozen=True, slots=True, kw_only=True)
class FaultPlan:
    """Which calls fail and how; the same plan and the same calls give the same faults."""

    seed: int = 0
    rate: float = 0.0
    """Probability that a call is faulted (a test knob, not money)."""
    kinds: tuple[FaultKind, ...] = DEFAULT_KINDS
    every: int = 0
    retry_after_s: float = 0.005
    delay_s: float = 0.002
    invisible_lookups: int = 2

    def __post_init__(self) -> None:
        if not 0 <= self.rate <= 1:
            raise ValueError(f"fault rate must be in [0, 1], was {self.rate}")
        if self.every < 0:
            raise ValueError(f"every must be >= 0, was {self.every}")
        if not self.kinds:
            raise ValueError("a fault plan needs at least one kind")

    def describe(self) -> str:
        kinds = ",".join(k.value for k in self.kinds)
        how = f"every {self.every}th call" if self.every else f"rate {self.rate}"
        return f"faults: {how}, kinds {kinds}, seed {self.seed}"


class FaultyExchange:
    """Wraps ``inner``; counts the faults it injected per kind in ``injected``."""

    def __init__(self, inner: Exchange, plan: FaultPlan) -> None:
        self.lookup_grace_s = float(inner.lookup_grace_s) if isinstance(inner, LookupGrace) else 0.0
        self.inner = inner
        self.plan = plan
        self.injected: Counter[FaultKind] = Counter()
        self.calls = 0
        self._rng = random.Random(plan.seed)
        self._invisible: dict[str, int] = {}

    def _draw(self, is_write: bool) -> FaultKind | None:
        self.calls += 1
        plan = self.plan
        if plan.every:
            kind = plan.kinds[0] if self.calls % plan.every == 0 else None
        elif self._rng.random() < plan.rate:
            kind = self._rng.choice(plan.kinds)
        else:
            kind = None
        if kind is FaultKind.INVISIBLE and not is_write:
            kind = None  # only a placement can be made invisible
        if kind is not None:
            self.injected[kind] += 1
        return kind

    async def _call(
        self, what: str, call: Callable[[], Awaitable[T]], *, is_write: bool, symbol: str = ""
    ) -> tuple[T, FaultKind | None]:
        """Run ``call`` under one drawn fault; returns the result and the fault still to apply."""
        kind = self._draw(is_write)
        plan = self.plan
        if kind is FaultKind.RATE_LIMITED:
            raise RateLimited(f"429 on {what}", retry_after_s=plan.retry_after_s, symbol=symbol)
        if kind is FaultKind.BANNED:
            raise Banned(f"418 on {what}: IP banned", symbol=symbol)
        if kind is FaultKind.UNAVAILABLE:
            raise Unavailable(f"503 on {what}", symbol=symbol)
        if kind is FaultKind.TIMEOUT_BEFORE:
            raise UnknownOutcome(f"timeout on {what} (not executed)", symbol=symbol)
        if kind is FaultKind.DELAY:
            await asyncio.sleep(plan.delay_s)
        result = await call()
        if kind is FaultKind.TIMEOUT_AFTER:
            raise UnknownOutcome(f"timeout on {what} (executed, answer lost)", symbol=symbol)
        if kind is FaultKind.MALFORMED and (is_write or self._rng.random() < 0.5):
            raise MalformedResponse(f"200 with a junk body on {what}", symbol=symbol)
        return result, kind

    # --- reads ---------------------------------------------------------------------------------

    async def fetch_instrument(self, symbol: str) -> Instrument:
        result, _ = await self._call(
            "instrument", lambda: self.inner.fetch_instrument(symbol), is_write=False
        )
        return result

    async def fetch_balances(self) -> Mapping[str, Balance]:
        result, _ = await self._call("balances", self.inner.fetch_balances, is_write=False)
        return result

    async def fetch_last_price(self, symbol: str) -> Decimal | None:
        result, _ = await self._call(
            "last price", lambda: self.inner.fetch_last_price(symbol), is_write=False
        )
        return result

    async def fetch_open_orders(self, symbol: str) -> Sequence[ExchangeOrder]:
        result, kind = await self._call(
            "open orders", lambda: self.inner.fetch_open_orders(symbol), is_write=False
        )
        if kind is FaultKind.MALFORMED and result:
            # Nonsense that parses: an order with a negative filled amount.
            return [replace(result[0], filled=Decimal(-1)), *result[1:]]
        return result

    async def fetch_order(self, symbol: str, client_order_id: str) -> ExchangeOrder:
        left = self._invisible.get(client_order_id, 0)
        if left > 0:
            self._invisible[client_order_id] = left - 1
            self.injected[FaultKind.INVISIBLE] += 1
            raise NotFound("no such order (not visible yet)", symbol=symbol)
        result, kind = await self._call(
            "order lookup",
            lambda: self.inner.fetch_order(symbol, client_order_id),
            is_write=False,
        )
        if kind is FaultKind.MALFORMED:
            return replace(result, filled=Decimal("-1"))
        return result

    async def fetch_fills(self, symbol: str, cursor: str, limit: int = 500) -> FillPage:
        result, kind = await self._call(
            "fills", lambda: self.inner.fetch_fills(symbol, cursor, limit), is_write=False
        )
        if kind is FaultKind.MALFORMED and result.fills:
            junk = replace(result.fills[0], amount=Decimal(0))
            return replace(result, fills=(junk, *result.fills[1:]))
        return result

    # --- writes --------------------------------------------------------------------------------

    async def place_order(self, request: OrderRequest) -> ExchangeOrder:
        result, kind = await self._call(
            "place", lambda: self.inner.place_order(request), is_write=True, symbol=request.symbol
        )
        if kind is FaultKind.INVISIBLE:
            self._invisible[request.client_order_id] = self.plan.invisible_lookups
        return result

    async def cancel_order(self, symbol: str, client_order_id: str) -> ExchangeOrder:
        result, _ = await self._call(
            "cancel",
            lambda: self.inner.cancel_order(symbol, client_order_id),
            is_write=True,
            symbol=symbol,
        )
        return result

    async def close(self) -> None:
        await self.inner.close()
