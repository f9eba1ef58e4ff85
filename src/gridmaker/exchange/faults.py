"""One fault vocabulary for both kinds of chaos, and ``FaultyExchange``, which injects it.

A ``FaultPlan`` says which calls fail and how; ``FaultDraws`` draws its faults call after call
from the plan's own seeded generator, so the same plan and the same calls give the same faults.
The same plan type drives ``FaultyExchange`` (in process, between the bot and any ``Exchange``:
the config's ``chaos:``) and the HTTP simulator's chaos on the wire (``sim-exchange --chaos``).

Each kind has its config name (``value``) and, when the wire can carry it, its wire name
(``sim-exchange --chaos-kinds``, ``POST /__sim/chaos``):

- ``rate_limited``    ``429``   refused before executing, with ``retry_after_s``
- ``banned``          ``418``   refused; trading must stop (never drawn unless listed)
- ``unavailable``     ``5xx``   5xx / connection refused: not executed
- ``timeout_before``  (process) the request timed out before the venue executed it
- ``timeout_after``   ``lost``  the venue executed it and the answer was lost
- ``delay``           ``delay`` the answer comes late but intact
- ``malformed``       ``junk``  a 200 whose body makes no sense: for reads a body that fails
                                validation (or nonsensical values), for writes after executing
- ``invisible``       (process) a placement executes, but lookups by client id miss it for the
                                next ``invisible_lookups`` calls (eventual consistency)
- ``gateway_timeout`` ``504``   (wire only) a write is executed, then the gateway answers 504
- ``unknown_status``  ``-1007`` (wire only) "execution status unknown"; a write executes half
                                of the time (a read gets ``5xx`` instead)

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
from typing import Final, TypeVar

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

__all__ = [
    "DEFAULT_KINDS",
    "WIRE_DEFAULT_KINDS",
    "WIRE_KINDS",
    "FaultDraws",
    "FaultKind",
    "FaultPlan",
    "FaultyExchange",
]

T = TypeVar("T")
_S = TypeVar("_S")


class FaultKind(StrEnum):
    """A fault, by its config name; ``wire`` is its name on the HTTP simulator's wire."""

    RATE_LIMITED = "rate_limited"
    BANNED = "banned"
    UNAVAILABLE = "unavailable"
    TIMEOUT_BEFORE = "timeout_before"
    TIMEOUT_AFTER = "timeout_after"
    DELAY = "delay"
    MALFORMED = "malformed"
    INVISIBLE = "invisible"
    GATEWAY_TIMEOUT = "gateway_timeout"
    UNKNOWN_STATUS = "unknown_status"

    @property
    def wire(self) -> str | None:
        """The name ``--chaos-kinds`` and ``/__sim/chaos`` use; ``None``: process only."""
        return _WIRE_NAMES.get(self)

    @property
    def in_process(self) -> bool:
        """Whether ``FaultyExchange`` can inject it (the config's ``chaos: kinds``)."""
        return self not in _WIRE_ONLY

    @classmethod
    def from_wire(cls, name: str) -> FaultKind:
        """The kind whose wire name is ``name``; ``ValueError`` for any other."""
        for kind, wire in _WIRE_NAMES.items():
            if wire == name:
                return kind
        raise ValueError(f"{name!r} is not a wire fault kind")


_WIRE_NAMES: Final = {
    FaultKind.RATE_LIMITED: "429",
    FaultKind.BANNED: "418",
    FaultKind.UNAVAILABLE: "5xx",
    FaultKind.GATEWAY_TIMEOUT: "504",
    FaultKind.UNKNOWN_STATUS: "-1007",
    FaultKind.TIMEOUT_AFTER: "lost",
    FaultKind.DELAY: "delay",
    FaultKind.MALFORMED: "junk",
}
_WIRE_ONLY: Final = frozenset({FaultKind.GATEWAY_TIMEOUT, FaultKind.UNKNOWN_STATUS})

