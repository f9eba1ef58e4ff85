"""Decimal columns to integer ticks and steps, exactly, in vectorized code.

A price column arrives as decimal text (CSV, our parquet), as ``decimal128`` (CSV read typed),
as a float (freqtrade's feather: read back as the shortest text that round-trips, which is the
decimal the writer printed) or as a Nautilus fixed-point integer. It never becomes a float
here: Arrow parses the text into ``decimal128`` at the tick's decimal places, which fails when a
digit would be lost, and the unscaled 128-bit value is read as two 64-bit words. A price then
is a whole number of ticks when its unscaled value is a multiple of the tick's numerator.

Whatever the fast path refuses is looked at again row by row (only then, so only a bad file
pays), to name the first bad row with the value the file holds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Context, Decimal, InvalidOperation
from typing import Any, Final, TypeAlias

import numpy as np
import numpy.typing as npt
import pyarrow as pa  # type: ignore[import-untyped]  # no stubs
import pyarrow.compute as pc  # type: ignore[import-untyped]  # no stubs

from gridmaker.core.display import plain
from gridmaker.feeds.base import MAX_FEED_VALUE, FeedError

__all__ = ["Column", "Ints", "Unit", "Where", "amount_steps", "fixed_point", "price_ticks", "shown"]

Column: TypeAlias = Any
"""A ``pyarrow.Array`` or ``ChunkedArray`` (pyarrow ships no type stubs)."""
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]
Where = Callable[[int], str]
"""The file and row of a 0-based index in the current batch, for a message."""

INT64_MAX: Final = 2**63 - 1
_LIMIT: Final = f"must be a finite number > 0 and below {MAX_FEED_VALUE:,}"
_SHOWN_MAX: Final = 60
_POINT, _SLASH, _NINE = b"./9"
"""Plain decimal text is the bytes from ``.`` to ``9`` except ``/``."""


@dataclass(frozen=True, slots=True)
class Unit:
    """A tick or step as an integer ratio, ``numerator / 10**places``."""

    size: Decimal
    numerator: int
    places: int

    @classmethod
    def of(cls, size: Decimal) -> Unit:
        sign, digits, exponent = size.normalize().as_tuple()
        if sign or not isinstance(exponent, int) or not any(digits):
            raise ValueError(f"a tick or step must be a finite decimal > 0; was {size}")
        numerator = int("".join(map(str, digits)))
        if exponent > 0:
            return cls(size, numerator * 10**exponent, 0)
        return cls(size, numerator, -exponent)


def shown(value: object) -> str:
    """A value as the file holds it, cut to a readable length."""
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= _SHOWN_MAX else text[: _SHOWN_MAX - 3] + "..."


def price_ticks(column: Column, tick: Unit, where: Where, *, snap: bool) -> tuple[Ints, int]:
    """Whole ticks per price and how many prices were snapped down to the tick.

    Raises ``FeedError`` naming the first row that is missing, not a decimal, not > 0 and below
    ``MAX_FEED_VALUE``, or (without ``snap``) off the tick.
    """
    column = _decimal_ready(column)
    if not _is_plain(column, tick.places):
        return _by_row(column, tick, "price", where, snap=snap)
    try:
        exact = pc.cast(column, pa.decimal128(38, tick.places), safe=not snap)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return _by_row(column, tick, "price", where, snap=snap)
    _no_nulls(exact, "price", where)
    _in_range(exact, column, "price", where)
    cut = _cut_digits(column, exact) if snap else None
    if snap and cut is None:
        return _by_row(column, tick, "price", where, snap=snap)
    units = _words(exact, "price", where, cap=False)
    off = units % tick.numerator != 0
    if off.any() and not snap:
        _raise_off_tick(column, int(np.flatnonzero(off)[0]), tick, where)
    snapped = int(np.count_nonzero(off | cut)) if cut is not None else 0
    return units // tick.numerator, snapped


def amount_steps(column: Column, step: Unit, where: Where) -> Ints:
    """Whole steps per amount, rounded down and capped at the largest 64-bit count.

    Raises ``FeedError`` naming the first row that is missing, not a decimal, or not > 0 and
    below ``MAX_FEED_VALUE``.
    """
    column = _decimal_ready(column)
    if not _is_plain(column, step.places):
        return _by_row(column, step, "amount", where, snap=True)[0]
    try:
        cut = pc.cast(column, pa.decimal128(38, step.places), safe=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return _by_row(column, step, "amount", where, snap=True)[0]
    _no_nulls(cut, "amount", where)
    steps = _words(cut, "amount", where, cap=True)
    _positive(column, np.flatnonzero(steps <= 0), where)
    _in_range(cut, column, "amount", where, low=False)
    return steps // step.numerator


def _positive(column: pa.Array, rows: Ints, where: Where) -> None:
    """Refuse the first of ``rows`` (amounts under one step) whose text is not > 0."""
    if not rows.size:
        return
    tiny = column.take(pa.array(rows))
    plain = pa.types.is_string(tiny.type) and _is_plain(tiny, 23)
    if plain or pa.types.is_decimal(tiny.type):
        wide = pc.cast(tiny, pa.decimal128(38, 23)) if plain else tiny
        if not pc.any(pc.less_equal(wide, pa.scalar(Decimal(0), wide.type))).as_py():
            return
    for index in rows.tolist():
        _check_one(column[index].as_py(), "amount", where, index)


def _is_plain(column: pa.Array, places: int) -> bool:
    """Text made of digits and points only, short enough that ``places`` more digits fit 38.

    Arrow's text-to-decimal cast does not check for overflow when it scales a number up (a
    ``1e30`` read at 18 places wraps around 128 bits), so only text that cannot overflow takes
    the fast path; exponents, signs, spaces and words are read row by row.
    """
    if not pa.types.is_string(column.type) or len(column) == 0:
        return True
    start = column.offset
    offsets = np.frombuffer(column.buffers()[1], dtype=np.int32)[start : start + len(column) + 1]
    if int(np.diff(offsets).max()) + places > 38:
        return False
    data = column.buffers()[2]
    if data is None:
        return True
    chars = np.frombuffer(data, dtype=np.uint8)[offsets[0] : offsets[-1]]
    if not chars.size:
        return True
    return bool(chars.min() >= _POINT and chars.max() <= _NINE and not (chars == _SLASH).any())


def _cut_digits(column: pa.Array, cut: pa.Array) -> Bools | None:
    """Which values lost digits when cut to ``cut``'s places (``None``: too long to tell)."""
    if pa.types.is_decimal(column.type):
        moved: Bools = pc.not_equal(pc.cast(cut, column.type), column).to_numpy(
            zero_copy_only=False
        )
        return moved
    if not pa.types.is_string(column.type):
        return None
    places = 38 - 15
    if not _is_plain(column, places):
        return None
    wide = pc.cast(column, pa.decimal128(38, places))
    back = pc.cast(cut, pa.decimal128(38, places))
    lost: Bools = pc.not_equal(wide, back).to_numpy(zero_copy_only=False)
    return lost


