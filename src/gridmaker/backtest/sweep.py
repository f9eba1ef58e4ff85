"""Parameter sweeps: every combination of a few grid settings, backtested on a process pool.

The series is written once to a temporary file of raw 64-bit integers that every worker maps
read-only (``SharedSeries``): a month of trades is neither pickled to each worker nor loaded
again, and the pages are the operating system's to share. Workers start fresh (``forkserver``
where there is one, else ``spawn``), not forked from this process: a history file leaves
Arrow's thread pools running here, and a forked child of a threaded process can deadlock.

A spec is ``name=low..high:count`` (``count`` evenly spaced values, both ends included) or
``name=a,b,c``. Names: ``spacing`` (a percent like ``0.1%`` or an absolute price),
``levels`` (sets ``buy_levels`` and ``sell_levels``), ``buy_levels``, ``sell_levels``,
``order_size``, ``mode``, ``kind``, ``trailing``.
"""

from __future__ import annotations

import csv
import itertools
import mmap
import multiprocessing
import os
import tempfile
from array import array
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Final

from gridmaker.backtest.engine import run_backtest
from gridmaker.backtest.result import BacktestSetup
from gridmaker.backtest.series import TickSeries

__all__ = [
    "GRID_KEYS",
    "INTEGER_KEYS",
    "SetupOf",
    "SharedSeries",
    "SweepError",
    "parse_specs",
    "run_sweep",
    "write_csv",
]

GRID_KEYS: Final = {"spacing", "buy_levels", "sell_levels", "kind", "trailing"}
_MARKET_KEYS: Final = {"order_size", "mode"}
INTEGER_KEYS: Final = {"levels", "buy_levels", "sell_levels"}
RANK_KEY: Final = "total_pnl"
SetupOf = Callable[[dict[str, str]], BacktestSetup]
"""One combination's setup (picklable: it goes to the worker processes); a combination that
cannot run raises ``ValueError``, whose message becomes that row's error."""


class SweepError(ValueError):
    """A sweep spec is malformed; the message quotes it."""


def parse_specs(specs: Sequence[str]) -> list[dict[str, str]]:
    """Every combination of the specs' values, as setting name → text value."""
    axes: list[list[tuple[str, str]]] = []
    for spec in specs:
        name, sep, values = spec.partition("=")
        name = name.strip()
        if not sep or not values.strip():
            raise SweepError(f"sweep spec must be name=values, was {spec!r}")
        if name not in GRID_KEYS | _MARKET_KEYS | {"levels"}:
            known = ", ".join(sorted(GRID_KEYS | _MARKET_KEYS | {"levels"}))
            raise SweepError(f"unknown sweep setting {name!r} in {spec!r}; one of {known}")
        axes.append([(name, v) for v in _values(name, values.strip(), spec)])
    return [dict(combo) for combo in itertools.product(*axes)]


def _values(name: str, text: str, spec: str) -> list[str]:
    if ".." not in text:
        return [v.strip() for v in text.split(",") if v.strip()]
    span, _, count_text = text.partition(":")
    low_text, _, high_text = span.partition("..")
    is_percent = low_text.strip().endswith("%")
    try:
        low = Decimal(low_text.strip().rstrip("%"))
        high = Decimal(high_text.strip().rstrip("%"))
        count = int(count_text) if count_text else 2
    except (InvalidOperation, ValueError):
        raise SweepError(f"sweep range must be low..high:count, was {spec!r}") from None
    if count < 1 or high < low:
        raise SweepError(f"sweep range needs low <= high and count >= 1, was {spec!r}")
    steps = [low if count == 1 else low + (high - low) * k / (count - 1) for k in range(count)]
    if name in INTEGER_KEYS:
        return [str(int(v.to_integral_value())) for v in steps]
    quantum = Decimal("0.0001") if is_percent else Decimal("0.00000001")
    suffix = "%" if is_percent else ""
    return [f"{v.quantize(quantum).normalize():f}{suffix}" for v in steps]


