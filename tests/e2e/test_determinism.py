"""Same seed, same result, whatever Python's string hashing: no set or dict order leaks out.

Each command runs in a fresh process per ``PYTHONHASHSEED`` (``0``, ``1`` and ``random``), so
iteration order over hashed containers differs between the runs; the summaries and the rows the
runs leave in their stores must not.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from tests.kit.cli import gridmaker, last_json

pytestmark = pytest.mark.e2e

HASH_SEEDS = ("0", "1", "random")
RUN = ("run", "--steps", "2000", "--seed", "5", "--json", "--data-dir", "data")
BACKTEST = ("backtest", "--ticks", "2000", "--seed", "5", "--json")
# Wall-clock measurements and timestamps: they differ between any two runs.
TIMINGS = {"elapsed_s", "load_s", "ticks_per_s"}
# Rows decided by the feed and the grid alone (boots and the venue binding carry wall time).
BOT_TABLES = ("books", "fills", "intents")
VENUE_TABLES = ("orders", "fills", "balances")


def _rows(path: Path, tables: tuple[str, ...]) -> dict[str, list[tuple[Any, ...]]]:
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        return {t: db.execute(f"SELECT * FROM {t} ORDER BY 1, 2, 3").fetchall() for t in tables}


def _in_each_hash_seed(tmp_path: Path, args: tuple[str, ...]) -> dict[str, Path]:
    """Run ``args`` once per hash seed, each in its own directory (same relative data dir,
    so the summaries can match); the directories, each holding its ``summary.json``."""
    dirs: dict[str, Path] = {}
    for seed in HASH_SEEDS:
        cwd = tmp_path / f"hash-{seed}"
        cwd.mkdir()
        summary = last_json(gridmaker(*args, cwd=cwd, env={"PYTHONHASHSEED": seed}))
        (cwd / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
        dirs[seed] = cwd
    return dirs


def _summary(cwd: Path) -> dict[str, Any]:
    """The summary without its wall-clock measurements."""
    summary = json.loads((cwd / "summary.json").read_text(encoding="utf-8"))
    assert isinstance(summary, dict)
    return {k: v for k, v in summary.items() if k not in TIMINGS}


def test_run_gives_the_same_summary_and_store_under_every_hash_seed(tmp_path: Path) -> None:
    # Act
    dirs = _in_each_hash_seed(tmp_path, RUN)

    # Assert
    summaries = {seed: _summary(d) for seed, d in dirs.items()}
    bots = {seed: _rows(d / "data" / "gridmaker.sqlite", BOT_TABLES) for seed, d in dirs.items()}
    venues = {seed: _rows(d / "data" / "exchange.sqlite", VENUE_TABLES) for seed, d in dirs.items()}
    assert summaries["0"]["fills"] > 0
    assert all(bots["0"][t] for t in BOT_TABLES)
    for seed in HASH_SEEDS[1:]:
        assert summaries[seed] == summaries["0"], seed
        assert bots[seed] == bots["0"], seed
        assert venues[seed] == venues["0"], seed


def test_backtest_gives_the_same_summary_under_every_hash_seed(tmp_path: Path) -> None:
    # Act
    dirs = _in_each_hash_seed(tmp_path, BACKTEST)

    # Assert
    summaries = {seed: _summary(d) for seed, d in dirs.items()}
    assert summaries["0"]["fills"] > 0
    assert set(json.loads((dirs["0"] / "summary.json").read_text("utf-8"))) >= TIMINGS
    for seed in HASH_SEEDS[1:]:
        assert summaries[seed] == summaries["0"], seed
