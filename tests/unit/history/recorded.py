"""Real Binance XRP/ETH trades recorded by freqtrade (``tests/data/recorded/PROVENANCE.md``).

The same 12,477 trades in two files: freqtrade's feather, read by the history loader, and its
JSON list form, read by today's recorded-trade reader (``ReplayFeed``).
"""

from __future__ import annotations

import gzip
import json
from decimal import Decimal
from pathlib import Path
from typing import Final

from tests import kit
from tests.unit.history.trade_files import Row

RECORDED: Final = Path(__file__).resolve().parents[2] / "data" / "recorded"
FEATHER: Final = RECORDED / "XRP_ETH-trades.feather"
JSON_GZ: Final = RECORDED / "XRP_ETH-trades.json.gz"
TRADES: Final = 12_477

XRP_ETH: Final = kit.instrument(
    symbol="XRP/ETH",
    base="XRP",
    quote="ETH",
    tick_size=Decimal("0.00000001"),
    step_size=Decimal("1"),
    min_qty=Decimal("1"),
    min_notional=Decimal("0.01"),
)
"""XRPETH as Binance listed it in 2019: every recorded price and amount is on its tick and step."""


def recorded_rows(path: Path = JSON_GZ) -> list[Row]:
    """The recorded trades as (epoch ms, price text, amount text), read without a float."""
    data = json.loads(gzip.decompress(path.read_bytes()), parse_float=Decimal)
    return [(int(t[0]), f"{t[4]:f}", f"{t[5]:f}") for t in data]