WIRE_KINDS: Final = tuple(_WIRE_NAMES)
"""Every kind the wire carries, in the order ``--chaos-kinds`` lists them."""
DEFAULT_KINDS: Final = tuple(k for k in FaultKind if k.in_process and k is not FaultKind.BANNED)
"""What ``FaultyExchange`` draws from unless told: everything but a ban."""
WIRE_DEFAULT_KINDS: Final = tuple(k for k in WIRE_KINDS if k is not FaultKind.BANNED)
"""What the HTTP simulator draws from unless told: everything but a ban."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FaultPlan:
    """Which calls fail and how; the same plan and the same calls give the same faults.

    ``on_wire``: a plan for the HTTP simulator (``FaultPlan.wire`` makes one, with the wire's
    defaults); else for ``FaultyExchange``. Its kinds must be ones that place can inject.
    """

    seed: int = 0
    rate: float = 0.0
    """Probability that a call is faulted (a test knob, not money)."""
    kinds: tuple[FaultKind, ...] = DEFAULT_KINDS
    every: int = 0
    retry_after_s: float = 0.005
    delay_s: float = 0.002
    invisible_lookups: int = 2
    on_wire: bool = False

    @classmethod
    def wire(
        cls,
        *,
        seed: int = 0,
        rate: float = 0.0,
        kinds: tuple[FaultKind, ...] = WIRE_DEFAULT_KINDS,
        retry_after_s: float = 0.02,
        delay_s: float = 0.01,
    ) -> FaultPlan:
        """A plan for the HTTP simulator's ``/api/`` requests (its answers are slower)."""
        return cls(
            seed=seed,
            rate=rate,
            kinds=kinds,
            retry_after_s=retry_after_s,
            delay_s=delay_s,
            on_wire=True,
        )

    def __post_init__(self) -> None:
        what = "chaos" if self.on_wire else "fault"
        if not 0 <= self.rate <= 1:
            raise ValueError(f"{what} rate must be in [0, 1], was {self.rate}")
        if self.every < 0:
            raise ValueError(f"every must be >= 0, was {self.every}")
        if not self.kinds:
            raise ValueError(f"a {what} plan needs at least one kind")
        for kind in self.kinds:
            if not (kind.wire is not None if self.on_wire else kind.in_process):
                where = "on the wire" if self.on_wire else "in process"
                raise ValueError(f"fault kind {kind.value} cannot be injected {where}")

    def describe(self) -> str:
        if self.on_wire:
            kinds = ",".join(str(k.wire) for k in self.kinds)
            how = f"every {self.every}th request" if self.every else f"rate {self.rate}"
            return f"chaos: {how}, kinds {kinds}, seed {self.seed}"
        kinds = ",".join(k.value for k in self.kinds)
        how = f"every {self.every}th call" if self.every else f"rate {self.rate}"
        return f"faults: {how}, kinds {kinds}, seed {self.seed}"


class FaultDraws:
    """The faults a plan gives, call after call, from the plan's own seeded generator."""

    def __init__(self, plan: FaultPlan) -> None:
        self.plan = plan
        self.calls = 0
        self._rng = random.Random(plan.seed)

    def next(self, *, is_write: bool) -> FaultKind | None:
        """The fault for the next call, or ``None``; a kind a read cannot have is narrowed."""
        self.calls += 1
        plan = self.plan
        if plan.every:
            kind = plan.kinds[0] if self.calls % plan.every == 0 else None
        elif plan.rate > 0 and self._rng.random() < plan.rate:
            kind = self._rng.choice(plan.kinds)
        else:
            kind = None
        if is_write or kind is None:
            return kind
        if kind is FaultKind.INVISIBLE:
            return None  # only a placement can be made invisible
        if kind is FaultKind.UNKNOWN_STATUS:
            return FaultKind.UNAVAILABLE  # a read has no execution status to be unsure of
        return kind

    def chance(self, p: float) -> bool:
        """True with probability ``p``, from the same generator (a fault's own coin)."""
        return self._rng.random() < p

    def pick(self, options: Sequence[_S]) -> _S:
        return self._rng.choice(options)


class FaultyExchange:
    """Wraps ``inner``; counts the faults it injected per kind in ``injected``."""

    def __init__(self, inner: Exchange, plan: FaultPlan) -> None:
        if plan.on_wire:
            raise ValueError("FaultyExchange injects in process: a wire plan is the simulator's")
        self.lookup_grace_s = float(inner.lookup_grace_s) if isinstance(inner, LookupGrace) else 0.0
        self.inner = inner
        self.plan = plan
        self.injected: Counter[FaultKind] = Counter()
        self._draws = FaultDraws(plan)
        self._invisible: dict[str, int] = {}

    @property
    def calls(self) -> int:
        return self._draws.calls

    def _draw(self, is_write: bool) -> FaultKind | None:
        kind = self._draws.next(is_write=is_write)
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
        if kind is FaultKind.MALFORMED and (is_write or self._draws.chance(0.5)):
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
