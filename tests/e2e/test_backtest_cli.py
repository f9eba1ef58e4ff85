"""``gridmaker backtest`` as a user runs it: a subprocess in a temp dir."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.kit.cli import gridmaker, last_json

pytestmark = pytest.mark.e2e


def backtest(*args: str, cwd: Path) -> dict[str, Any]:
    return last_json(gridmaker("backtest", *args, cwd=cwd))


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


BLOCK_MATPLOTLIB = """
import sys


class _Blocked:
    def find_spec(self, name, path=None, target=None):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError(f"No module named {name!r} (blocked by the test)")
        return None


sys.meta_path.insert(0, _Blocked())
"""


def test_backtest_report_without_matplotlib_exits_2_saying_how_to_install(
    tmp_path: Path,
) -> None:
    # Arrange: matplotlib made unimportable in the child only
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(BLOCK_MATPLOTLIB, encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()

    # Act
    result = gridmaker(
        "backtest",
        "--ticks",
        "500",
        "--report",
        "out",
        cwd=work,
        env={"PYTHONPATH": os.pathsep.join([str(shim), os.environ.get("PYTHONPATH", "")])},
    )

    # Assert
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "--report needs matplotlib: pip install 'gridmaker[report]'" in output
    assert "Traceback" not in output
    assert list(work.iterdir()) == []


def test_backtest_without_feed_option_replays_the_config_feed_file(tmp_path: Path) -> None:
    # Arrange
    rows = "".join(f"{i * 1000},{50_000 + (i % 40) * 25 - 500},0.01\n" for i in range(321))
    (tmp_path / "trades.csv").write_text("timestamp,price,amount\n" + rows, encoding="utf-8")
    (tmp_path / "c.yaml").write_text("feed:\n  kind: file\n  path: trades.csv\n", encoding="utf-8")

    # Act
    summary = backtest("--config", "c.yaml", "--json", cwd=tmp_path)

    # Assert
    assert summary["ticks"] == 321
    assert summary["start_price"] == "49500"


def test_backtest_and_run_print_the_same_numbers_for_the_same_market(tmp_path: Path) -> None:
    # Arrange: fees with more decimals than a cent; the same walk for both commands
    (tmp_path / "c.yaml").write_text(
        'markets:\n  - order_size: "0.00123"\n'
        'sim:\n  instruments:\n    BTC/USDT: {maker_fee: "0.000123"}\n',
        encoding="utf-8",
    )
    ran = gridmaker(
        "run", "--config", "c.yaml", "--steps", "2000", "--data-dir", "d", "--json", cwd=tmp_path
    )
    assert ran.returncode == 0, ran.stderr
    live = json.loads(ran.stdout.strip().splitlines()[-1])

    # Act
    tested = backtest("--config", "c.yaml", "--ticks", "2000", "--json", cwd=tmp_path)

    # Assert
    assert live["fills"] == tested["fills"] > 0
    for key in ("fees", "realized_pnl", "inventory", "last_price"):
        assert tested[key] == live[key], key
    assert len(tested["fees"].partition(".")[2]) > 8


@pytest.mark.parametrize("command", ["backtest", "shadow"])
def test_grid_failing_preflight_exits_4_with_runs_message(tmp_path: Path, command: str) -> None:
    # Arrange: 20 buys of 1 BTC near 50000 need far more than the account's 100000 USDT
    (tmp_path / "c.yaml").write_text('markets:\n  - order_size: "1"\n', encoding="utf-8")
    ran = gridmaker("run", "--config", "c.yaml", "--steps", "5", "--data-dir", "d", cwd=tmp_path)

    # Act
    result = gridmaker(command, "--config", "c.yaml", "--steps" if command == "shadow" else
                       "--ticks", "50", cwd=tmp_path)  # fmt: skip

    # Assert
    output = result.stdout + result.stderr
    assert ran.returncode == 4, ran.stderr
    assert result.returncode == 4, output
    assert "Traceback" not in output
    assert "BTC/USDT: refusing to start: balance too small for the grid" in output
    assert "the account has 100000" in output


def test_backtest_csv_without_sweep_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    # Act
    result = gridmaker("backtest", "--ticks", "100", "--csv", "rows.csv", cwd=tmp_path)

    # Assert
    assert result.returncode == 2, result.stderr
    assert "--csv" in result.stderr and "--sweep" in result.stderr
    assert list(tmp_path.iterdir()) == []
