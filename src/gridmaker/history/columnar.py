"""Parquet and feather (Arrow IPC) trades, read a record batch at a time.

Parquet is streamed by row group through ``ParquetFile.iter_batches`` over a memory map;
feather v2 is an Arrow IPC file, memory-mapped so an uncompressed file is never copied (a
compressed one, as freqtrade writes with lz4, is decompressed one batch at a time). Only the
three columns the layout names are read.

Layouts (``layouts.py``): our own parquet as ``gridmaker download`` writes it
(``ts_ms:int64, price:string, amount:string, id:string``), freqtrade's trades, and Nautilus'
trade ticks, whose price and size are fixed-point integers in ``fixed_size_binary(8)`` (value
× 10**9) or ``fixed_size_binary(16)`` (× 10**16, its high-precision build); older catalogs kept
them as ``int64`` (× 10**9) or as decimal text, both read too.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pyarrow as pa  # type: ignore[import-untyped]  # no stubs
import pyarrow.ipc as ipc  # type: ignore[import-untyped]  # no stubs
import pyarrow.parquet as pq  # type: ignore[import-untyped]  # no stubs

from gridmaker.feeds.base import FeedError
from gridmaker.history.batches import RawBatch
from gridmaker.history.layouts import Layout, layout_of

__all__ = ["feather_batches", "parquet_batches"]

BATCH_ROWS: Final = 1 << 20
_FIXED_PLACES: Final = {8: 9, 16: 16}


def parquet_batches(path: Path) -> Iterator[RawBatch]:
    file = str(path)
    try:
        parquet = pq.ParquetFile(path, memory_map=True)
        schema = parquet.schema_arrow
    except (pa.ArrowException, OSError) as exc:
        raise FeedError(f"{file}: not a readable parquet file ({exc})") from None
    layout = layout_of(file, schema.names)
    if parquet.metadata.num_rows == 0:
        raise FeedError(f"{file}: empty file, found no trades")
    fixed = _fixed_places(file, schema, layout)
    columns = [layout.ts, layout.price, layout.amount]
    try:
        for batch in parquet.iter_batches(batch_size=BATCH_ROWS, columns=columns):
            yield _raw(batch, layout, fixed)
    except (pa.ArrowException, OSError) as exc:
        raise FeedError(f"{file}: not a readable parquet file ({exc})") from None


def feather_batches(path: Path) -> Iterator[RawBatch]:
    file = str(path)
    try:
        reader = ipc.open_file(pa.memory_map(str(path), "r"))
    except (pa.ArrowException, OSError) as exc:
        yield from _feather_v1(path, exc)
        return
    layout = layout_of(file, reader.schema.names)
    fixed = _fixed_places(file, reader.schema, layout)
    rows = 0
    try:
        for index in range(reader.num_record_batches):
            batch = reader.get_batch(index)
            rows += batch.num_rows
            if batch.num_rows:
                yield _raw(batch.select([layout.ts, layout.price, layout.amount]), layout, fixed)
    except (pa.ArrowException, OSError) as exc:
        raise FeedError(f"{file}: not a readable feather file ({exc})") from None
    if rows == 0:
        raise FeedError(f"{file}: empty file, found no trades")


def _feather_v1(path: Path, first: Exception) -> Iterator[RawBatch]:
    """Feather v1 (no IPC footer) cannot stream: read whole, as pandas users' old files are."""
    import pyarrow.feather as feather  # type: ignore[import-untyped]  # no stubs

    try:
        table = feather.read_table(str(path))
    except (pa.ArrowException, OSError):
        raise FeedError(f"{path}: not a readable feather file ({first})") from None
    layout = layout_of(str(path), table.schema.names)
    if table.num_rows == 0:
        raise FeedError(f"{path}: empty file, found no trades")
    fixed = _fixed_places(str(path), table.schema, layout)
    for batch in table.select([layout.ts, layout.price, layout.amount]).to_batches(BATCH_ROWS):
        yield _raw(batch, layout, fixed)


def _fixed_places(file: str, schema: pa.Schema, layout: Layout) -> int | None:
    """Decimal places of a Nautilus fixed-point price column, ``None`` for text or decimals."""
    kind = schema.field(layout.price).type
    if pa.types.is_fixed_size_binary(kind):
        places = _FIXED_PLACES.get(kind.byte_width)
        if places is None:
            raise FeedError(
                f"{file}: column {layout.price!r} is {kind}; expected 8 or 16 bytes "
                "(Nautilus fixed-point)"
            )
        return places
    if layout.name == "nautilus" and pa.types.is_integer(kind):
        return 9
    return None


def _raw(batch: pa.RecordBatch, layout: Layout, fixed: int | None) -> RawBatch:
    return RawBatch(
        ts=batch.column(layout.ts),
        price=batch.column(layout.price),
        amount=batch.column(layout.amount),
        time_unit=layout.time_unit,
        layout=layout.name,
        fixed_places=fixed,
    )
