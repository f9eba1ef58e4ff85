"""Recorded public trades replayed from a file, validated in full before the first trade is yielded.

Formats, chosen by the name and, where the name says nothing, by the content:

- ``.gz`` (or gzip magic bytes): decompressed first, then the inner name is looked at.
- ``.csv``: a header naming ``timestamp``, ``price`` and ``amount`` (any order, extra columns
  ignored), then one trade per row; timestamps are integer epoch ms, prices and amounts are read as
  ``Decimal`` from their text.
- ``.json``: a list of trades, either ccxt unified trade objects (``timestamp``, ``price``,
  ``amount`` required, other keys ignored) or compact lists
  ``[timestamp_ms, id, type, side, price, amount, cost]`` (``cost`` may be left off). Numbers are
  parsed with ``parse_float=Decimal``, so no float ever holds a price; numeric strings are accepted
  for price and amount.
- Any other name: JSON if the first non-blank character is ``[``, else CSV.

Rows are numbered from 1 over the trades (a CSV message also gives the line). Equal timestamps are
allowed, decreasing ones are not (consumers replay in file order and a data dir's position counts
trades). Prices and amounts are finite, > 0 and below ``MAX_FEED_VALUE``: a price of ``1e400``
would overflow the integer ticks and floats downstream at the same trade on every rerun, so it
is refused here, up front, with its row.
"""

from __future__ import annotations

import csv
import decimal
import gzip
import io
import json
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from gridmaker.feeds.base import (
    MAX_FEED_VALUE,
    FeedError,
    MarketTrade,
    check_tick,
    read_feed_file,
    trades_from,
)

__all__ = ["ReplayFeed"]

_GZIP_MAGIC: Final = b"\x1f\x8b"
_CSV_COLUMNS: Final = ("timestamp", "price", "amount")
_JSON_KEYS: Final = ("timestamp", "price", "amount")
_COMPACT_LAYOUT: Final = "[timestamp_ms, id, type, side, price, amount, cost]"
_INTEGER_TEXT: Final = re.compile(r"-?[0-9]{1,19}")
_SHOWN_MAX: Final = 60
_MAX_TIMESTAMP: Final = 253_402_300_799_999
"""9999-12-31T23:59:59.999Z: the last instant a ``datetime`` (and a report's time axis) holds."""


@dataclass(frozen=True, slots=True)
class ReplayFeed:
    """Every trade of one recorded file, loaded and validated at construction.

    Raises ``FeedError`` naming the file, the row and the value found when the file cannot be
    read, is empty, or holds any malformed row.
    """

    path: Path
    _key: str = field(init=False, repr=False)
    _trades: tuple[MarketTrade, ...] = field(init=False, repr=False, compare=False)
    _lines: tuple[int, ...] = field(init=False, repr=False, compare=False)
    """The CSV line of each trade (empty for JSON), for messages about a row."""

    def __post_init__(self) -> None:
        path = Path(self.path)
        raw, key = read_feed_file(path, "replay")
        lines: list[int] = []
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "_key", key)
        object.__setattr__(self, "_trades", tuple(_parse(str(path), path.name, raw, lines)))
        object.__setattr__(self, "_lines", tuple(lines))

    def where(self, index: int) -> str:
        """The file and row (and CSV line) of the 0-based trade ``index``, for a message."""
        line = f" (line {self._lines[index]})" if index < len(self._lines) else ""
        return f"{self.path} row {index + 1}{line}"

    def check_tick(self, tick_size: Decimal) -> None:
        """Refuse, with its row, the first price that is not a whole number of ``tick_size``.

        The venue only prints prices on its tick; an off-tick row is a recording of another
        market (or a typo) and is named before anything is stored. Raises ``FeedError``.
        """
        check_tick(self._trades, tick_size, self.where)

    @property
    def key(self) -> str:
        """``replay:<file name>:sha256=<first 16 hex chars of the file's SHA-256>``."""
        return self._key

    def trades(self, start: int = 0) -> Iterator[MarketTrade]:
        """Yield the recorded trades from 0-based position ``start`` on."""
        return trades_from(self._trades, start)

    def __len__(self) -> int:
        return len(self._trades)


class _BadValue(Exception):
    """A row is malformed; the caller prefixes the file and row."""


def _parse(file: str, name: str, raw: bytes, lines: list[int]) -> list[MarketTrade]:
    inner = name
    if raw.startswith(_GZIP_MAGIC) or name.lower().endswith(".gz"):
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise FeedError(f"{file}: not a readable gzip file ({exc})") from None
        inner = name[:-3] if name.lower().endswith(".gz") else name
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FeedError(
            f"{file}: not UTF-8 text, found byte {raw[exc.start : exc.start + 1]!r} "
            f"at offset {exc.start}"
        ) from None
    if not text.strip():
        raise FeedError(f"{file}: empty file, found no trades")
    if _is_json(inner, text):
        return _json_trades(file, text)
    return _csv_trades(file, text, lines)


def _is_json(name: str, text: str) -> bool:
    suffix = Path(name).suffix.lower()
    if suffix in (".csv", ".json"):
        return suffix == ".json"
    return text.lstrip().startswith("[")


def _csv_trades(file: str, text: str, lines: list[int]) -> list[MarketTrade]:
    reader = csv.reader(io.StringIO(text, newline=""))
    trades: list[MarketTrade] = []
    try:
        indices, width = _csv_header(file, reader)
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            try:
                _append(trades, _csv_trade(row, indices, width))
                lines.append(reader.line_num)
            except _BadValue as exc:
                where = f"{file} row {len(trades) + 1} (line {reader.line_num})"
                raise FeedError(f"{where}: {exc}") from None
    except csv.Error as exc:
        raise FeedError(f"{file} line {reader.line_num}: unreadable CSV ({exc})") from None
    if not trades:
        raise FeedError(f"{file}: found no trades after the header")
    return trades


