"""A Binance ``trades`` CSV through NautilusTrader 1.221.0's own loader and engine, with the grid.

Run by ``history_load.py`` with the Python named by ``NT_PYTHON`` (nautilus-trader is a peer to
measure against, never a dependency of gridmaker)::

    $NT_PYTHON benchmarks/nautilus_trades.py FILE [--trades N] [--spacing-ppm P] [--levels L]
        [--qty Q] [--aggressor]                     # one JSON line of figures

Loading is the path Nautilus' tutorials take for trade ticks: ``CSVTickDataLoader`` (pandas)
reads the headerless ``id,price,qty,quoteQty,time,isBuyerMaker,isBestMatch`` rows into a frame
indexed by time, ``TradeTickDataWrangler`` turns it into ``TradeTick`` objects, and
``BacktestEngine.add_data`` takes the list. The loader parses an integer time column as
nanoseconds, so the index is rescaled from Binance's milliseconds (a vectorized multiply). The
instrument is Binance spot BTCUSDT with 0.01 ticks and the 8 size decimals the file prints (at
Nautilus' test instrument's 6, its smallest trades would round to a size of 0, which
``TradeTick`` refuses).

The venue lets trades move the market (``trade_execution``). By default the trades carry no
aggressor side, so a trade at p sets both sides of Nautilus' top of book to p: resting buys at
or above p fill and sells at or below it, our fill rule, and both count the same orders and
fills. With ``--aggressor`` the side comes from ``isBuyerMaker`` (the wrangler's
``buyer_maker``) and a trade moves only that side of the book, so a level touched by a trade
of the other side waits for a later one (73 fills instead of 75 on the first million trades of
``history_load.py``'s file). The strategy is
``nautilus_grid.grid_strategy``: the classic grid our default config runs (neutral, arithmetic,
``levels`` buys and sells ``spacing-ppm`` of the first price apart around it, ``qty`` BTC each).
The figures split the wall time into loading (read, wrangle, hand to the engine) and the
engine's run, and give orders, fills and this process's peak RSS.
"""

# mypy: disable-error-code="import-not-found,import-untyped"
# (nautilus-trader lives in the NT_PYTHON environment, never in gridmaker's)
# (and pandas, which it brings, has no stubs)

from __future__ import annotations

import argparse
import json
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import nautilus_grid

COLUMNS = ["trade_id", "price", "quantity", "quote_qty", "time", "buyer_maker", "best_match"]
"""Binance's ``trades`` layout, under the names ``TradeTickDataWrangler`` reads."""
SIZE_PRECISION = 8
MS_TO_NS = 1_000_000


def instrument() -> Any:
    """Binance spot BTCUSDT as Nautilus' test provider has it, with the file's 8 size decimals."""
    from nautilus_trader.model.currencies import BTC, USDT
    from nautilus_trader.model.identifiers import InstrumentId, Symbol, Venue
    from nautilus_trader.model.instruments import CurrencyPair
    from nautilus_trader.model.objects import Money, Price, Quantity

    step = Quantity.from_str(f"{Decimal(1).scaleb(-SIZE_PRECISION):.{SIZE_PRECISION}f}")
    return CurrencyPair(
        instrument_id=InstrumentId(symbol=Symbol("BTCUSDT"), venue=Venue("BINANCE")),
        raw_symbol=Symbol("BTCUSDT"),
        base_currency=BTC,
        quote_currency=USDT,
        price_precision=2,
        size_precision=SIZE_PRECISION,
        price_increment=Price.from_str("0.01"),
        size_increment=step,
        lot_size=None,
        max_quantity=Quantity.from_str(f"9000.{'0' * SIZE_PRECISION}"),
        min_quantity=step,
        max_notional=None,
        min_notional=Money(10, USDT),
        max_price=Price.from_str("1000000.00"),
        min_price=Price.from_str("0.01"),
        margin_init=Decimal(0),
        margin_maint=Decimal(0),
        maker_fee=Decimal("0.001"),
        taker_fee=Decimal("0.001"),
        ts_event=0,
        ts_init=0,
    )


def run(
    path: Path, trades: int | None, spacing_ppm: int, levels: int, qty: str, aggressor: bool
) -> dict[str, Any]:
    """Load ``path`` (its first ``trades`` rows), run the grid; figures of the run as a dict."""
    import nautilus_trader
    import pandas as pd
    from nautilus_trader.persistence.loaders import CSVTickDataLoader
    from nautilus_trader.persistence.wranglers import TradeTickDataWrangler

    started = time.perf_counter()
    frame = CSVTickDataLoader.load(
        path,
        index_col="time",
        parse_dates=False,  # else pandas tries a date parser on each integer
        header=None,
        names=COLUMNS,
        usecols=["trade_id", "price", "quantity", "time"] + (["buyer_maker"] if aggressor else []),
        nrows=trades,
    )
    frame.index = pd.to_datetime(frame.index.asi8 * MS_TO_NS, utc=True)
    read_s = time.perf_counter() - started

    started = time.perf_counter()
    pair = instrument()
    ticks = TradeTickDataWrangler(pair).process(frame)
    first_ticks = round(Decimal(str(frame["price"].iloc[0])) * 100)
    del frame
    wrangle_s = time.perf_counter() - started

    started = time.perf_counter()
    strategy = nautilus_grid.grid_strategy(
        pair.id,
        start_ticks=first_ticks,
        gap_ticks=max(1, first_ticks * spacing_ppm // 1_000_000),
        levels=levels,
        qty=f"{Decimal(qty):.{SIZE_PRECISION}f}",
        on_trades=True,
    )
    engine = nautilus_grid.engine_with(pair, ticks, strategy, trades=True)
    n = len(ticks)
    del ticks
    add_s = time.perf_counter() - started

    started = time.perf_counter()
    engine.run()
    run_s = time.perf_counter() - started

    figures = {
        "impl": "nautilus",
        "version": str(nautilus_trader.__version__),
        "trades": n,
        "read_s": round(read_s, 2),
        "wrangle_s": round(wrangle_s, 2),
        "add_data_s": round(add_s, 2),
        "load_s": round(read_s + wrangle_s + add_s, 2),
        "run_s": round(run_s, 2),
        "trades_per_s": round(n / run_s),
        "aggressor": aggressor,
        "start_ticks": first_ticks,
        **nautilus_grid.outcome(engine, strategy),
    }
    engine.dispose()
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--trades", type=int, default=None, help="only the first N rows")
    parser.add_argument("--spacing-ppm", type=int, default=2_500)
    parser.add_argument("--levels", type=int, default=20)
    parser.add_argument("--qty", default="0.001")
    parser.add_argument(
        "--aggressor", action="store_true", help="give the trades their side from isBuyerMaker"
    )
    args = parser.parse_args()
    if args.trades is not None and args.trades < 1:
        parser.error(f"--trades must be a positive number of rows; was {args.trades}")
    figures = run(args.file, args.trades, args.spacing_ppm, args.levels, args.qty, args.aggressor)
    print(json.dumps(figures), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
