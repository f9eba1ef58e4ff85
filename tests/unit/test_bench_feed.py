"""The benchmark's seeded feed: both sides of backtest_vs_nautilus.py must see the same quotes.

The pinned figures are those of the walk behind the published NautilusTrader counts (411/371 on
calm): a change of seed, recurrence or rounding would make that comparison meaningless.
"""

from __future__ import annotations

import importlib.util
import statistics
from pathlib import Path
from types import ModuleType

import pytest

FEED = Path(__file__).resolve().parents[2] / "benchmarks" / "walk_feed.py"


@pytest.fixture(scope="module")
def walk_feed() -> ModuleType:
    spec = importlib.util.spec_from_file_location("walk_feed", FEED)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("scenario", "first", "total", "last"),
    [
        ("calm", [5_000_030, 4_999_926, 5_000_002, 5_000_096], 49_940_531_485, 4_990_226),
        ("choppy", [5_000_305, 4_999_264, 5_000_016, 5_000_956], 49_908_120_843, 4_970_981),
    ],
)
def test_walk_feed_default_seed_gives_the_published_walk(
    walk_feed: ModuleType, scenario: str, first: list[int], total: int, last: int
) -> None:
    bids = walk_feed.make_walk(scenario, 10_000)
    assert bids[:4] == first
    assert (sum(bids), bids[-1]) == (total, last)


def test_walk_feed_same_seed_same_integer_ticks(walk_feed: ModuleType) -> None:
    once = walk_feed.make_walk("choppy", 5_000, seed=7)
    again = walk_feed.make_walk("choppy", 5_000, seed=7)
    assert once == again
    assert all(type(bid) is int for bid in once)
    assert once != walk_feed.make_walk("choppy", 5_000, seed=8)


def test_walk_feed_shorter_run_is_a_prefix_of_the_longer(walk_feed: ModuleType) -> None:
    assert walk_feed.make_walk("calm", 1_000) == walk_feed.make_walk("calm", 3_000)[:1_000]


def test_walk_feed_choppy_reverts_to_about_five_levels(walk_feed: ModuleType) -> None:
    bids = walk_feed.make_walk("choppy", 20_000)
    levels = [(bid - walk_feed.START_TICKS) / walk_feed.SPACING_TICKS for bid in bids[2_000:]]
    assert 3.0 < statistics.pstdev(levels) < 8.0  # a plain random walk would drift to ~28


def test_walk_feed_no_quotes_is_refused(walk_feed: ModuleType) -> None:
    with pytest.raises(ValueError, match="n must be a positive number of quotes; was 0"):
        walk_feed.make_walk("calm", 0)
