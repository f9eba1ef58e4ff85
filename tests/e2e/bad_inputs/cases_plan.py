"""``plan``: a mistaken option, config or history file is named (exit 2), a store that cannot
be read is refused (exit 3), a change the core refuses is exit 2 with its reason; the data
dir is never written."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from tests.e2e.bad_inputs.kit import BadInput

CONFIG = {"c.yaml": "markets:\n  - symbol: BTC/USDT\n"}


def _plan(*extra: str) -> list[str]:
    return ["plan", "--config", "c.yaml", "--data-dir", "{data}", *extra]


def _newer_schema(tmp: Path) -> None:
    with closing(sqlite3.connect(tmp / "data" / "gridmaker.sqlite")) as db:
        db.execute("INSERT INTO schema_version VALUES (99)")
        db.commit()


CASES = [
    BadInput(
        id="plan-without-config",
        argv=["plan", "--data-dir", "{data}"],
        exit_code=2,
        culprit="--config",
    ),
    BadInput(
        id="plan-config-missing",
        argv=["plan", "--config", "nope.yaml", "--data-dir", "{data}"],
        exit_code=2,
        culprit="nope.yaml",
    ),
    BadInput(
        id="plan-price-not-a-number",
        argv=_plan("--price", "cheap"),
        files=CONFIG,
        exit_code=2,
        culprit="--price must be a price > 0 like '50000'; was 'cheap'",
    ),
    BadInput(
        id="plan-price-negative",
        argv=_plan("--price", "-5"),
        files=CONFIG,
        exit_code=2,
        culprit="--price must be a price > 0",
    ),
    BadInput(
        id="plan-price-off-the-tick",
        argv=_plan("--price", "50000.001"),
        files=CONFIG,
        exit_code=2,
        culprit="tick size 0.01; was 50000.001",
    ),
    BadInput(
        id="plan-price-with-a-stored-book",
        argv=_plan("--price", "50000"),
        files=CONFIG,
        template="sim_run",
        exit_code=2,
        culprit="--price sets the first price of a grid with no stored book",
    ),
    BadInput(
        id="plan-history-missing",
        argv=_plan("--history", "nope.csv"),
        files=CONFIG,
        exit_code=2,
        culprit="--history must be a history file; was nope.csv",
    ),
    BadInput(
        id="plan-history-bad-row",
        argv=_plan("--history", "h.csv"),
        files={**CONFIG, "h.csv": "timestamp,price,amount\n1,50000,0.1\n2,lots,0.1\n"},
        exit_code=2,
        culprit="lots",
    ),
    BadInput(
        id="plan-data-dir-is-a-file",
        argv=_plan(),
        files={**CONFIG, "data": "I am a file\n"},
        exit_code=2,
        culprit="--data-dir must be a folder",
    ),
    BadInput(
        id="plan-store-newer-schema",
        argv=_plan(),
        files=CONFIG,
        template="sim_run",
        prepare=_newer_schema,
        exit_code=3,
        culprit="schema version 99",
    ),
    BadInput(
        id="plan-refused-new-strategy-id",
        argv=_plan(),
        files={"c.yaml": "markets:\n  - symbol: BTC/USDT\n    strategy_id: other\n"},
        template="sim_run",
        exit_code=2,
        culprit="a new strategy_id ('other') is a new grid",
    ),
    BadInput(
        id="plan-refused-new-grid-below-fees",
        argv=_plan(),
        files={"c.yaml": "markets:\n  - symbol: BTC/USDT\n    grid: {spacing: '0.05%'}\n"},
        exit_code=2,
        culprit="does not cover the round-trip fees",
    ),
]
