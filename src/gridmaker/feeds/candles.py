"""OHLCV candles replayed as trades: an approximation for when no trade history is at hand.

Format: CSV with a header naming ``timestamp`` (epoch ms of the candle's open), ``open``,
``high``, ``low``, ``close`` and ``volume`` (any order, extra columns ignored); ``.gz`` allowed.

Each candle becomes four trades, in the order a price most plausibly took: a rising candle
(close >= open) prints open → low → high → close, a falling one open → high → low → close.
Each print carries a quarter of the volume, at the candle's timestamp plus a quarter of the
time to the next candle per print. What happened inside the candle is unknown: a level crossed
twice within one candle is seen once, so fills are a lower bound of what trades would give.
A candle with zero volume had no trades and prints nothing.
"""

from __future__ import annotations

import csv
import decimal
import gzip
import io
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Final

from gridmaker.feeds.base import (
    MAX_FEED_VALUE,
    FeedError,
    MarketTrade,
    check_tick,
    read_feed_file,
    trades_from,
)

__all__ = ["CANDLE_COLUMNS", "CandleFeed", "is_candle_csv"]

CANDLE_COLUMNS: Final = ("timestamp", "open", "high", "low", "close", "volume")


@dataclass(frozen=True, slots=True, kw_only=True)
class Candle:
    line: int
    """The CSV line it was read from, for messages."""
    ts_event: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal

    def path(self) -> tuple[Decimal, Decimal, Decimal, Decimal]:
        if self.close >= self.open:
            return self.open, self.low, self.high, self.close
        return self.open, self.high, self.low, self.close


@dataclass(frozen=True, slots=True)
class CandleFeed:
    """Every candle of one CSV file, loaded and validated at construction; raises ``FeedError``."""

    path: Path
    _key: str = field(init=False, repr=False)
    _trades: tuple[MarketTrade, ...] = field(init=False, repr=False, compare=False)
    _origins: tuple[tuple[int, int], ...] = field(init=False, repr=False, compare=False)
    """(candle number, CSV line) of each expanded trade, for messages."""

    def __post_init__(self) -> None:
        path = Path(self.path)
        raw, key = read_feed_file(path, "candles")
        candles = _parse(str(path), _text(str(path), raw))
        expanded = list(_expand(candles))
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "_key", key)
        object.__setattr__(self, "_trades", tuple(trade for _, trade in expanded))
        object.__setattr__(self, "_origins", tuple((n + 1, candles[n].line) for n, _ in expanded))

    def where(self, index: int) -> str:
        """The file, candle and CSV line the 0-based trade ``index`` was expanded from."""
        number, line = self._origins[index]
        return f"{self.path} candle {number} (line {line})"

    def check_tick(self, tick_size: Decimal) -> None:
        """Refuse, with its candle, the first price that is not a whole number of ticks."""
        check_tick(self._trades, tick_size, self.where)

    @property
    def key(self) -> str:
        """``candles:<file name>:sha256=<first 16 hex chars of the file's SHA-256>``."""
        return self._key

    def trades(self, start: int = 0) -> Iterator[MarketTrade]:
        """Yield the expanded trades from 0-based position ``start`` on."""
        return trades_from(self._trades, start)

    def __len__(self) -> int:
        return len(self._trades)


def is_candle_csv(path: Path) -> bool:
    """True when ``path`` reads as CSV whose header names the OHLCV columns."""
    try:
        raw = path.read_bytes()
        header = next(csv.reader(io.StringIO(_text(str(path), raw))), [])
    except (OSError, FeedError, csv.Error):
        return False
    names = {cell.strip().lower() for cell in header}
    return all(column in names for column in CANDLE_COLUMNS)


def _text(file: str, raw: bytes) -> str:
    if raw.startswith(b"\x1f\x8b"):
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise FeedError(f"{file}: not a readable gzip file ({exc})") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FeedError(f"{file}: not UTF-8 text at offset {exc.start}") from None


def _parse(file: str, text: str) -> list[Candle]:
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        raise FeedError(f"{file}: empty file, found no header")
    names = [cell.strip().lower() for cell in header]
    missing = [c for c in CANDLE_COLUMNS if c not in names]
    if missing:
        raise FeedError(
            f"{file} header: missing column {missing[0]!r}; found {','.join(header)[:60]!r}, "
            f"expected {','.join(CANDLE_COLUMNS)}"
        )
    at = [names.index(c) for c in CANDLE_COLUMNS]
    candles: list[Candle] = []
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        where = f"{file} candle {len(candles) + 1} (line {reader.line_num})"
        if len(row) != len(names):
            raise FeedError(f"{where}: expected {len(names)} columns, found {len(row)}")
        candle = _candle(where, reader.line_num, [row[i].strip() for i in at])
        if candles and candle.ts_event <= candles[-1].ts_event:
            raise FeedError(
                f"{where}: timestamp must increase, found {candle.ts_event} "
                f"after {candles[-1].ts_event}"
            )
        candles.append(candle)
    if not candles:
        raise FeedError(f"{file}: found no candles after the header")
    return candles


def _candle(where: str, line: int, cells: list[str]) -> Candle:
    ts_text, *numbers = cells
    try:
        ts = int(ts_text)
    except ValueError:
        raise FeedError(
            f"{where}: invalid timestamp {ts_text!r}; must be integer epoch ms"
        ) from None
    values: list[Decimal] = []
    for name, text in zip(CANDLE_COLUMNS[1:], numbers, strict=True):
        try:
            value = Decimal(text)
        except decimal.InvalidOperation:
            raise FeedError(f"{where}: invalid {name} {text!r}; must be a number") from None
        if (
            not value.is_finite()
            or value < 0
            or (name != "volume" and value == 0)
            or value >= MAX_FEED_VALUE
        ):
            least = ">= 0" if name == "volume" else "> 0"
            raise FeedError(
                f"{where}: invalid {name} {text!r}; must be a finite number {least} and "
                f"below {MAX_FEED_VALUE:,}"
            )
        values.append(value)
    o, h, low, c, v = values
    if not (low <= min(o, c) and max(o, c) <= h):
        raise FeedError(f"{where}: low {low} and high {h} must bound open {o} and close {c}")
    return Candle(line=line, ts_event=ts, open=o, high=h, low=low, close=c, volume=v)


def _expand(candles: list[Candle]) -> Iterator[tuple[int, MarketTrade]]:
    """Each candle's prints, with the candle's index."""
    for i, candle in enumerate(candles):
        if candle.volume == 0:
            continue
        if i + 1 < len(candles):
            span = candles[i + 1].ts_event - candle.ts_event
        else:
            span = candle.ts_event - candles[i - 1].ts_event if i else 4
        amount = candle.volume / 4
        for k, price in enumerate(candle.path()):
            ts = candle.ts_event + k * span // 4
            yield i, MarketTrade(price=price, amount=amount, ts_event=ts)
