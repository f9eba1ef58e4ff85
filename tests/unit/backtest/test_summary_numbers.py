"""The numbers a person reads in ``backtest`` and ``run`` summaries: plain, exact, one meaning."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from gridmaker.backtest import TickSeries, run_backtest
from gridmaker.backtest.series import series_from_feed
from gridmaker.config import Config, backtest_setup, parse_config, sim_instrument
from gridmaker.core.display import money_text, plain
from gridmaker.core.units import Instrument
from gridmaker.engine.summary import cell, summarize

PLAIN = re.compile(r"^-?[0-9]+(\.[0-9]*[1-9])?$")
"""A decimal in positional notation without trailing zeros: never ``1E+3``."""

STEP_ONE: dict[str, Any] = {
    "markets": [
        {
            "symbol": "DOGE/USDT",
            "order_size": "100",
            "grid": {"spacing": "0.5%", "buy_levels": 5, "sell_levels": 5},
        }
    ],
    "sim": {
        "balances": {"DOGE": "3000", "USDT": "200000"},
        "instruments": {
            "DOGE/USDT": {
                "tick_size": "0.01",
                "step_size": "1",
                "min_qty": "1",
                "min_notional": "5",
                "maker_fee": "0.00075",
            }
        },
    },
    "feed": {"start_price": "100", "volatility": "0.002"},
}


def _walk(config: Config, prints: int) -> TickSeries:
    inst = sim_instrument(config, config.markets[0].symbol)
    return series_from_feed(config.feed.random_walk(inst), inst, prints)


def test_summaries_on_a_step_one_instrument_print_plain_numbers() -> None:
    # Arrange: whole-number amounts and prices are what str() writes as 1E+3
    config = parse_config(STEP_ONE)
    prices = [10_000, 9_940, 9_890, 9_940, 10_000, 10_060, 10_110, 10_000]
    result = run_backtest(backtest_setup(config), TickSeries(prices=prices))

    # Act
    numbers = {**result.summary(), **summarize(result.state)}

    # Assert
    money = [v for v in numbers.values() if isinstance(v, str) and v[:1].isdigit()]
    assert money, numbers
    assert [v for v in money if not PLAIN.match(v)] == []
    assert numbers["start_price"] == "100"


def test_random_walk_on_a_step_one_instrument_prints_whole_amounts() -> None:
    # Arrange
    config = parse_config(STEP_ONE)

    # Act
    series = _walk(config, 200)

    # Assert
    assert series.amounts is not None and min(series.amounts) >= 1


def test_backtest_money_is_exact_to_the_atom_as_run_prints_it() -> None:
    # Arrange: a 0.0123 % fee on 0.00123 BTC makes fees with up to 13 decimals
    raw: dict[str, Any] = {
        "markets": [{"order_size": "0.00123"}],
        "sim": {"instruments": {"BTC/USDT": {"maker_fee": "0.000123"}}},
    }
    config = parse_config(raw)
    result = run_backtest(backtest_setup(config), _walk(config, 3000))
    inst = result.setup.instrument

    # Act
    summary = result.summary()

    # Assert
    assert summary["fees"] == plain(inst.from_atoms(result.state.fees_atoms))
    assert summary["fees"] == summarize(result.state)["fees"]
    assert len(str(summary["fees"]).partition(".")[2]) > 8


def test_backtest_last_price_is_the_price_the_strategy_acted_on() -> None:
    # Arrange: the last print stays in the level band, so no decision sees it
    config = parse_config({})
    inst = sim_instrument(config, "BTC/USDT")
    series = TickSeries(prices=[5_000_000, 5_000_100, 5_000_101])

    # Act
    summary = run_backtest(backtest_setup(config), series).summary()

    # Assert
    assert summary["last_price"] == plain(inst.from_ticks(5_000_000))
    assert summary["mark_price"] == "50001.01"


def test_summary_cell_reads_boot_sync_counts_as_words() -> None:
    # Arrange
    counts = {"foreign": 0, "ghost_fills": 1, "matched": 3, "zombies": 0}

    # Act
    text = cell(counts)

    # Assert
    assert text == "matched 3, zombies 0, ghost fills 1, foreign 0"
    assert [cell(1e-05), cell(Decimal("5E+4")), cell(None)] == ["0.00001", "50000", ""]


def test_plain_keeps_every_digit_and_never_writes_an_exponent() -> None:
    # Arrange
    values = [Decimal("1E+2"), Decimal("2E+4"), Decimal("1E-7"), Decimal("0E-8"), Decimal("-0")]
    long = Decimal("12345678901234567890.123456789")

    # Act
    texts = [plain(v) for v in values]

    # Assert
    assert texts == ["100", "20000", "0.0000001", "0", "0"]
    assert plain(long) == "12345678901234567890.123456789"


def test_money_text_keeps_every_atom_beyond_28_digits() -> None:
    # Arrange: tick and step of 1e-8 make an atom of 1e-22; a million is 10^28 atoms
    inst = Instrument(
        symbol="A/B", base="A", quote="B", tick_size=Decimal("1e-8"), step_size=Decimal("1e-8")
    )

    # Act
    text = money_text(inst, 10**28 + 1)

    # Assert
    assert text == "1000000.0000000000000000000001"