def _csv_header(file: str, reader: Iterator[list[str]]) -> tuple[tuple[int, ...], int]:
    header = next((row for row in reader if any(cell.strip() for cell in row)), None)
    if header is None:
        raise FeedError(f"{file}: empty file, found no header")
    names = [cell.strip().lower() for cell in header]
    missing = [column for column in _CSV_COLUMNS if column not in names]
    if missing:
        raise FeedError(
            f"{file} header: missing column {missing[0]!r}; found {_shown(','.join(header))}, "
            f"expected {','.join(_CSV_COLUMNS)}"
        )
    return tuple(names.index(column) for column in _CSV_COLUMNS), len(header)


def _csv_trade(row: list[str], indices: tuple[int, ...], width: int) -> MarketTrade:
    if len(row) != width:
        raise _BadValue(
            f"expected {width} columns as in the header, found {len(row)}: {_shown(','.join(row))}"
        )
    ts_text, price_text, amount_text = (row[index].strip() for index in indices)
    return MarketTrade(
        price=_decimal_text("price", price_text),
        amount=_decimal_text("amount", amount_text),
        ts_event=_timestamp_text(ts_text),
    )


def _json_trades(file: str, text: str) -> list[MarketTrade]:
    data = _load_json(file, text)
    if not isinstance(data, list):
        raise FeedError(f"{file}: expected a JSON list of trades, found {_shown(data)}")
    if not data:
        raise FeedError(f"{file}: empty list, found no trades")
    trades: list[MarketTrade] = []
    for number, item in enumerate(data, start=1):
        try:
            if type(item) is not type(data[0]):
                raise _BadValue(f"expected a trade shaped like row 1, found {_shown(item)}")
            _append(trades, _json_trade(item))
        except _BadValue as exc:
            raise FeedError(f"{file} row {number}: {exc}") from None
    return trades


def _load_json(file: str, text: str) -> Any:
    try:
        return json.loads(text, parse_float=Decimal, parse_constant=Decimal)
    except json.JSONDecodeError as exc:
        raise FeedError(
            f"{file}: invalid JSON at line {exc.lineno} column {exc.colno} ({exc.msg})"
        ) from None
    except (ValueError, RecursionError) as exc:
        raise FeedError(f"{file}: unreadable JSON ({exc})") from None


def _json_trade(item: object) -> MarketTrade:
    if isinstance(item, dict):
        missing = [key for key in _JSON_KEYS if key not in item]
        if missing:
            raise _BadValue(f"missing key {missing[0]!r}; found keys {sorted(map(str, item))}")
        ts, price, amount = item["timestamp"], item["price"], item["amount"]
    elif isinstance(item, list):
        if not 6 <= len(item) <= 7:
            raise _BadValue(f"expected {_COMPACT_LAYOUT}, found {len(item)} values {_shown(item)}")
        ts, price, amount = item[0], item[4], item[5]
    else:
        raise _BadValue(f"expected a trade object or list, found {_shown(item)}")
    return MarketTrade(
        price=_decimal_json("price", price),
        amount=_decimal_json("amount", amount),
        ts_event=_timestamp_json(ts),
    )


def _append(trades: list[MarketTrade], trade: MarketTrade) -> None:
    if trades and trade.ts_event < trades[-1].ts_event:
        raise _BadValue(
            f"timestamp goes backwards, found {trade.ts_event} after {trades[-1].ts_event}"
        )
    trades.append(trade)


def _timestamp_text(text: str) -> int:
    if not text:
        raise _BadValue("missing timestamp, found an empty cell")
    if not _INTEGER_TEXT.fullmatch(text):
        raise _BadValue(f"invalid timestamp, found {_shown(text)}; must be integer epoch ms")
    return _timestamp_value(int(text))


def _timestamp_json(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise _BadValue(f"invalid timestamp, found {_shown(value)}; must be integer epoch ms")
    return _timestamp_value(value)


def _timestamp_value(value: int) -> int:
    if not 0 <= value <= _MAX_TIMESTAMP:
        raise _BadValue(
            f"invalid timestamp, found {value}; must be epoch ms from 0 to {_MAX_TIMESTAMP} "
            "(year 9999)"
        )
    return value


def _decimal_text(what: str, text: str) -> Decimal:
    if not text:
        raise _BadValue(f"missing {what}, found an empty cell")
    try:
        value = Decimal(text)
    except decimal.InvalidOperation:
        raise _BadValue(f"invalid {what}, found {_shown(text)}; must be a decimal number") from None
    return _positive(what, value, _shown(text))


def _decimal_json(what: str, value: object) -> Decimal:
    if isinstance(value, str):
        return _decimal_text(what, value.strip())
    if isinstance(value, int) and not isinstance(value, bool):
        return _positive(what, Decimal(value), str(value))
    if isinstance(value, Decimal):
        return _positive(what, value, str(value))
    raise _BadValue(f"invalid {what}, found {_shown(value)}; must be a number")


def _positive(what: str, value: Decimal, shown: str) -> Decimal:
    if not value.is_finite() or value <= 0 or value >= MAX_FEED_VALUE:
        raise _BadValue(
            f"invalid {what}, found {shown}; must be a finite number > 0 and "
            f"below {MAX_FEED_VALUE:,}"
        )
    return value


def _shown(value: object) -> str:
    """A value as it appeared in the file, cut to a readable length."""
    if value is None:
        text = "null"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, int | Decimal):
        text = str(value)
    elif isinstance(value, str):
        text = repr(value)
    else:
        text = json.dumps(value, default=str)
    return text if len(text) <= _SHOWN_MAX else text[: _SHOWN_MAX - 3] + "..."
