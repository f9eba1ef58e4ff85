"""Which columns of a file hold the time, price and amount, and in what unit the time is.

Known layouts, by header (names compared without case or underscores):

- ours and today's recorded CSV: ``timestamp``/``ts_ms``, ``price``, ``amount``;
- freqtrade's trades: ``timestamp, id, type, side, price, amount, cost`` (epoch ms);
- Binance's public ``trades``: ``id, price, qty, quoteQty, time, isBuyerMaker, isBestMatch``
  (futures files: ``quote_qty`` and no ``isBestMatch``), and ``aggTrades``:
  ``aggId, price, qty, firstId, lastId, time, isBuyerMaker, isBestMatch`` (futures:
  ``quantity``, ``transact_time``); spot files come without a header, so a headerless CSV is
  told apart by its column count (and, at 7, by whether the sixth cell is a boolean);
- Nautilus' trade ticks: ``price, size, aggressor_side, trade_id, ts_event, ts_init`` (ns).

Binance's time is epoch ms until 2024 and µs from 2025 on: a value of 10**15 or more (year
33658 in ms, 2001 in µs) can only be µs, so it is divided down per value.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

from gridmaker.feeds.base import FeedError

__all__ = [
    "BINANCE_AGG_TRADES",
    "BINANCE_TRADES",
    "Layout",
    "headerless_layout",
    "layout_of",
]

TimeUnit = Literal["ms", "ms_or_us", "ns"]

BINANCE_TRADES: Final = (
    "id",
    "price",
    "qty",
    "quoteQty",
    "time",
    "isBuyerMaker",
    "isBestMatch",
)
BINANCE_AGG_TRADES: Final = (
    "aggId",
    "price",
    "qty",
    "firstId",
    "lastId",
    "time",
    "isBuyerMaker",
    "isBestMatch",
)
_FUTURES_TRADES: Final = BINANCE_TRADES[:6]
_FUTURES_AGG_TRADES: Final = BINANCE_AGG_TRADES[:7]
_TIME: Final = {"timestamp": "ms", "tsms": "ms", "time": "ms_or_us", "transacttime": "ms_or_us"}
_NANOS: Final = "tsevent"
_AMOUNT: Final = ("amount", "qty", "quantity", "size")
_INTEGER: Final = re.compile(r"\s*-?[0-9]+\s*")
_BOOLEAN: Final = {"true", "false"}
EXPECTED: Final = (
    "'timestamp', 'price', 'amount' (ours, freqtrade), 'time', 'price', 'qty' (Binance) or "
    "'ts_event', 'price', 'size' (Nautilus)"
)


@dataclass(frozen=True, slots=True)
class Layout:
    """The name of a file's layout and the columns the loader reads."""

    name: str
    ts: str
    price: str
    amount: str
    time_unit: TimeUnit
    names: tuple[str, ...] | None = None
    """Column names to give a headerless CSV; ``None`` when the file has a header."""


def _key(name: str) -> str:
    return name.strip().lower().replace("_", "")


def layout_of(file: str, names: Sequence[str]) -> Layout:
    """The layout a header (or a columnar file's schema) names; ``FeedError`` if none fits."""
    keys = {_key(name): name for name in names}
    ts_key = next((k for k in (*_TIME, _NANOS) if k in keys), None)
    amount_key = next((k for k in _AMOUNT if k in keys), None)
    missing = [
        label
        for label, key in (("timestamp", ts_key), ("price", "price" if "price" in keys else None))
        if key is None
    ] + (["amount"] if amount_key is None else [])
    if missing or ts_key is None or amount_key is None:
        found = ",".join(names)
        found = found if len(found) <= 80 else found[:77] + "..."
        raise FeedError(
            f"{file}: missing column {missing[0]!r}; found {found!r}, expected the columns "
            f"{EXPECTED}"
        )
    unit: TimeUnit = "ns" if ts_key == _NANOS else _TIME[ts_key]  # type: ignore[assignment]
    name = {"ms_or_us": "binance", "ns": "nautilus"}.get(unit, "trades")
    return Layout(name, keys[ts_key], keys["price"], keys[amount_key], unit)


def headerless_layout(file: str, cells: Sequence[str]) -> Layout | None:
    """Binance's layout for a first row of data, ``None`` if the row looks like a header."""
    if not cells or not _INTEGER.fullmatch(cells[0]):
        return None
    count = len(cells)
    names: tuple[str, ...]
    if count == 7:
        is_trades = cells[5].strip().lower() in _BOOLEAN
        names = BINANCE_TRADES if is_trades else _FUTURES_AGG_TRADES
    elif count in (6, 8):
        names = _FUTURES_TRADES if count == 6 else BINANCE_AGG_TRADES
    else:
        raise FeedError(
            f"{file}: the first row has no header and {count} columns; expected a header "
            f"naming {EXPECTED}, or Binance's headerless trades (7 columns: "
            f"{','.join(BINANCE_TRADES)}) or aggTrades (8 columns: {','.join(BINANCE_AGG_TRADES)})"
        )
    kind = "binance-trades" if names[0] == "id" else "binance-aggtrades"
    return Layout(kind, "time", "price", "qty", "ms_or_us", tuple(names))


def forced_layout(kind: str) -> Layout:
    """The layout ``--format binance-trades`` or ``binance-aggtrades`` names."""
    names = BINANCE_TRADES if kind == "binance-trades" else BINANCE_AGG_TRADES
    return Layout(kind, "time", "price", "qty", "ms_or_us", names)
