"""A CI-sized crash torture with reconfigurations mixed in, on both engines (issue 16).

The benchmark's own script (``benchmarks/crash_torture.py --reconfigs``) queues
reconfigurations between three grids while the bot is down and while it runs, and kills it at
the reconfiguration failpoints among the others. The torture's first find is kept as a plain
scenario: a grid changed to twice its spacing and back, through the real CLI.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections import Counter
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from tests.kit.cli import gridmaker, last_json

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "crash_torture.py"
ZEROS = (
    "duplicate_orders",
    "cids_placed_twice",
    "book_venue_order_mismatches",
    "lost_fills",
    "double_applied_fills",
    "balance_mismatches",
    "halted_boots",
    "reconfigs_pending",
    "reshape_count_mismatch",
)


def _torture(*args: str) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


@pytest.mark.parametrize("engine", ["simple", "durable"])
def test_crash_torture_with_reconfigurations_reports_zeros(engine: str) -> None:
    verdict = _torture(
        *("--engine", engine, "--crashes", "6", "--reconfigs", "4", "--seed", "21"),
        *("--trades", "900"),
    )

    assert {k: verdict[k] for k in ZEROS} == dict.fromkeys(ZEROS, 0)
    assert verdict["crashes"] >= 6 and verdict["fills"] > 0
    assert verdict["reconfigs_queued"] == 4
    assert verdict["reconfigs_applied"] + verdict["reconfigs_refused"] == 4
    assert verdict["queued_while_down"] > 0
    assert verdict["final_grid_is_last"] is True
    # The reconfiguration's own failpoints are armed early; whether a life reaches the one it
    # was armed with depends on when the loop applies a change queued while it runs (timing),
    # so at least one of them must have killed the bot, not necessarily both.
    crashes = verdict["failpoint_crashes"]
    hits = crashes.get("reconfigure:before-commit", 0) + crashes.get("reconfigure:after-commit", 0)
    assert hits >= 1, crashes


FEED = "feed:\n  seed: 3\n  volatility: '0.0008'\n"
GRID = "markets:\n  - grid:\n      spacing: '{}'\n      buy_levels: {}\n      sell_levels: {}\n"
NARROW = FEED + GRID.format("125", 20, 20)
WIDE = FEED + GRID.format("250", 10, 12)
"""Twice the spacing, fewer levels: every wide level is a narrow one, under another index."""


def _placed_twice(data_dir: Path) -> list[str]:
    """Client ids the simulated venue's own order history holds more than once."""
    with closing(sqlite3.connect(data_dir / "exchange.sqlite")) as db:
        cids = Counter(r[0] for r in db.execute("SELECT client_order_id FROM orders"))
    return sorted(cid for cid, n in cids.items() if n > 1)


def test_reconfigure_there_and_back_never_places_a_client_id_twice(tmp_path: Path) -> None:
    # Found by the torture without any crash (fixed in the core by 3868015): the narrow grid's
    # retired levels and the wide grid's re-indexed ones sent the same client ids.
    data_dir = tmp_path / "data"
    narrow, wide = tmp_path / "narrow.yaml", tmp_path / "wide.yaml"
    narrow.write_text(NARROW)
    wide.write_text(WIDE)
    where = ("--data-dir", str(data_dir))

    def run(config: Path, steps: int) -> dict[str, Any]:
        return last_json(
            gridmaker("run", *where, "--config", str(config), "--steps", str(steps), "--json")
        )

    def reconfigure(config: Path) -> None:
        result = gridmaker("reconfigure", *where, "--config", str(config), "--yes")
        assert result.returncode == 0, result.stderr[-3000:]

    run(narrow, 15)
    reconfigure(wide)
    run(wide, 29)
    reconfigure(narrow)
    run(narrow, 69)

    assert _placed_twice(data_dir) == []
