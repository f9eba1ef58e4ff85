"""A seeded random walk of public trades, in integer ticks, for simulation and tests.

The walk never holds a price as a float: the only float is the Gaussian draw ``z``, which is
converted exactly to ``Decimal`` and combined under a fixed 60-digit context, then rounded half-even
to a whole number of ticks::

    p[0]   = start_price / tick_size
    p[t+1] = max(1, p[t] + round(p[t] * (drift + volatility * z) + reversion * (p[0] - p[t])))

Trade ``i`` is at ``p[i]`` ticks with a uniformly drawn whole number of steps between
``min_amount`` and ``max_amount``, at ``start_ts + i * interval_ms``. Left unset, the amounts
span ``0.0001`` to ``0.05`` base, widened to whole steps (at least one step each), so the walk
fits any instrument, one whose step is ``1`` included. Per trade the generator draws
the amount (``randint``) and then the ``z`` of the next step (``gauss``) from one
``random.Random(seed)``, so the sequence depends on the parameters alone.
"""

from __future__ import annotations

import decimal
import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final

from gridmaker.feeds.base import MarketTrade

__all__ = ["RandomWalkFeed"]

_CONTEXT: Final = decimal.Context(
    prec=60,
    rounding=decimal.ROUND_HALF_EVEN,
    traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
)
"""Every Decimal operation of the walk runs here, whatever the thread's current context is."""

_DECIMAL_FIELDS: Final = (
    "start_price",
    "tick_size",
    "step_size",
    "volatility",
    "drift",
    "reversion",
    "min_amount",
    "max_amount",
)
_DEFAULTED: Final = ("min_amount", "max_amount")
_DEFAULT_MIN: Final = Decimal("0.0001")
_DEFAULT_MAX: Final = Decimal("0.05")
_CEILING: Final = decimal.ROUND_CEILING


