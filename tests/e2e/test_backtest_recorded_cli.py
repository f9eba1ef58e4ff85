"""``gridmaker backtest`` on real recorded trades: the feather and the JSON give the same run.

The two files hold the same 12,477 Binance XRP/ETH trades (``tests/data/recorded``); the
feather goes through the columnar history loader, the JSON list through today's
recorded-trade reader. With partial fills on, each print's amount limits the fills, so the
amounts are compared too, not only the prices.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.kit.cli import gridmaker, last_json
from tests.unit.history.recorded import FEATHER, JSON_GZ, TRADES

pytestmark = pytest.mark.e2e

TIMING = {"elapsed_s", "load_s", "ticks_per_s"}
CONFIG = """\
markets:
  - symbol: XRP/ETH
    order_size: "{size}"
    grid: {{spacing: "0.25%", buy_levels: 10, sell_levels: 10}}
sim:
  balances: {{XRP: "5000", ETH: "10"}}
  partial_fills: {partial}
  instruments:
    XRP/ETH: {{tick_size: "0.00000001", step_size: "1", min_qty: "1", min_notional: "0.01"}}
"""


def summary(work: Path, feed: Path) -> dict[str, Any]:
    shutil.copyfile(feed, work / feed.name)
    result = gridmaker("backtest", "--config", "c.yaml", "--feed", feed.name, "--json", cwd=work)
    assert "Traceback" not in result.stderr and "--snap" not in result.stderr, result.stderr
    return {k: v for k, v in last_json(result).items() if k not in TIMING}


@pytest.mark.parametrize(("size", "partial"), [("20", "false"), ("300", "true")])
def test_backtest_recorded_feather_and_json_give_the_same_fills_and_summary(
    tmp_path: Path, size: str, partial: str
) -> None:
    # Arrange
    (tmp_path / "c.yaml").write_text(CONFIG.format(size=size, partial=partial), encoding="utf-8")

    # Act
    columnar = summary(tmp_path, FEATHER)
    todays = summary(tmp_path, JSON_GZ)

    # Assert
    assert todays["ticks"] == TRADES and todays["symbol"] == "XRP/ETH"
    assert todays["fills"] > 50 and todays["completed_cycles"] > 20
    assert columnar == todays
