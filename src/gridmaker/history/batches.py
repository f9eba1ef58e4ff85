"""One block of trades as read from a file, before the exact conversion."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa  # type: ignore[import-untyped]  # no stubs

from gridmaker.history.layouts import TimeUnit

__all__ = ["RawBatch"]


@dataclass(frozen=True, slots=True)
class RawBatch:
    """Three columns of equal length, in file order, as the file holds them.

    ``ts`` is integer (or text, when a block's typed parse failed; or an Arrow timestamp);
    ``price`` and ``amount`` are text, ``decimal128``, float or Nautilus fixed-point.
    ``fixed_places``: the decimal places of a fixed-point price and amount (Nautilus: 9, or 16
    in its high-precision build), else ``None``.
    """

    ts: pa.Array | pa.ChunkedArray
    price: pa.Array | pa.ChunkedArray
    amount: pa.Array | pa.ChunkedArray
    time_unit: TimeUnit
    layout: str
    fixed_places: int | None = None
    line_of: Callable[[int], int] | None = None
    """The file line of a 0-based row of this batch (CSV), for a message; only called then."""

    def __len__(self) -> int:
        return len(self.ts)
