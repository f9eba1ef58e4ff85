"""Values as the user typed them: decimals read exactly and bounded, percents, and ``show``.

Numbers are finite, bounded decimals (a YAML float is refused: its value is not what was typed),
so no arithmetic on a config value can overflow; and every value a message echoes is shown the
way a person writes it (``0.0001``, never ``1E-4``), short.
"""

from __future__ import annotations

import decimal
import math
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Annotated, Final

from pydantic import BeforeValidator

__all__ = [
    "MAX_INT",
    "YEAR_S",
    "Dec",
    "Text",
    "bounded",
    "multiple",
    "percent",
    "percent_ppm",
    "plain",
    "show",
]

MAX_WHOLE_DIGITS: Final = 15
"""Every decimal in the config is below 10**15: far above any real price, size or balance, and
small enough that no arithmetic on it overflows."""
MAX_DECIMALS: Final = 18
"""... and has at most 18 decimal places (the finest tick or step any venue lists)."""
MAX_INT: Final = 2**63 - 1
YEAR_S: Final = 366 * 24 * 3600

# --- showing values ----------------------------------------------------------------------------


def plain(value: Decimal) -> str:
    """A decimal as a person writes it: ``0.0001``, ``100`` (never ``1E-4`` or ``1E+2``)."""
    if not value.is_finite():
        return str(value)
    if value.is_zero():
        return "0"
    if abs(value.adjusted()) > 60:  # only an out-of-bounds value the user typed gets here
        return str(value)
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def show(value: object) -> str:
    """``value`` as the user wrote it, short: for the ``; was X`` end of a message."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, Decimal):
        text = plain(value)
    elif isinstance(value, float):
        text = _float_text(value)
    elif isinstance(value, int):
        if value.bit_length() > 200:
            return f"a number of about {int(value.bit_length() * math.log10(2)) + 1} digits"
        text = str(value)
    elif isinstance(value, str):
        text = repr(value)
    elif value is None:
        text = "null"
    elif isinstance(value, Mapping):
        text = "a mapping"
    elif isinstance(value, list | tuple):
        text = "a list"
    else:
        text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _float_text(value: float) -> str:
    if not math.isfinite(value):
        return str(value)
    return plain(Decimal(repr(value)))


# --- numbers -----------------------------------------------------------------------------------


def bounded(number: Decimal, typed: object) -> Decimal:
    """``number`` if finite, below 10**15 and with at most 18 decimals; else ``ValueError``."""
    if number.is_finite() and abs(number.adjusted()) <= 60:
        typed = number  # shown plain, whatever form it was typed in
    if not number.is_finite():
        raise ValueError(f"must be a finite decimal number; was {show(typed)}")
    if number.is_zero():
        return number
    if number.adjusted() >= MAX_WHOLE_DIGITS:
        raise ValueError(f"must be below {10**MAX_WHOLE_DIGITS}; was {show(typed)}")
    _, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)
    trailing = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    if exponent + trailing < -MAX_DECIMALS:
        raise ValueError(f"must have at most {MAX_DECIMALS} decimal places; was {show(typed)}")
    return number


def _decimal(value: object) -> object:
    """Numbers come as strings or ints; a float is refused: its value is not what was typed."""
    if isinstance(value, bool):
        raise ValueError(f"must be a decimal number; was {show(value)}")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"must be a finite decimal number; was {show(value)}")
        text = _float_text(value)
        raise ValueError(
            f"write decimal numbers as quoted text, e.g. '{text}' (a YAML float is not exact); "
            f"was {text}"
        )
    if isinstance(value, int):
        return bounded(Decimal(value), value)
    if isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"must be a decimal number like '0.001'; was {show(value)}") from None
        return bounded(number, value)
    if isinstance(value, Decimal):
        return bounded(value, value)
    return value


Dec = Annotated[Decimal, BeforeValidator(_decimal)]
_PERCENT = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*%\s*$")
_WIDE: Final = decimal.Context(prec=100, traps=[decimal.Inexact, decimal.InvalidOperation])


def percent(text: str, *, top_included: bool) -> int | None:
    """``text`` as parts per million when it is a percent with at most 4 decimals inside (0, 100%)
    (or (0, 100%]); None when it is not a percent at all; ``ValueError`` when out of range."""
    match = _PERCENT.match(text)
    if not match:
        return None
    number = Decimal(match.group(1))
    top = "100%]" if top_included else "100%)"
    refusal = f"must be a percent in (0%, {top} with at most 4 decimals, like '0.25%'; was {text!r}"
    if number.adjusted() > 3:
        raise ValueError(refusal)
    try:
        ppm = _WIDE.multiply(number, 10_000)
    except decimal.Inexact:
        raise ValueError(refusal) from None
    if ppm != ppm.to_integral_value() or not 0 < ppm <= 1_000_000:
        raise ValueError(refusal)
    if ppm == 1_000_000 and not top_included:
        raise ValueError(refusal)
    return int(ppm)


def percent_ppm(text: str) -> int:
    ppm = percent(text, top_included=True)
    if ppm is None:
        raise ValueError(f"must be a percent like '5%'; was {text!r}")
    return ppm


def _text(value: object) -> object:
    """A setting written as text; a number typed bare is taken as its text (a float refused)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        _decimal(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and len(value) > 100:
        raise ValueError(f"must be at most 100 characters; was {show(value)}")
    return value


Text = Annotated[str, BeforeValidator(_text)]


def multiple(value: Decimal, unit: Decimal) -> bool:
    """True when ``value`` is a whole number of ``unit`` (False when too many to count)."""
    try:
        return _WIDE.remainder(value, unit).is_zero()
    except decimal.DecimalException:
        return False
