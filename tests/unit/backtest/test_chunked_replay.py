"""A compact series (a loaded history file's arrays) replays a chunk at a time with exactly
the result of the same prints as a list: chunk edges move no fill and no decision."""

from __future__ import annotations

import random
from array import array
from collections.abc import Sequence
from typing import cast

import numpy as np
import pytest

from gridmaker.backtest import TickSeries, fills_of, run_backtest
from gridmaker.backtest import engine as backtest_engine
from tests.unit.backtest.test_engine import P0, SP, _setup


def _walk(n: int, seed: int) -> list[int]:
    rng = random.Random(seed)
    price, prices = P0, []
    for _ in range(n):
        price += rng.choice((-1, 1)) * rng.randrange(0, SP)
        prices.append(price)
    return prices


@pytest.mark.parametrize("kind", ["numpy", "array"])
def test_a_compact_series_replays_like_a_list_across_chunk_edges(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Arrange: chunks of 7 prints, so fills and level changes land on every chunk edge
    prices = _walk(2_000, seed=3)
    stamps = list(range(1, len(prices) + 1))
    amounts = [random.Random(n).randrange(1, 200) for n in range(len(prices))]
    compact = np.array(prices, dtype=np.int64) if kind == "numpy" else array("q", prices)
    # partial fills: each fill's size is its print's amount, found by the print's index
    as_list = TickSeries(prices=prices, amounts=amounts, ts_event=stamps)
    as_compact = TickSeries(prices=cast("Sequence[int]", compact), amounts=amounts, ts_event=stamps)
    expected = run_backtest(_setup(partial_fills=True), as_list)
    monkeypatch.setattr(backtest_engine, "CHUNK", 7)

    # Act
    got = run_backtest(_setup(partial_fills=True), as_compact)

    # Assert
    assert fills_of(got) == fills_of(expected)
    assert len(fills_of(got)) > 10
    assert got.state == expected.state
    assert (got.decisions, got.orders, got.last_price_ticks) == (
        expected.decisions,
        expected.orders,
        expected.last_price_ticks,
    )
