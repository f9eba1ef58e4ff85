"""CSV trades (plain, ``.gz`` or a one-file ``.zip``), read in blocks of whole lines.

Each block is parsed by Arrow's multi-threaded CSV reader, only the three columns converted:
the time as ``int64``, price and amount as text for the exact converters (``exact.py``), which
turn plain decimal text into ticks in C. A block whose time fails to convert is parsed again
with the time as text, so the bad row is named with its value. A block is a few tens of MB, so
memory stays flat however long the file; line numbers are counted only for a message. The
next block is parsed on a second thread while the caller converts this one (Arrow releases the
GIL in both), so two cores are busy.
"""

from __future__ import annotations

import gzip
import zipfile
import zlib
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Final, cast

import pyarrow as pa  # type: ignore[import-untyped]  # no stubs
import pyarrow.csv as pa_csv  # type: ignore[import-untyped]  # no stubs

from gridmaker.feeds.base import FeedError
from gridmaker.history.batches import RawBatch
from gridmaker.history.layouts import Layout, forced_layout, headerless_layout, layout_of

__all__ = ["csv_batches"]

BLOCK_BYTES: Final = 32 << 20
_BOM: Final = b"\xef\xbb\xbf"


def csv_batches(path: Path, compression: str, forced: str | None) -> Iterator[RawBatch]:
    """Every trade of a CSV file in file order, a block at a time; ``FeedError`` if unreadable."""
    file = str(path)
    with ExitStack() as stack:
        stream = _open(path, compression, stack)
        blocks = _blocks(file, stream, compression)
        first = next(blocks, memoryview(b""))
        offset = 0
        if bytes(first[:3]) == _BOM:
            first, offset = first[len(_BOM) :], len(_BOM)
        if not bytes(first[:65536]).strip() and not bytes(first).strip():
            raise FeedError(f"{file}: empty file, found no trades")
        layout, names, skip = _layout(file, first, forced)
        pool = stack.enter_context(ThreadPoolExecutor(1, thread_name_prefix="csv"))
        pending: Future[RawBatch] | None = None
        for number, block in enumerate(_chain(first, blocks)):
            read = pa_csv.ReadOptions(column_names=names, skip_rows=skip if number == 0 else 0)
            lines = _Lines(block, _LinesBefore(path, compression, offset), skip * (number == 0))
            parsed = pool.submit(_parse, file, block, read, layout, lines)
            if pending is not None:
                yield pending.result()  # converted while the next block is parsed
            pending = parsed
            offset += len(block)
        if pending is not None:
            yield pending.result()


def _open(path: Path, compression: str, stack: ExitStack) -> IO[bytes]:
    file = str(path)
    try:
        if compression == "zip":
            archive = stack.enter_context(zipfile.ZipFile(path))
            members = [info for info in archive.infolist() if not info.is_dir()]
            if len(members) != 1:
                names = ", ".join(info.filename for info in members[:5]) or "none"
                raise FeedError(f"{file}: a zip must hold exactly one CSV file; found {names}")
            return stack.enter_context(archive.open(members[0]))
        raw = stack.enter_context(path.open("rb"))
        if compression == "gzip":
            unzipped = cast(IO[bytes], gzip.GzipFile(fileobj=raw, mode="rb"))
            return stack.enter_context(unzipped)
        return raw
    except zipfile.BadZipFile as exc:
        raise FeedError(f"{file}: not a readable zip file ({exc})") from None
    except OSError as exc:
        raise FeedError(f"{file}: cannot read the file ({exc.strerror or exc})") from None


def _blocks(file: str, stream: IO[bytes], compression: str) -> Iterator[memoryview]:
    """Blocks of whole lines (the last may lack its newline), each in its own buffer: read in
    place and handed to Arrow without a copy."""
    rest = b""
    while True:
        buffer = bytearray(len(rest) + BLOCK_BYTES)
        buffer[: len(rest)] = rest
        try:
            got = stream.readinto(memoryview(buffer)[len(rest) :])  # type: ignore[attr-defined]
        except (OSError, EOFError, zlib.error, zipfile.BadZipFile) as exc:
            raise FeedError(f"{file}: not a readable {compression} file ({exc})") from None
        if not got:
            if rest.strip():
                yield memoryview(rest)
            return
        end = len(rest) + got
        cut = buffer.rfind(b"\n", 0, end) + 1
        rest = bytes(buffer[cut:end])
        if cut:
            yield memoryview(buffer)[:cut]


