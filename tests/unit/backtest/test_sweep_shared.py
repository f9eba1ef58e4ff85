"""A sweep's workers map the series from one shared file instead of receiving it pickled."""

from __future__ import annotations

import pickle
from array import array
from pathlib import Path
from typing import Any

import pytest

from gridmaker.backtest import sweep
from gridmaker.backtest.series import TickSeries
from gridmaker.backtest.sweep import SharedSeries, run_sweep

PRICES = [5_000_000 + (i * 37) % 1000 for i in range(5000)]
BORN = "fresh"
"""Set to "parent" by a test before a sweep: a forked worker would inherit it, a fresh one not."""


class Unpicklable(list[int]):
    """Prices that refuse to be pickled, as a month of trades should never be."""

    def __reduce__(self) -> Any:
        raise TypeError("the series was pickled")


def describe_series(settings: dict[str, str]) -> Any:
    """A setup that reports what the worker's series holds (as the row's error)."""
    series = sweep._SERIES
    assert series is not None and series.amounts is not None
    raise ValueError(
        f"{settings['levels']}: {BORN} n={len(series)} sum={sum(series.prices)} "
        f"amount={series.amounts[7]} ts={series.ts_at(4999)} spread={series.spread_ticks}"
    )


def series() -> TickSeries:
    return TickSeries(
        prices=Unpicklable(PRICES),
        amounts=array("q", range(5000)),
        ts_event=array("q", range(10, 5010)),
        spread_ticks=1,
    )


def test_shared_series_reads_back_every_integer(tmp_path: Path) -> None:
    # Arrange
    shared = SharedSeries.write(series(), str(tmp_path))

    # Act
    mapped = shared.open()

    # Assert
    assert list(mapped.prices) == PRICES
    assert mapped.amounts is not None and list(mapped.amounts) == list(range(5000))
    assert mapped.ts_event is not None and list(mapped.ts_event) == list(range(10, 5010))
    assert mapped.spread_ticks == 1
    assert len(pickle.dumps(shared)) < 500
    shared.remove()
    assert list(tmp_path.iterdir()) == []


def test_run_sweep_fresh_workers_map_the_series_without_pickling_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Arrange
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)
    monkeypatch.setattr(f"{__name__}.BORN", "parent")
    combos = [{"levels": str(n)} for n in (5, 10, 15)]
    expected = f"fresh n=5000 sum={sum(PRICES)} amount=7 ts=5009 spread=1"

    # Act
    rows = run_sweep(describe_series, series(), combos, workers=2)

    # Assert
    assert sorted(r["error"] for r in rows) == [f"{n}: {expected}" for n in (10, 15, 5)]
    assert list(tmp_path.glob("gridmaker-sweep-*")) == [], "the shared file is removed"
