"""Numbers as a person reads them in ``run`` and ``status`` output: plain decimals, words."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.kit.cli import gridmaker

pytestmark = pytest.mark.e2e

PLAIN = re.compile(r"^-?[0-9]+(\.[0-9]*[1-9])?$")
EXPONENT = re.compile(r"[0-9]E[+-][0-9]")
WIDE = {"COLUMNS": "200"}

STEP_ONE = """\
markets:
  - symbol: DOGE/USDT
    order_size: "100"
    grid: {spacing: "0.5%", buy_levels: 5, sell_levels: 5}
sim:
  balances: {DOGE: "3000", USDT: "200000"}
  instruments:
    DOGE/USDT: {tick_size: "0.01", step_size: "1", min_qty: "1", min_notional: "5"}
feed: {kind: file, path: trades.csv}
"""
PRICES = ["100", "99.4", "98.9", "99.4", "100", "100.6", "101.1", "100.6", "100"]


def test_run_and_status_on_a_step_one_instrument_print_plain_numbers(tmp_path: Path) -> None:
    # Arrange: whole amounts (step 1) are what str(Decimal) writes as 3E+3
    (tmp_path / "c.yaml").write_text(STEP_ONE, encoding="utf-8")
    rows = "".join(f"{i},{price},50\n" for i, price in enumerate(PRICES * 5))
    (tmp_path / "trades.csv").write_text("timestamp,price,amount\n" + rows, encoding="utf-8")
    ran = gridmaker(
        "run", "--config", "c.yaml", "--data-dir", "d", "--json", cwd=tmp_path, env=WIDE
    )
    assert ran.returncode == 0, ran.stderr
    summary = json.loads(ran.stdout.strip().splitlines()[-1])

    # Act
    shown = gridmaker("status", "--data-dir", "d", cwd=tmp_path, env=WIDE)

    # Assert
    numbers = {k: v for k, v in summary.items() if isinstance(v, str) and v[:1].isdigit()}
    assert {"base_balance", "quote_balance", "last_price"} <= set(numbers)
    assert {k: v for k, v in numbers.items() if not PLAIN.match(v)} == {}
    assert shown.returncode == 0, shown.stderr
    assert not EXPONENT.search(shown.stdout), shown.stdout
    assert "{'" not in shown.stdout, shown.stdout
    assert "matched 0, zombies 0" in shown.stdout, shown.stdout
