"""Binance klines from the simulator's tape: the intervals, their open times, the 12-field rows.

A kline is identified by its open time. Intervals are Binance's: ``1s`` to ``12h`` and ``1d``,
``3d`` align to the epoch, ``1w`` to Monday 00:00 UTC, ``1M`` to the first of the month. As on
Binance an interval without trades still has a kline (open = high = low = close = the last
price before it, volume 0); the simulator's klines run from its first print's interval to its
last print's (Binance's run on to the current, still open one).
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final

from gridmaker.exchange.sim.http.binance_wire import decimal_text
from gridmaker.exchange.sim.tape import Print

__all__ = ["INTERVALS", "Interval", "kline_rows"]

_S: Final = 1000
_M: Final = 60 * _S
_H: Final = 60 * _M
_D: Final = 24 * _H
_FIXED: Final = {
    "1s": _S,
    "1m": _M,
    "3m": 3 * _M,
    "5m": 5 * _M,
    "15m": 15 * _M,
    "30m": 30 * _M,
    "1h": _H,
    "2h": 2 * _H,
    "4h": 4 * _H,
    "6h": 6 * _H,
    "8h": 8 * _H,
    "12h": 12 * _H,
    "1d": _D,
    "3d": 3 * _D,
    "1w": 7 * _D,
}
INTERVALS: Final = (*_FIXED, "1M")
_MONDAY: Final = 4 * _D
"""1970-01-05, the first Monday after the epoch: where weeks start."""


def _month_index(ts_ms: int) -> int:
    day = datetime.fromtimestamp(ts_ms // 1000, UTC)
    return day.year * 12 + day.month - 1


def _month_start(index: int) -> int:
    return int(datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC).timestamp()) * 1000


class Interval:
    """One of ``INTERVALS``: the open time of the kline holding a time, and its neighbours."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._width = _FIXED.get(name)
        self._origin = _MONDAY if name == "1w" else 0

    def open_of(self, ts_ms: int) -> int:
        if self._width is None:
            return _month_start(_month_index(ts_ms))
        return (ts_ms - self._origin) // self._width * self._width + self._origin

    def after(self, open_ms: int) -> int:
        if self._width is None:
            return _month_start(_month_index(open_ms) + 1)
        return open_ms + self._width

    def before(self, open_ms: int) -> int:
        if self._width is None:
            return _month_start(_month_index(open_ms) - 1)
        return open_ms - self._width

    def first_at_or_after(self, ts_ms: int) -> int:
        start = self.open_of(ts_ms)
        return start if start >= ts_ms else self.after(start)


def kline_rows(
    prints: Sequence[Print],
    times: Sequence[int],
    interval: Interval,
    *,
    start_ms: int | None,
    end_ms: int | None,
    limit: int,
) -> list[list[Any]]:
    """Up to ``limit`` klines opening within ``[start_ms, end_ms]`` over ``prints`` (oldest
    first; ``times`` their times): the first ones from a start, else the last ones."""
    if not prints:
        return []
    first, last = interval.open_of(times[0]), interval.open_of(times[-1])
    if end_ms is not None:
        last = min(last, interval.open_of(end_ms))
    opens: list[int] = []
    if start_ms is not None:
        at = max(first, interval.first_at_or_after(start_ms))
        while at <= last and len(opens) < limit:
            opens.append(at)
            at = interval.after(at)
    else:
        at = last
        while at >= first and len(opens) < limit:
            opens.append(at)
            at = interval.before(at)
        opens.reverse()
    return [_row(prints, times, interval, at) for at in opens]


def _row(prints: Sequence[Print], times: Sequence[int], interval: Interval, at: int) -> list[Any]:
    """Binance's 12 fields: open time, O, H, L, C, volume, close time, quote volume, trades,
    taker buy base volume, taker buy quote volume, and an unused ``"0"``."""
    close_ms = interval.after(at)
    lo, hi = bisect.bisect_left(times, at), bisect.bisect_left(times, close_ms)
    inside = prints[lo:hi]
    if inside:
        prices = [p.price for p in inside]
        o, h, low, c = prices[0], max(prices), min(prices), prices[-1]
    else:
        o = h = low = c = prints[lo - 1].price  # lo > 0: klines start at the first print
    volume = sum((p.amount for p in inside), Decimal(0))
    quote = sum((p.price * p.amount for p in inside), Decimal(0))
    taker_buys = [p for p in inside if not p.buyer_maker]
    taker_base = sum((p.amount for p in taker_buys), Decimal(0))
    taker_quote = sum((p.price * p.amount for p in taker_buys), Decimal(0))
    return [
        at,
        decimal_text(o),
        decimal_text(h),
        decimal_text(low),
        decimal_text(c),
        decimal_text(volume),
        close_ms - 1,
        decimal_text(quote),
        len(inside),
        decimal_text(taker_base),
        decimal_text(taker_quote),
        "0",
    ]
