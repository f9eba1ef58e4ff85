"""Real recorded trades (Binance XRP/ETH by freqtrade) load exactly as today's reader reads them.

The reference is ``ReplayFeed`` on the recorded JSON list, converted by ``series_from_feed``;
the history loader must give the same ticks, steps and stamps from the recorded feather and
from the same trades written in every other layout it reads, on XRPETH's real tick and step
(no ``snap``: a price off the tick would be refused, not rounded).
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

from gridmaker.backtest.series import series_from_feed
from gridmaker.feeds import FeedError, ReplayFeed
from gridmaker.history import load_history
from tests.unit.history.recorded import (
    FEATHER,
    JSON_GZ,
    RECORDED,
    TRADES,
    XRP_ETH,
    recorded_rows,
)
from tests.unit.history.trade_files import WRITERS, Row, binance_trades, write

Arrays = tuple[list[int], list[int], list[int]]

EXTRA_WRITERS: dict[str, tuple[str, Callable[[list[Row]], str | bytes]]] = {
    "binance-trades-gzip": (
        "XRPETH-trades-2019-10-11.csv.gz",
        lambda d: gzip.compress(binance_trades(d).encode()),
    ),
    "binance-trades-header-gzip": (
        "XRPETH-trades-2019-10.csv.gz",
        lambda d: gzip.compress(binance_trades(d, header=True).encode()),
    ),
}
ALL_WRITERS = {**WRITERS, **EXTRA_WRITERS}


@pytest.fixture(scope="module")
def reference() -> Arrays:
    """The recorded JSON list through today's recorded-trade reader."""
    series = series_from_feed(ReplayFeed(JSON_GZ), XRP_ETH, None)
    assert series.amounts is not None and series.ts_event is not None
    return list(series.prices), list(series.amounts), list(series.ts_event)


def arrays(path: Path) -> Arrays:
    history = load_history(path, XRP_ETH)
    assert history.snapped == 0
    return list(history.prices), list(history.amounts), list(history.ts_ms)


@pytest.mark.parametrize("path", [FEATHER, JSON_GZ], ids=lambda p: p.name)
def test_recorded_file_is_byte_for_byte_as_its_provenance_says(path: Path) -> None:
    # Arrange
    provenance = (RECORDED / "PROVENANCE.md").read_text(encoding="utf-8")
    found = re.search(rf"`{re.escape(path.name)}` \| ([0-9,]+) \| `([0-9a-f]{{64}})`", provenance)

    # Act
    data = path.read_bytes()

    # Assert
    assert found is not None, f"PROVENANCE.md lists no size and digest for {path.name}"
    assert len(data) == int(found.group(1).replace(",", ""))
    assert hashlib.sha256(data).hexdigest() == found.group(2)


def test_load_history_recorded_feather_equals_the_json_reader_trade_for_trade(
    reference: Arrays,
) -> None:
    # Act
    prices, amounts, stamps = arrays(FEATHER)

    # Assert
    assert len(prices) == len(reference[0]) == TRADES
    assert prices == reference[0]
    assert amounts == reference[1]
    assert stamps == reference[2]


def test_load_history_recorded_feather_holds_the_recorded_first_and_last_trades() -> None:
    # Act: pinned from the files themselves, so both readers cannot agree on a wrong value
    prices, amounts, stamps = arrays(FEATHER)

    # Assert: 0.00141342 ETH (tick 1e-8) for 23 XRP; last 0.00152787 ETH for 130 XRP
    assert (prices[0], amounts[0], stamps[0]) == (141_342, 23, 1_570_752_011_620)
    assert (prices[-1], amounts[-1], stamps[-1]) == (152_787, 130, 1_570_965_568_844)
    assert (min(prices), max(prices), max(amounts)) == (139_676, 154_262, 35_787)


@pytest.mark.parametrize("layout", sorted(ALL_WRITERS))
def test_load_history_recorded_trades_in_each_layout_equal_the_json_reader(
    tmp_path: Path, layout: str, reference: Arrays
) -> None:
    # Arrange: the real trades as the recorded JSON holds them, written in this layout
    name, writer = ALL_WRITERS[layout]
    path = write(tmp_path, name, writer(recorded_rows()))

    # Act
    loaded = arrays(path)

    # Assert
    assert loaded == reference


def test_load_history_recorded_feather_on_a_coarser_tick_is_refused_not_snapped() -> None:
    # Arrange: a tick of 0.0000001 ETH, which 0.00141342 is not a multiple of
    coarse = dataclasses.replace(XRP_ETH, tick_size=Decimal("0.0000001"))

    # Act
    with pytest.raises(FeedError) as caught:
        load_history(FEATHER, coarse)

    # Assert
    assert f"{FEATHER} row 1: price 0.00141342 is not a multiple of the tick" in str(caught.value)


@pytest.mark.parametrize("reader", ["history", "replay"])
def test_off_tick_message_on_a_sub_micro_tick_shows_the_tick_as_a_plain_decimal(
    reader: str,
) -> None:
    # Arrange: a tick of 0.0000001, which str(Decimal) writes as 1E-7
    coarse = dataclasses.replace(XRP_ETH, tick_size=Decimal("0.0000001"))

    # Act
    with pytest.raises(FeedError) as caught:
        if reader == "history":
            load_history(FEATHER, coarse)
        else:
            ReplayFeed(JSON_GZ).check_tick(coarse.tick_size)

    # Assert
    assert "not a multiple of the tick 0.0000001" in str(caught.value), str(caught.value)
