"""The simulator's public trade tape: every market print, in order, for the market-data endpoints.

``SimExchange.apply_trade`` records each print it matched as a ``Print`` (id = the symbol's
feed position after it, so ids run 1, 2, 3, ... per symbol as Binance's do). The tape answers
the questions Binance's ``trades``, ``historicalTrades``, ``aggTrades`` and ``klines`` ask: the
most recent prints, prints from an id, prints in a time window.

Time on the tape never runs backwards (a venue's clock does not): a print stamped before the
one it follows is stamped with its predecessor's time, so windows can be found by bisection.
Who was the maker is Binance's tick rule: a print below the last one was sold into (the buyer
made), above it bought, at the same price as the last print's.

With a state file the prints live in its ``prints`` table, written in the transaction of the
trade that made them (``persistence``); a file made before the tape existed gains the table
when opened, and its tape starts at the next print.
"""

from __future__ import annotations

import bisect
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

__all__ = ["CREATE_PRINTS", "Print", "Tape", "read_prints", "write_prints"]

CREATE_PRINTS: Final = (
    "CREATE TABLE IF NOT EXISTS prints (symbol TEXT NOT NULL, id INTEGER NOT NULL,"
    " price TEXT NOT NULL, amount TEXT NOT NULL, ts_event INTEGER NOT NULL,"
    " buyer_maker INTEGER NOT NULL, PRIMARY KEY (symbol, id))"
)
"""Kept out of the checked schema: a file from before the tape is still a valid file."""


@dataclass(frozen=True, slots=True)
class Print:
    """One public trade: its id (per symbol), exact price and amount, time, and the maker side."""

    symbol: str
    id: int
    price: Decimal
    amount: Decimal
    ts_event: int
    buyer_maker: bool


class Tape:
    """The prints of every symbol in memory, oldest first, with their ids and times indexed."""

    def __init__(self) -> None:
        self._prints: dict[str, list[Print]] = {}
        self._ids: dict[str, list[int]] = {}
        self._times: dict[str, list[int]] = {}

    def next_print(
        self, symbol: str, print_id: int, price: Decimal, amount: Decimal, ts_event: int
    ) -> Print:
        """The print a trade makes after the tape's last one (time clamped, maker side by the
        tick rule); not yet added."""
        last = self.last(symbol)
        if last is None:
            return Print(symbol, print_id, price, amount, ts_event, buyer_maker=False)
        buyer_maker = last.buyer_maker if price == last.price else price < last.price
        return Print(symbol, print_id, price, amount, max(ts_event, last.ts_event), buyer_maker)

    def add(self, prints: Iterable[Print]) -> None:
        """Append prints; each must come after its symbol's last (ids and times ascending)."""
        for p in prints:
            ids = self._ids.setdefault(p.symbol, [])
            times = self._times.setdefault(p.symbol, [])
            if ids and (p.id <= ids[-1] or p.ts_event < times[-1]):
                raise ValueError(f"print {p.id} of {p.symbol} does not follow print {ids[-1]}")
            self._prints.setdefault(p.symbol, []).append(p)
            ids.append(p.id)
            times.append(p.ts_event)

    def last(self, symbol: str) -> Print | None:
        prints = self._prints.get(symbol)
        return prints[-1] if prints else None

    def all(self, symbol: str) -> Sequence[Print]:
        return self._prints.get(symbol, [])

    def times(self, symbol: str) -> Sequence[int]:
        """The prints' times, ascending (for bisection)."""
        return self._times.get(symbol, [])

    def recent(self, symbol: str, limit: int) -> Sequence[Print]:
        """The ``limit`` most recent prints, oldest first."""
        return self._prints.get(symbol, [])[-limit:]

    def from_id(self, symbol: str, first_id: int, limit: int) -> Sequence[Print]:
        """Up to ``limit`` prints with id >= ``first_id``, oldest first."""
        start = bisect.bisect_left(self._ids.get(symbol, []), first_id)
        return self._prints.get(symbol, [])[start : start + limit]

    def between(
        self, symbol: str, start_ms: int | None, end_ms: int | None, limit: int
    ) -> Sequence[Print]:
        """Prints with ``start_ms <= time <= end_ms`` (either bound open when ``None``): the
        first ``limit`` of them from a start, else the last ``limit`` before the end."""
        times = self._times.get(symbol, [])
        lo = 0 if start_ms is None else bisect.bisect_left(times, start_ms)
        hi = len(times) if end_ms is None else bisect.bisect_right(times, end_ms)
        prints = self._prints.get(symbol, [])
        if start_ms is None:
            return prints[max(lo, hi - limit) : hi]
        return prints[lo : min(hi, lo + limit)]


def write_prints(db: sqlite3.Connection, prints: Sequence[Print]) -> None:
    """Insert prints (inside the caller's transaction)."""
    rows = [
        (p.symbol, p.id, str(p.price), str(p.amount), p.ts_event, int(p.buyer_maker))
        for p in prints
    ]
    db.executemany("INSERT INTO prints VALUES (?, ?, ?, ?, ?, ?)", rows)


def read_prints(db: sqlite3.Connection) -> list[Print]:
    """Every stored print, by symbol and id."""
    rows = db.execute("SELECT * FROM prints ORDER BY symbol, id")
    return [
        Print(symbol, pid, Decimal(price), Decimal(amount), ts, bool(maker))
        for symbol, pid, price, amount, ts, maker in rows
    ]