def _chain(first: memoryview, blocks: Iterator[memoryview]) -> Iterator[memoryview]:
    yield first
    yield from blocks


class _LinesBefore:
    """The lines of the file before a byte offset: read again, only when a message needs it."""

    def __init__(self, path: Path, compression: str, offset: int) -> None:
        self._path, self._compression, self._offset = path, compression, offset

    def __call__(self) -> int:
        count, left = 0, self._offset
        with ExitStack() as stack:
            stream = _open(self._path, self._compression, stack)
            while left > 0:
                chunk = stream.read(min(left, BLOCK_BYTES))
                if not chunk:
                    break
                count += chunk.count(b"\n")
                left -= len(chunk)
        return count


class _Lines:
    """The file line of a block's data row, counted on demand (a message needs it)."""

    def __init__(self, block: memoryview, before: _LinesBefore, skip: int) -> None:
        self._block, self._before, self._skip = block, before, skip

    def __call__(self, row: int) -> int:
        seen = -self._skip
        before = self._before()
        for number, line in enumerate(bytes(self._block).split(b"\n"), start=1):
            if line.strip():
                if seen == row:
                    return before + number
                seen += 1
        return before


def _first_line(block: memoryview) -> list[str]:
    head = bytes(block[:65536])
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:
            found = head[exc.start : exc.start + 1]
            raise FeedError(f"not UTF-8 text, found byte {found!r} at offset {exc.start}") from None
    for line in head.splitlines():
        if line.strip():
            return line.decode("utf-8", errors="replace").strip().split(",")
    return []


def _layout(file: str, first: memoryview, forced: str | None) -> tuple[Layout, list[str], int]:
    """The layout, the column names to give every block, and the header rows to skip."""
    try:
        cells = [cell.strip() for cell in _first_line(first)]
    except FeedError as exc:
        raise FeedError(f"{file}: {exc}") from None
    if forced in ("binance-trades", "binance-aggtrades"):
        layout = forced_layout(forced)
        has_header = bool(cells) and not cells[0].lstrip("-").isdigit()
        return layout, list(layout.names or ()), int(has_header)
    headerless = headerless_layout(file, cells)
    if headerless is not None:
        return headerless, list(headerless.names or ()), 0
    return layout_of(f"{file} header", cells), cells, 1


def _parse(
    file: str, block: memoryview, read: pa_csv.ReadOptions, layout: Layout, lines: _Lines
) -> RawBatch:
    columns = [layout.ts, layout.price, layout.amount]
    typed = {layout.ts: pa.int64(), layout.price: pa.string(), layout.amount: pa.string()}
    try:
        table = _read(block, read, columns, typed)
    except pa.ArrowInvalid as exc:
        if "CSV parse error" in str(exc):
            raise FeedError(f"{file}: unreadable CSV ({exc})") from None
        text = dict.fromkeys(columns, pa.string())
        try:
            table = _read(block, read, columns, text)
        except pa.ArrowInvalid as again:
            raise FeedError(f"{file}: unreadable CSV ({again})") from None
    except (pa.ArrowKeyError, KeyError) as exc:
        raise FeedError(f"{file}: unreadable CSV ({exc})") from None
    return RawBatch(
        ts=table.column(layout.ts),
        price=table.column(layout.price),
        amount=table.column(layout.amount),
        time_unit=layout.time_unit,
        layout=layout.name,
        line_of=lines,
    )


def _read(
    block: memoryview, read: pa_csv.ReadOptions, columns: list[str], types: dict[str, pa.DataType]
) -> pa.Table:
    convert = pa_csv.ConvertOptions(
        include_columns=columns, column_types=types, null_values=[""], strings_can_be_null=False
    )
    source = pa.BufferReader(pa.py_buffer(block))
    return pa_csv.read_csv(source, read_options=read, convert_options=convert)
