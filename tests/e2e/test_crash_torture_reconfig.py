"""A CI-sized crash torture with reconfigurations mixed in, on both engines (issue 16).

The benchmark's own script (``benchmarks/crash_torture.py --reconfigs``) queues
reconfigurations between three grids while the bot is down and while it runs, and kills it at
the reconfiguration failpoints among the others.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

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
    crashes = verdict["failpoint_crashes"]
    assert crashes.get("reconfigure:before-commit", 0) >= 1, crashes
    assert crashes.get("reconfigure:after-commit", 0) >= 1, crashes
