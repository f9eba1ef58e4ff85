"""The fleet torture at CI size: three ``gridmaker worker`` processes, four grids, six kills
(two of them stalls past the lease), judged against the simulator's own records."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "fleet_torture.py"
TTL_S = 3
ZEROS = frozenset(
    {
        "duplicate_orders",
        "cids_placed_twice",
        "orders_without_intent",
        "lost_fills",
        "double_applied_fills",
        "book_venue_order_mismatches",
        "balance_mismatches",
        "grids_without_one_owner",
        "epoch_regressions",
        "stale_trading",
        "stale_writes",
        "failovers_missing",
        "grids_not_synced_at_the_end",
        "worker_crashes",
    }
)
"""What this test requires to be zero, stated here so that the benchmark cannot judge less
without the test failing; the benchmark may judge more (its ``judged_zero``)."""


def _torture(pg_url: str, *args: str) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--pg-url", pg_url, *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_fleet_torture_with_kills_and_stalls_reports_zeros_and_one_owner_per_grid(
    pg_url: str,
) -> None:
    verdict = _torture(
        pg_url,
        *("--workers", "3", "--grids", "4", "--kills", "6", "--stalls", "2"),
        *("--lease-ttl", str(TTL_S), "--seed", "7", "--gap-min-s", "1", "--gap-max-s", "5"),
    )

    assert (verdict["kills"], verdict["stalls"]) == (4, 2)
    zeros = verdict["judged_zero"]
    assert set(zeros) >= ZEROS
    assert {k: verdict[k] for k in zeros} == dict.fromkeys(zeros, 0), verdict
    assert verdict["venue_fills"] > 0 and verdict["audited_writes"] > 0
    assert verdict["unattributed_writes"] == 0  # every write was traced to its process
    # Every event moved grids (``failovers_missing`` is 0 above); a failover whose taker was
    # hit in turn is the later event's, so count both kinds.
    assert verdict["failovers"] + verdict["failovers_interrupted"] >= 4
    # Failover times are the benchmark's figures (printed, p50/p99), not asserted here.
