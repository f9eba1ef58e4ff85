"""A history file to compact integer arrays: detect the format, read in blocks, convert exactly.

The arrays grow as ``array('q')`` one block at a time (8 bytes per value, no Python object per
trade); the replay loop reads them as they are, and a sweep maps their bytes into its workers.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]  # no stubs
import pyarrow.compute as pc  # type: ignore[import-untyped]  # no stubs

from gridmaker.core.units import Instrument
from gridmaker.feeds.base import FeedError
from gridmaker.history.batches import RawBatch
from gridmaker.history.columnar import feather_batches, parquet_batches
from gridmaker.history.csv_files import csv_batches
from gridmaker.history.exact import (
    Ints,
    Unit,
    Where,
    amount_steps,
    fixed_point,
    price_ticks,
    shown,
)

__all__ = ["FORMATS", "History", "detect_format", "load_history"]

FORMATS: Final = ("csv", "binance-trades", "binance-aggtrades", "feather", "parquet")
"""The formats read here; ``detect_format`` may also answer ``json``, which the recorded-trade
reader of ``feeds`` reads."""
MAX_TIMESTAMP: Final = 253_402_300_799_999
"""9999-12-31T23:59:59.999Z in epoch ms, as the recorded-trade reader allows."""
_MICROS_FROM: Final = 10**15
_MAGIC: Final = (
    (b"PAR1", "parquet"),
    (b"ARROW1", "feather"),
    (b"FEA1", "feather"),
)
_SUFFIXES: Final = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".feather": "feather",
    ".arrow": "feather",
    ".ipc": "feather",
    ".json": "json",
}


@dataclass(frozen=True, slots=True)
class History:
    """Every trade of a file in integer ticks, whole steps and epoch ms, in file order."""

    prices: array[int]
    amounts: array[int]
    ts_ms: array[int]
    layout: str
    """The layout read: ``trades`` (ours, freqtrade), ``binance-trades``, ``nautilus``, …"""
    snapped: int
    """Prices rounded down to the tick (only with ``snap``)."""

    def __len__(self) -> int:
        return len(self.prices)


def detect_format(path: Path, forced: str | None = None) -> tuple[str, str]:
    """The format (one of ``FORMATS``) and compression (``""``, ``gzip``, ``zip``) of a file.

    Magic bytes first, then the name; plain text is JSON when it starts with ``[``.
    """
    try:
        with path.open("rb") as f:
            head = f.read(4096)
    except OSError as exc:
        raise FeedError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    name = path.name.lower()
    compression = "gzip" if head.startswith(b"\x1f\x8b") or name.endswith(".gz") else ""
    if head.startswith(b"PK\x03\x04") or name.endswith(".zip"):
        compression = "zip"
    inner = name.removesuffix(".gz").removesuffix(".zip")
    if forced is not None:
        return forced, compression
    if not compression:
        for magic, found in _MAGIC:
            if head.startswith(magic):
                return found, ""
    by_name = _SUFFIXES.get(Path(inner).suffix)
    if by_name is not None:
        return by_name, compression
    if not compression and head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"["):
        return "json", ""
    return "csv", compression


def load_history(
    path: Path,
    instrument: Instrument,
    *,
    fmt: str | None = None,
    snap: bool = False,
    limit: int | None = None,
) -> History:
    """The first ``limit`` trades (all when ``None``) of a CSV, Binance, feather or parquet file.

    Raises ``FeedError`` naming the file (and the row, the column or the value) for anything
    that is not a trade file of a known layout, and for an off-tick price unless ``snap``.
    """
    kind, compression = detect_format(path, fmt)
    if kind not in FORMATS:
        raise FeedError(f"{path}: JSON trades are read by the recorded-trade reader, not here")
    tick, step = Unit.of(instrument.tick_size), Unit.of(instrument.step_size)
    prices, amounts, stamps = array("q"), array("q"), array("q")
    snapped, last_ts, layout = 0, 0, kind
    for batch in _batches(path, kind, compression):
        if limit is not None and len(prices) + len(batch) > limit:
            batch = _head(batch, limit - len(prices))
        where = _where(path, len(prices), batch)

        ticks, steps, ms, count = _convert(batch, tick, step, where, snap=snap)
        if len(ms) and ms[0] < last_ts:
            raise FeedError(f"{where(0)}: timestamp goes backwards, found {ms[0]} after {last_ts}")
        prices.frombytes(ticks.tobytes())
        amounts.frombytes(steps.tobytes())
        stamps.frombytes(ms.tobytes())
        snapped += count
        layout = batch.layout
        last_ts = int(ms[-1]) if len(ms) else last_ts
        if limit is not None and len(prices) >= limit:
            break
    if not prices:
        raise FeedError(f"{path}: found no trades")
    return History(prices, amounts, stamps, layout, snapped)


def _batches(path: Path, kind: str, compression: str) -> Iterator[RawBatch]:
    if kind == "parquet":
        return parquet_batches(path)
    if kind == "feather":
        return feather_batches(path)
    forced = kind if kind.startswith("binance-") else None
    return csv_batches(path, compression, forced)


def _where(path: Path, rows_before: int, batch: RawBatch) -> Where:
    line_of = batch.line_of

    def where(index: int) -> str:
        line = "" if line_of is None else f" (line {line_of(index)})"
        return f"{path} row {rows_before + index + 1}{line}"

    return where


def _head(batch: RawBatch, n: int) -> RawBatch:
    return RawBatch(
        batch.ts.slice(0, n),
        batch.price.slice(0, n),
        batch.amount.slice(0, n),
        batch.time_unit,
        batch.layout,
        batch.fixed_places,
        batch.line_of,
    )


def _convert(
    batch: RawBatch, tick: Unit, step: Unit, where: Where, *, snap: bool
) -> tuple[Ints, Ints, Ints, int]:
    price, amount = batch.price, batch.amount
    if batch.fixed_places is not None:
        price = fixed_point(price, batch.fixed_places, "price", where)
        amount = fixed_point(amount, batch.fixed_places, "amount", where)
    ticks, snapped = price_ticks(price, tick, where, snap=snap)
    steps = amount_steps(amount, step, where)
    return ticks, steps, _timestamps(batch, where), snapped


def _timestamps(batch: RawBatch, where: Where) -> Ints:
    column = batch.ts.combine_chunks() if isinstance(batch.ts, pa.ChunkedArray) else batch.ts
    if pa.types.is_timestamp(column.type):
        column = pc.cast(column, pa.timestamp("ms"), safe=False).cast(pa.int64())
    elif not pa.types.is_integer(column.type):
        column = _integer_text(column, where)
    if column.null_count:
        index = int(np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))[0])
        raise FeedError(f"{where(index)}: missing timestamp, found an empty cell")
    raw = column.cast(pa.int64(), safe=False).to_numpy(zero_copy_only=False)
    if batch.time_unit == "ns":
        ms = raw // 1_000_000
    elif batch.time_unit == "ms_or_us":
        ms = np.where(raw >= _MICROS_FROM, raw // 1000, raw)
    else:
        ms = raw
    bad = np.flatnonzero((ms < 0) | (ms > MAX_TIMESTAMP))
    if bad.size:
        raise FeedError(
            f"{where(int(bad[0]))}: invalid timestamp, found {raw[bad[0]]}; must be epoch ms "
            f"from 0 to {MAX_TIMESTAMP} (year 9999)"
        )
    back = np.flatnonzero(ms[1:] < ms[:-1])
    if back.size:
        index = int(back[0]) + 1
        raise FeedError(
            f"{where(index)}: timestamp goes backwards, found {ms[index]} after {ms[index - 1]}"
        )
    return np.ascontiguousarray(ms, dtype=np.int64)


def _integer_text(column: pa.Array, where: Where) -> pa.Array:
    try:
        return pc.cast(pc.utf8_trim_whitespace(column), pa.int64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    for index, value in enumerate(column.to_pylist()):
        text = "" if value is None else str(value).strip()
        if not text:
            raise FeedError(f"{where(index)}: missing timestamp, found an empty cell")
        if not text.lstrip("-").isdigit() or not 0 <= int(text) < 2**63:
            raise FeedError(
                f"{where(index)}: invalid timestamp, found {shown(value)}; must be integer epoch "
                f"ms from 0 to {MAX_TIMESTAMP} (year 9999)"
            )
    raise FeedError(f"{where(0)}: invalid timestamps; must be integer epoch ms")
