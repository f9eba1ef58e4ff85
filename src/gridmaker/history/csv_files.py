"""CSV trades (plain, ``.gz`` or a one-file ``.zip``), read in blocks of whole lines.

Each block is parsed by Arrow's multi-threaded CSV reader, only the three columns converted:
the time as ``int64``, price and amount as text for the exact converters (``exact.py``), which
turn plain decimal text into ticks in C. A block whose time fails to convert is parsed again
with the time as text, so the bad row is named with its value. A block is a few tens of MB, so
memory stays flat however long the file; line numbers are counted only for a message.
"""

from __future__ import annotations

import gzip
import zipfile
import zlib
from collections.abc import Iterator
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
        first = next(blocks, b"")
        if first.startswith(_BOM):
            first = first[len(_BOM) :]
        if not first[:65536].strip() and not first.strip():
            raise FeedError(f"{file}: empty file, found no trades")
        layout, names, skip = _layout(file, first, forced)
        lines_before = 0
        for number, block in enumerate(_chain(first, blocks)):
            read = pa_csv.ReadOptions(column_names=names, skip_rows=skip if number == 0 else 0)
            lines = _Lines(block, lines_before, skip if number == 0 else 0)
            yield _parse(file, block, read, layout, lines)
            lines_before += block.count(b"\n")


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


def _blocks(file: str, stream: IO[bytes], compression: str) -> Iterator[bytes]:
    """Blocks of whole lines (the last may lack its newline)."""
    rest = b""
    while True:
        try:
            data = stream.read(BLOCK_BYTES)
        except (OSError, EOFError, zlib.error, zipfile.BadZipFile) as exc:
            raise FeedError(f"{file}: not a readable {compression} file ({exc})") from None
        if not data:
            if rest.strip():
                yield rest
            return
        data = rest + data
        cut = data.rfind(b"\n") + 1
        if cut == 0:
            rest = data
            continue
        rest = data[cut:]
        yield data[:cut]


def _chain(first: bytes, blocks: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield from blocks


class _Lines:
    """The file line of a block's data row, counted on demand (a message needs it)."""

    def __init__(self, block: bytes, lines_before: int, skip: int) -> None:
        self._block, self._before, self._skip = block, lines_before, skip

    def __call__(self, row: int) -> int:
        seen = -self._skip
        for number, line in enumerate(self._block.split(b"\n"), start=1):
            if line.strip():
                if seen == row:
                    return self._before + number
                seen += 1
        return self._before


def _first_line(block: bytes) -> list[str]:
    head = block[:65536]
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


def _layout(file: str, first: bytes, forced: str | None) -> tuple[Layout, list[str], int]:
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
    file: str, block: bytes, read: pa_csv.ReadOptions, layout: Layout, lines: _Lines
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
    block: bytes, read: pa_csv.ReadOptions, columns: list[str], types: dict[str, pa.DataType]
) -> pa.Table:
    convert = pa_csv.ConvertOptions(
        include_columns=columns, column_types=types, null_values=[""], strings_can_be_null=False
    )
    return pa_csv.read_csv(pa.BufferReader(block), read_options=read, convert_options=convert)