def fixed_point(column: Column, places: int, what: str, where: Where) -> Column:
    """Nautilus fixed-point integers (value × 10**places) as ``decimal128`` with ``places``.

    ``fixed_size_binary(16)`` (its high-precision build) is already a little-endian
    two's-complement 128-bit integer, which is the layout of ``decimal128``: the buffer is
    relabelled, not converted. ``fixed_size_binary(8)`` and ``int64`` become 128-bit first.
    """
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if pa.types.is_fixed_size_binary(array.type) and array.type.byte_width == 8:
        words = np.frombuffer(array.buffers()[1], dtype=np.int64)
        mask = _nulls(array) if array.null_count else None
        array = pa.array(words[array.offset : array.offset + len(array)], mask=mask)
    if pa.types.is_integer(array.type):
        array = pc.cast(array, pa.decimal128(38, 0))
    elif not (pa.types.is_fixed_size_binary(array.type) and array.type.byte_width == 16):
        raise FeedError(
            f"{where(0)}: {what} must be fixed-point (8 or 16 bytes, or int64); was {array.type}"
        )
    return pa.Array.from_buffers(
        pa.decimal128(38, places), len(array), array.buffers()[:2], offset=array.offset
    )


def _nulls(array: pa.Array) -> Any:
    return array.is_null().to_numpy(zero_copy_only=False)


# --- the slow paths: only a batch the fast path refused gets here ------------------------------


