"""Config mistakes only the first price reveals: refused at boot (exit 4), never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e


def test_levels_below_zero_on_a_recorded_feed_are_refused_at_boot(tmp_path: Path) -> None:
    # Arrange: the first price is the recording's, unknown when the config is read.
    (tmp_path / "t.csv").write_text(
        "timestamp,price,amount\n1700000000000,50000,0.01\n1700000001000,50001,0.01\n"
    )
    (tmp_path / "c.yaml").write_text(
        "markets:\n  - symbol: BTC/USDT\n    grid:\n      spacing: '0.01%'\n"
        "      buy_levels: 10000\n"
    )

    # Act
    result = subprocess.run(
        [sys.executable, "-m", "gridmaker.cli", "run", "--config", "c.yaml", "--feed", "t.csv"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )

    # Assert
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 4, result.stderr
    message = " ".join(result.stderr.split())
    assert "10000 buy_levels below the first price 50000 reach price 0" in message
    assert "at most 9999 fit" in message
