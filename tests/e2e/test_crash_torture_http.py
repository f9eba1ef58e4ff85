"""The crash torture against ``gridmaker sim-exchange`` through the real ccxt client."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "crash_torture.py"
ZEROS = ("duplicate_orders", "lost_fills", "double_applied_fills", "balance_mismatches")


def _torture(*args: str) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--engine", "simple", "--venue", "http", *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_crash_torture_over_http_with_wire_chaos_reports_zeros() -> None:
    verdict = _torture("--crashes", "6", "--seed", "5", "--trades", "700", "--faults", "0.3")

    assert verdict["venue"] == "http" and verdict["crashes"] >= 6
    assert {k: verdict[k] for k in ZEROS} == dict.fromkeys(ZEROS, 0)
    assert verdict["pnl_matches_crash_free"] is True
    assert verdict["fills"] > 0