@dataclass(frozen=True, slots=True, kw_only=True)
class RandomWalkFeed:
    """A deterministic, mean-reverting random walk of trades; unbounded when ``length`` is None.

    Raises ``ValueError`` naming the field for any invalid parameter (``TypeError`` for a
    non-``Decimal`` where a ``Decimal`` is expected).
    """

    seed: int
    start_price: Decimal
    tick_size: Decimal
    step_size: Decimal
    volatility: Decimal = Decimal("0.0004")
    drift: Decimal = Decimal(0)
    reversion: Decimal = Decimal("0.002")
    interval_ms: int = 1000
    start_ts: int = 1_700_000_000_000
    min_amount: Decimal | None = None
    """Smallest amount printed; default ``0.0001`` rounded up to a whole step (>= one step)."""
    max_amount: Decimal | None = None
    """Largest amount printed; default ``0.05`` rounded down to a step, at least ``min_amount``."""
    length: int | None = None
    _start_ticks: int = field(init=False, repr=False, compare=False)
    _min_steps: int = field(init=False, repr=False, compare=False)
    _max_steps: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_int("seed", self.seed, minimum=0)
        _check_int("interval_ms", self.interval_ms, minimum=1)
        _check_int("start_ts", self.start_ts, minimum=0)
        if self.length is not None:
            _check_int("length", self.length, minimum=0)
        for name in _DECIMAL_FIELDS:
            if getattr(self, name) is not None or name not in _DEFAULTED:
                _check_decimal(name, getattr(self, name))
        if self.step_size > 0:
            self._default_amounts()
        for name in ("start_price", "tick_size", "step_size", "min_amount"):
            if getattr(self, name) <= 0:
                raise ValueError(f"invalid {name}, was {getattr(self, name)}; must be > 0")
        if self.volatility < 0:
            raise ValueError(f"invalid volatility, was {self.volatility}; must be >= 0")
        if not 0 <= self.reversion < 1:
            raise ValueError(f"invalid reversion, was {self.reversion}; must be >= 0 and < 1")
        start_ticks = _whole_multiple("start_price", self.start_price, "tick_size", self.tick_size)
        low, high = self._amount_bounds
        min_steps = _whole_multiple("min_amount", low, "step_size", self.step_size)
        max_steps = _whole_multiple("max_amount", high, "step_size", self.step_size)
        if max_steps < min_steps:
            raise ValueError(
                f"invalid max_amount, was {self.max_amount}; "
                f"must be >= min_amount {self.min_amount}"
            )
        object.__setattr__(self, "_start_ticks", start_ticks)
        object.__setattr__(self, "_min_steps", min_steps)
        object.__setattr__(self, "_max_steps", max_steps)

    def _default_amounts(self) -> None:
        """Unset amount bounds as whole steps of this instrument (the defaults once were fixed
        decimals, which a step of ``1`` could not express)."""
        step = self.step_size
        if self.min_amount is None:
            steps = max(1, int(_CONTEXT.divide(_DEFAULT_MIN, step).to_integral_value(_CEILING)))
            object.__setattr__(self, "min_amount", _CONTEXT.multiply(Decimal(steps), step))
        if self.max_amount is None:
            assert self.min_amount is not None
            steps = int(_CONTEXT.divide_int(_DEFAULT_MAX, step))
            largest = _CONTEXT.multiply(Decimal(steps), step)
            object.__setattr__(self, "max_amount", max(largest, self.min_amount))

    @property
    def key(self) -> str:
        """``random-walk:seed=…:start=…:…``, every parameter, decimals in canonical form."""
        length = "unbounded" if self.length is None else str(self.length)
        return (
            f"random-walk:seed={self.seed}:start={_canonical(self.start_price)}"
            f":vol={_canonical(self.volatility)}:drift={_canonical(self.drift)}"
            f":rev={_canonical(self.reversion)}:tick={_canonical(self.tick_size)}"
            f":step={_canonical(self.step_size)}:interval={self.interval_ms}"
            f":t0={self.start_ts}:min={_canonical(self._amount_bounds[0])}"
            f":max={_canonical(self._amount_bounds[1])}:length={length}"
        )

    @property
    def _amount_bounds(self) -> tuple[Decimal, Decimal]:
        """``min_amount`` and ``max_amount``, set by ``__post_init__`` when left unset."""
        assert self.min_amount is not None and self.max_amount is not None
        return self.min_amount, self.max_amount

    def trades(self, start: int = 0) -> Iterator[MarketTrade]:
        """Yield the trades from 0-based position ``start`` on (regenerated from the seed)."""
        _check_int("start", start, minimum=0)
        return itertools.islice(self._generate(), start, None)

    def _generate(self) -> Iterator[MarketTrade]:
        rng = random.Random(self.seed)
        ticks = self._start_ticks
        positions = itertools.count() if self.length is None else range(self.length)
        for i in positions:
            steps = rng.randint(self._min_steps, self._max_steps)
            yield MarketTrade(
                price=_CONTEXT.multiply(Decimal(ticks), self.tick_size),
                amount=_CONTEXT.multiply(Decimal(steps), self.step_size),
                ts_event=self.start_ts + i * self.interval_ms,
            )
            ticks = self._next_ticks(ticks, rng.gauss(0.0, 1.0))

    def _next_ticks(self, ticks: int, z: float) -> int:
        shock = _CONTEXT.add(self.drift, _CONTEXT.multiply(self.volatility, Decimal(z)))
        pull = _CONTEXT.multiply(self.reversion, Decimal(self._start_ticks - ticks))
        move = _CONTEXT.add(_CONTEXT.multiply(Decimal(ticks), shock), pull)
        return max(1, ticks + int(move.to_integral_value(context=_CONTEXT)))


def _check_int(name: str, value: object, *, minimum: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"invalid {name}, was {value!r}; must be an int")
    if value < minimum:
        raise ValueError(f"invalid {name}, was {value}; must be >= {minimum}")


def _check_decimal(name: str, value: object) -> None:
    if not isinstance(value, Decimal):
        raise TypeError(f"invalid {name}, was {type(value).__name__} {value!r}; must be a Decimal")
    if not value.is_finite():
        raise ValueError(f"invalid {name}, was {value}; must be finite")


def _whole_multiple(name: str, value: Decimal, unit_name: str, unit: Decimal) -> int:
    try:
        remainder = _CONTEXT.remainder(value, unit)
    except decimal.InvalidOperation:
        raise ValueError(
            f"invalid {name}, was {value}; too many multiples of {unit_name} {unit}"
        ) from None
    if remainder != 0:
        raise ValueError(f"invalid {name}, was {value}; must be a multiple of {unit_name} {unit}")
    return int(_CONTEXT.divide_int(value, unit))


def _canonical(value: Decimal) -> str:
    """The same number always gives the same text: ``50000.00`` and ``5E+4`` both give ``50000``."""
    if value.is_zero():
        return "0"
    return format(value.normalize(_CONTEXT), "f")
