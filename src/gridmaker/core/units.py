"""Instruments and exact conversion between venue decimals and integer ticks, steps and atoms.

Prices are ``Ticks`` (multiples of ``tick_size``), sizes ``Steps`` (multiples of ``step_size``)
and quote amounts ``Atoms``: one atom is ``tick_size * step_size / FEE_SCALE``, so that a
notional (``price_ticks * qty_steps``) and a fee on it (``notional * fee_ppm``) are both exact
integers. ``Decimal`` is only accepted and produced here, at the boundary.
"""

from __future__ import annotations

import decimal
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final, NewType

from gridmaker.core.errors import OffTick

__all__ = [
    "FEE_SCALE",
    "MAX_STORED",
    "Atoms",
    "Instrument",
    "Steps",
    "Ticks",
    "fee_atoms",
    "notional_atoms",
]

Ticks = NewType("Ticks", int)
Steps = NewType("Steps", int)
Atoms = NewType("Atoms", int)

FEE_SCALE: Final = 1_000_000
"""Fee rates are held as integer parts per million."""

MAX_STORED: Final = 2**63 - 1
"""The largest integer the store holds (SQLite ``INTEGER``, 64-bit signed): every price in ticks,
size in steps and fee in atoms of one fill must stay at or below it (``Instrument.fits_store``)."""

ROUND_DOWN: Final = decimal.ROUND_FLOOR
ROUND_UP: Final = decimal.ROUND_CEILING


def _exact_multiple(value: Decimal, unit: Decimal, rounding: str | None, what: str) -> int:
    if not value.is_finite():
        raise OffTick(f"{what} must be a finite number, was {value}")
    quotient = value / unit
    whole = quotient.to_integral_value(rounding=rounding or decimal.ROUND_FLOOR)
    if rounding is None and whole != quotient:
        raise OffTick(f"{what} {value} is not a multiple of {unit}")
    return int(whole)


def _ppm(rate: Decimal, what: str) -> int:
    scaled = rate * FEE_SCALE
    if scaled != scaled.to_integral_value() or rate < 0 or rate >= 1:
        raise OffTick(f"{what} must be in [0, 1) with at most 6 decimals, was {rate}")
    return int(scaled)


@dataclass(frozen=True, slots=True, kw_only=True)
class Instrument:
    """A spot market's trading rules, as the venue states them."""

    symbol: str
    base: str
    quote: str
    tick_size: Decimal
    step_size: Decimal
    min_qty: Decimal = Decimal(0)
    min_notional: Decimal = Decimal(0)
    maker_fee: Decimal = Decimal(0)
    taker_fee: Decimal = Decimal(0)
    maker_fee_ppm: int = field(init=False)
    taker_fee_ppm: int = field(init=False)
    min_qty_steps: Steps = field(init=False)
    min_notional_atoms: Atoms = field(init=False)

    def __post_init__(self) -> None:
        for name in ("tick_size", "step_size"):
            value = getattr(self, name)
            if not value.is_finite() or value <= 0:
                raise OffTick(f"{name} must be > 0, was {value}")
        object.__setattr__(self, "maker_fee_ppm", _ppm(self.maker_fee, "maker_fee"))
        object.__setattr__(self, "taker_fee_ppm", _ppm(self.taker_fee, "taker_fee"))
        object.__setattr__(
            self,
            "min_qty_steps",
            Steps(_exact_multiple(self.min_qty, self.step_size, ROUND_UP, "min_qty")),
        )
        object.__setattr__(
            self,
            "min_notional_atoms",
            Atoms(_exact_multiple(self.min_notional, self.atom, ROUND_UP, "min_notional")),
        )

    @property
    def atom(self) -> Decimal:
        """The value in quote currency of one ``Atoms`` unit."""
        return self.tick_size * self.step_size / FEE_SCALE

    def to_ticks(self, price: Decimal, rounding: str | None = None) -> Ticks:
        """Price → ticks; raises ``OffTick`` when off the tick and no rounding is given."""
        return Ticks(_exact_multiple(price, self.tick_size, rounding, "price"))

    def buy_price_ticks(self, price: Decimal) -> Ticks:
        """A buy never pays more than asked: round down to the tick."""
        return self.to_ticks(price, ROUND_DOWN)

    def sell_price_ticks(self, price: Decimal) -> Ticks:
        """A sell never asks less than asked: round up to the tick."""
        return self.to_ticks(price, ROUND_UP)

    def from_ticks(self, ticks: int) -> Decimal:
        return (self.tick_size * ticks).normalize() if ticks else Decimal(0)

    def to_steps(self, qty: Decimal, rounding: str | None = None) -> Steps:
        """Size → steps; raises ``OffTick`` when off the step and no rounding is given."""
        return Steps(_exact_multiple(qty, self.step_size, rounding, "qty"))

    def size_steps(self, qty: Decimal) -> Steps:
        """Sizes round down to the step: never trade more than asked."""
        return self.to_steps(qty, ROUND_DOWN)

    def from_steps(self, steps: int) -> Decimal:
        return (self.step_size * steps).normalize() if steps else Decimal(0)

    def to_atoms(self, amount: Decimal, rounding: str | None = None) -> Atoms:
        """Quote amount → atoms; raises ``OffTick`` when not exact and no rounding is given."""
        return Atoms(_exact_multiple(amount, self.atom, rounding, "quote amount"))

    def from_atoms(self, atoms: int) -> Decimal:
        return (self.atom * atoms).normalize() if atoms else Decimal(0)

    def notional(self, price_ticks: int, qty_steps: int) -> Atoms:
        return notional_atoms(price_ticks, qty_steps)

    def fee(self, price_ticks: int, qty_steps: int, *, is_maker: bool = True) -> Atoms:
        ppm = self.maker_fee_ppm if is_maker else self.taker_fee_ppm
        return fee_atoms(price_ticks, qty_steps, ppm)

    def fits_store(self, price_ticks: int, qty_steps: int) -> bool:
        """True when an order of ``qty_steps`` at ``price_ticks`` and the fee of its fill are
        integers the store can hold (``MAX_STORED``); a finer tick or step means bigger ones."""
        fee_ppm = max(self.maker_fee_ppm, self.taker_fee_ppm, 1)
        return (
            0 <= price_ticks <= MAX_STORED
            and 0 <= qty_steps <= MAX_STORED
            and price_ticks * qty_steps * fee_ppm <= MAX_STORED
        )

    def is_tradeable(self, price_ticks: int, qty_steps: int) -> bool:
        """True when an order of this size at this price passes min quantity and min notional."""
        return (
            qty_steps > 0
            and qty_steps >= self.min_qty_steps
            and notional_atoms(price_ticks, qty_steps) >= self.min_notional_atoms
        )


def notional_atoms(price_ticks: int, qty_steps: int) -> Atoms:
    return Atoms(price_ticks * qty_steps * FEE_SCALE)


def fee_atoms(price_ticks: int, qty_steps: int, fee_ppm: int) -> Atoms:
    return Atoms(price_ticks * qty_steps * fee_ppm)
