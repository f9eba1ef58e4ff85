"""Numbers as a person reads them: plain decimals, never ``1E+2`` or ``5E-7``.

``str(Decimal)`` switches to exponent form for a normalized whole number with trailing zeros
(``Decimal(100).normalize()`` is ``1E+2``) and for small fractions; every number printed for a
person (summaries, tables, messages, reports, CSV) goes through ``plain`` instead.
"""

from __future__ import annotations

import decimal
from decimal import Decimal

from gridmaker.core.units import Instrument

__all__ = ["money_text", "plain", "price_text", "size_text"]


def plain(value: Decimal | int) -> str:
    """``value`` exactly, in positional notation without trailing zeros: ``100``, ``0.0000001``.

    No rounding: every digit the value holds is shown. Zero is ``0`` (never ``-0`` or ``0E-8``);
    a NaN or infinity reads as Python spells it (``NaN``, ``Infinity``).
    """
    if isinstance(value, int):
        return str(value)
    if not value.is_finite():
        return str(value)
    if value.is_zero():
        return "0"
    text = format(value, "f")  # positional, every digit kept (normalize() would round to 28)
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def price_text(instrument: Instrument, ticks: int) -> str:
    """A price in ticks as the venue writes it."""
    return plain(_times(instrument.tick_size, ticks))


def size_text(instrument: Instrument, steps: int) -> str:
    """A base amount in steps as the venue writes it."""
    return plain(_times(instrument.step_size, steps))


def money_text(instrument: Instrument, atoms: int) -> str:
    """A quote amount in atoms, exact: every command shows money to the atom, never rounded.

    An atom is finer than the venue's cent (fees are parts per million of a notional), so
    ``0.127874805`` is what the book holds and what ``run``, ``status`` and ``backtest`` print.
    """
    return plain(_times(instrument.atom, atoms))


def _times(unit: Decimal, count: int) -> Decimal:
    """``unit * count`` exactly: with enough digits, where the default context keeps 28."""
    digits = len(str(abs(count))) + len(unit.as_tuple().digits) + 1
    return decimal.Context(prec=max(28, digits)).multiply(unit, Decimal(count))
