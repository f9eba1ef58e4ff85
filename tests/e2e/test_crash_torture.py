"""A CI-sized crash torture: the benchmark's own script (the full-size runs are its own).

The paused run's seed is chosen so that its 12 deaths include every failpoint and a SIGKILL
from outside (which deaths a seed gives is fixed by the seed: the choice of point is drawn
before the life starts); the test asserts it, so a seed or size that stops reaching one fails
here rather than proving less."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "crash_torture.py"


def torture(*args: str) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--engine", "simple", *args],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


ZEROS = (
    "duplicate_orders",
    "book_venue_order_mismatches",
    "lost_fills",
    "double_applied_fills",
    "balance_mismatches",
)


FAILPOINTS = ("intent:recorded", "send:done", "fill:in-transaction", "trade:printed")


def test_crash_torture_paused_market_matches_a_crash_free_run() -> None:
    verdict = torture("--crashes", "12", "--seed", "3")
    assert verdict["crashes"] >= 12
    assert set(verdict["failpoint_crashes"]) == {*FAILPOINTS, "kill"}, verdict["failpoint_crashes"]
    assert {k: verdict[k] for k in ZEROS} == dict.fromkeys(ZEROS, 0)
    assert verdict["pnl_matches_crash_free"] is True
    assert verdict["halted_boots"] == 0  # every life traded (a halted boot still exits 0)
    assert verdict["fills"] > 0


def test_crash_torture_under_faults_and_a_live_market_keeps_the_invariants() -> None:
    verdict = torture("--crashes", "8", "--seed", "12", "--faults", "0.3", "--market", "live")
    assert verdict["crashes"] >= 8
    assert {k: verdict[k] for k in ZEROS} == dict.fromkeys(ZEROS, 0)
    assert verdict["printed_while_down"] > 0
