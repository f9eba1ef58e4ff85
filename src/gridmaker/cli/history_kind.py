"""What kind of history file a path is, for the commands that replay one (``backtest --feed``,
``plan --history``): ``candles`` (a CSV whose header names the OHLCV columns), ``json``, or a
format ``history.load_history`` reads. Only the first line of a file is ever read here."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

__all__ = ["history_kind"]


def history_kind(path: Path, fmt: str | None = None) -> str:
    """The kind of ``path`` (``fmt`` as ``--format`` gives it, ``None``: detect it)."""
    from gridmaker.feeds.candles import CANDLE_COLUMNS
    from gridmaker.history import detect_format

    if fmt == "candles":
        return fmt
    kind, compression = detect_format(path, fmt)
    if fmt is None and kind == "csv" and compression != "zip":
        names = {cell.strip().lower() for cell in _first_line(path, compression).split(",")}
        if all(column in names for column in CANDLE_COLUMNS):
            return "candles"
    return kind


def _first_line(path: Path, compression: str) -> str:
    """The first line of a (gzip) text file, or ``""``: never the whole file."""
    try:
        with path.open("rb") as raw, gzip.GzipFile(fileobj=raw, mode="rb") as unzipped:
            head = (unzipped if compression == "gzip" else raw).readline(65536)
    except (OSError, EOFError, zlib.error):
        return ""
    return head.decode("utf-8-sig", errors="replace")
