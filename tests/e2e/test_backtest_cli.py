"""``gridmaker backtest`` as a user runs it: a subprocess in a temp dir."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e


def backtest(*args: str, cwd: Path) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-m", "gridmaker.cli", "backtest", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        env={**os.environ, "MPLBACKEND": "Agg"},
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_backtest_random_walk_prints_summary_and_writes_report(tmp_path: Path) -> None:
    # Act
    summary = backtest("--ticks", "3000", "--json", "--report", "out", cwd=tmp_path)

    # Assert
    assert summary["ticks"] == 3000
    assert summary["fills"] == summary["buy_fills"] + summary["sell_fills"] > 0
    for key in ("fees", "realized_pnl", "unrealized_pnl", "max_drawdown", "return_on_capital"):
        assert key in summary
    assert (tmp_path / "out" / "backtest.png").read_bytes()[:4] == b"\x89PNG"
    page = (tmp_path / "out" / "backtest.html").read_text(encoding="utf-8")
    assert "data:image/png;base64," in page and "realized_pnl" in page


def test_backtest_candles_file_expands_each_candle_to_four_prints(tmp_path: Path) -> None:
    # Arrange
    rows = ["timestamp,open,high,low,close,volume"]
    price = 50_000
    for i in range(60):
        step = 150 if (i // 6) % 2 == 0 else -150
        rows.append(f"{i * 60_000},{price},{price + 200},{price - 200},{price + step},3")
        price += step
    (tmp_path / "candles.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")

    # Act
    summary = backtest("--feed", "candles.csv", "--json", cwd=tmp_path)

    # Assert
    assert summary["ticks"] == 240
    assert summary["fills"] > 0


def test_backtest_sweep_ranks_every_combination_and_writes_csv(tmp_path: Path) -> None:
    # Act
    out = backtest(
        "--ticks", "3000", "--sweep", "spacing=0.25%..0.5%:2", "--sweep", "levels=5,10",
        "--workers", "2", "--csv", "sweep.csv", "--json", cwd=tmp_path,
    )  # fmt: skip

    # Assert
    rows = out["sweep"]
    assert sorted((r["spacing"], r["levels"]) for r in rows) == [
        ("0.25%", "10"), ("0.25%", "5"), ("0.5%", "10"), ("0.5%", "5"),
    ]  # fmt: skip
    pnls = [float(r["total_pnl"]) for r in rows]
    assert pnls == sorted(pnls, reverse=True)
    with (tmp_path / "sweep.csv").open(encoding="utf-8") as f:
        assert len(list(csv.DictReader(f))) == 4