def _decimal_ready(column: Column) -> pa.Array:
    """A string or decimal array; floats become the shortest text that reads back the same."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if pa.types.is_floating(array.type):
        return pc.cast(array, pa.string())
    if pa.types.is_large_string(array.type) or pa.types.is_string_view(array.type):
        return pc.cast(array, pa.string())
    return array


def _by_row(
    column: pa.Array, unit: Unit, what: str, where: Where, *, snap: bool
) -> tuple[Ints, int]:
    """Whole units per value, one ``Decimal`` at a time: the exact answer for any text, and the
    first bad row named. Off-unit values round down when ``snap`` (always for amounts)."""
    exact = Context(prec=200)
    out = np.empty(len(column), dtype=np.int64)
    snapped = 0
    for index, value in enumerate(column.to_pylist()):
        units = exact.divide(_check_one(value, what, where, index), unit.size)
        whole = int(units)
        if whole != units:
            if not snap:
                _raise_off_tick(column, index, unit, where)
            snapped += 1
        if whole > INT64_MAX:
            if what == "price":
                raise FeedError(
                    f"{where(index)}: price {shown(value)} is more than {INT64_MAX:,} ticks; "
                    "use a coarser tick"
                )
            whole = INT64_MAX
        out[index] = whole
    return out, snapped


def _check_one(value: object, what: str, where: Where, index: int) -> Decimal:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise FeedError(f"{where(index)}: missing {what}, found an empty cell")
    try:
        number = Decimal(value.strip()) if isinstance(value, str) else Decimal(str(value))
    except InvalidOperation:
        raise FeedError(
            f"{where(index)}: invalid {what}, found {shown(value)}; must be a decimal number"
        ) from None
    if not number.is_finite() or number <= 0 or number >= MAX_FEED_VALUE:
        raise FeedError(f"{where(index)}: invalid {what}, found {shown(value)}; {_LIMIT}")
    return number


def _raise_off_tick(column: pa.Array, index: int, tick: Unit, where: Where) -> None:
    value = column[index].as_py()
    if isinstance(value, str):
        text = value.strip()
    elif isinstance(value, Decimal | int):
        text = plain(value)
    else:
        text = plain(Decimal(repr(value)))  # a float column: its shortest exact spelling
    raise FeedError(
        f"{where(index)}: price {text} is not a multiple of the tick {plain(tick.size)} "
        "(--snap rounds prices down to the tick)"
    )


def _no_nulls(array: pa.Array, what: str, where: Where) -> None:
    if array.null_count:
        index = int(np.flatnonzero(array.is_null().to_numpy(zero_copy_only=False))[0])
        raise FeedError(f"{where(index)}: missing {what}, found an empty cell")


def _in_range(
    array: pa.Array, original: pa.Array, what: str, where: Where, *, low: bool = True
) -> None:
    """Refuse the first value not > 0 (unless ``low`` is False) or not below the maximum."""
    bad = pc.greater_equal(array, pa.scalar(Decimal(MAX_FEED_VALUE), array.type))
    if low:
        bad = pc.or_(bad, pc.less_equal(array, pa.scalar(Decimal(0), array.type)))
    if pc.any(bad).as_py():
        index = int(np.flatnonzero(bad.to_numpy(zero_copy_only=False))[0])
        value = original[index].as_py()
        found = shown(value) if isinstance(value, str) else f"{array[index].as_py().normalize():f}"
        raise FeedError(f"{where(index)}: invalid {what}, found {found}; {_LIMIT}")


def _words(array: pa.Array, what: str, where: Where, *, cap: bool) -> Ints:
    """The unscaled values of a ``decimal128`` array as int64 (``cap``: clip the few that
    do not fit, else refuse them)."""
    return _fixed_words(array, 16, what, where, cap=cap)


def _fixed_words(
    array: pa.Array, width: int, what: str, where: Where, *, cap: bool = False
) -> Ints:
    """Little-endian signed integers of ``width`` bytes (8 or 16) as int64."""
    if width not in (8, 16):
        raise FeedError(f"{where(0)}: {what} must be 8 or 16 bytes wide; was {width}")
    buffer = array.buffers()[1]
    words = np.frombuffer(buffer, dtype=np.int64)[
        array.offset * width // 8 : (array.offset + len(array)) * width // 8
    ]
    if width == 8:
        return words
    low, high = words[0::2], words[1::2]
    wide = high != (low >> 63)
    if wide.any():
        if not cap:
            index = int(np.flatnonzero(wide)[0])
            raise FeedError(
                f"{where(index)}: {what} {array[index].as_py()} is more than {INT64_MAX:,} "
                "ticks; use a coarser tick"
            )
        return np.where(wide, INT64_MAX, low)
    return np.ascontiguousarray(low)