_SERIES: TickSeries | None = None
_MAPPED: list[mmap.mmap] = []
"""The worker's map of the shared series, kept open for the worker's life."""


@dataclass(frozen=True, slots=True)
class SharedSeries:
    """Where a series' integers lie in a shared file: prices, then amounts, then timestamps.

    Small and picklable: this, not the series, is what each worker receives.
    """

    path: str
    length: int
    has_amounts: bool
    has_stamps: bool
    spread_ticks: int

    @classmethod
    def write(cls, series: TickSeries, folder: str | None = None) -> SharedSeries:
        """Write ``series`` to a new temporary file (the caller removes it with ``remove``)."""
        handle, path = tempfile.mkstemp(prefix="gridmaker-sweep-", suffix=".q", dir=folder)
        with os.fdopen(handle, "wb") as out:
            for values in (series.prices, series.amounts, series.ts_event):
                if values is not None:
                    out.write(
                        values if isinstance(values, array | memoryview) else array("q", values)
                    )
        return cls(
            path,
            len(series),
            series.amounts is not None,
            series.ts_event is not None,
            series.spread_ticks,
        )

    def open(self) -> TickSeries:
        """Map the file read-only: the series' sequences are views of the shared pages."""
        with Path(self.path).open("rb") as f:
            mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        _MAPPED.append(mapped)
        words = memoryview(mapped).cast("q")
        n = self.length
        amounts = words[n : 2 * n] if self.has_amounts else None
        start = 2 * n if self.has_amounts else n
        stamps = words[start : start + n] if self.has_stamps else None
        return TickSeries(
            prices=words[:n], amounts=amounts, ts_event=stamps, spread_ticks=self.spread_ticks
        )

    def remove(self) -> None:
        Path(self.path).unlink(missing_ok=True)


def _init(series: TickSeries) -> None:
    global _SERIES
    _SERIES = series


def _init_shared(shared: SharedSeries) -> None:
    _init(shared.open())


def _one(setup_of: SetupOf, settings: dict[str, str]) -> dict[str, Any]:
    assert _SERIES is not None
    try:
        summary = run_backtest(setup_of(settings), _SERIES, record=False).summary()
    except ValueError as e:
        return {**settings, "error": str(e).splitlines()[-1].strip()}
    return {**settings, **summary}


def run_sweep(
    setup_of: SetupOf,
    series: TickSeries,
    combos: Sequence[dict[str, str]],
    *,
    workers: int | None = None,
    on_done: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Backtest every combination (on ``workers`` processes, default: every CPU); ranked rows.

    With more than one worker the series is shared through a mapped file (``SharedSeries``).
    """
    workers = workers or os.cpu_count() or 1
    rows: list[dict[str, Any]] = []
    if workers == 1:
        _init(series)
        for settings in combos:
            rows.append(_one(setup_of, settings))
            if on_done is not None:
                on_done(rows[-1])
        return rank(rows)
    shared = SharedSeries.write(series)
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    try:
        with ProcessPoolExecutor(
            workers, mp_context=context, initializer=_init_shared, initargs=(shared,)
        ) as pool:
            futures = [pool.submit(_one, setup_of, settings) for settings in combos]
            for future in as_completed(futures):
                if on_done is not None:
                    on_done(future.result())
            # In the combinations' order, as one worker makes them: ties in the ranking (the
            # refused combinations, equal PnL) then come out the same whatever finished first.
            rows.extend(future.result() for future in futures)
    finally:
        shared.remove()
    return rank(rows)


def rank(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Best total PnL first; failed combinations last."""
    return sorted(rows, key=lambda r: ("error" in r, -Decimal(str(r.get(RANK_KEY, "0")))))


def write_csv(rows: Sequence[dict[str, Any]], path: Path) -> None:
    columns: list[str] = ["rank"]
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=columns)
        writer.writeheader()
        for number, row in enumerate(rows, start=1):
            writer.writerow({"rank": number, **row})
