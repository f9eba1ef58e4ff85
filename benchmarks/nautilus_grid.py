"""The benchmark's classic grid in NautilusTrader 1.221.0's ``BacktestEngine``, on our feed.

Run by ``backtest_vs_nautilus.py`` with the Python named by ``NT_PYTHON`` (nautilus-trader is a
peer to measure against, never a dependency of gridmaker)::

    $NT_PYTHON benchmarks/nautilus_grid.py calm [--ticks N]   # one JSON line of figures
    $NT_PYTHON benchmarks/nautilus_grid.py --probe            # exit 0 when Nautilus is usable

The quotes are ``walk_feed.make_walk`` (bid = walk, ask = bid + 1 tick, 10 BTC a side, 100 ms
apart) on a simulated BINANCE spot venue with BTCUSDT, a cash account of 1,000,000 USDT and
10 BTC. The strategy rests 20 GTC buys below and 20 sells above 50,000.00, 5,000 ticks apart,
0.001 BTC each; a buy filled at price p is answered by a sell at p + spacing, a sell by a buy at
p − spacing — what our ``neutral`` mode does on a bounded grid, so both count the same orders
and fills. Logging is bypassed: it would measure Nautilus' logger, not its engine.
"""

# mypy: disable-error-code="import-not-found"
# (nautilus-trader lives in the NT_PYTHON environment, never in gridmaker's)

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from typing import Any

import walk_feed

START_NS = 1_704_067_200_000_000_000
"""2024-01-01T00:00:00Z: when the first quote is stamped."""
QUOTE_GAP_NS = 100_000_000
QUOTE_SIZE = 10.0
"""BTC on each side of every quote: far more than one order, so no fill is ever partial."""
QTY = "0.001000"
"""BTC per order (``walk_feed.QTY_STEPS`` steps of 0.00001), at the instrument's 6 decimals."""


def _price_text(ticks: int) -> str:
    """Exact decimal text of a price in 0.01 ticks (no float on the way to an order)."""
    return f"{ticks // 100}.{ticks % 100:02d}"


def probe() -> int:
    """Say whether this Python can run the harness: Nautilus and numpy importable."""
    try:
        import nautilus_trader
        import numpy  # noqa: F401
    except ImportError as exc:
        print(f"missing: {exc.name}", flush=True)
        return 3
    version = str(nautilus_trader.__version__)
    print(json.dumps({"nautilus_trader": version}), flush=True)
    return 0


def grid_strategy(
    instrument_id: Any,
    *,
    start_ticks: int = walk_feed.START_TICKS,
    gap_ticks: int = walk_feed.SPACING_TICKS,
    levels: int = walk_feed.LEVELS,
    qty: str = QTY,
    on_trades: bool = False,
) -> Any:
    """The classic grid as a Nautilus ``Strategy``, around ``start_ticks`` (0.01 ticks).

    ``qty`` is the order size as text at the instrument's size precision; ``on_trades``
    subscribes to trade ticks instead of quotes (the data the run replays).
    """
    from nautilus_trader.config import StrategyConfig
    from nautilus_trader.model.enums import OrderSide
    from nautilus_trader.model.objects import Price, Quantity
    from nautilus_trader.trading.strategy import Strategy

    class Grid(Strategy):  # type: ignore[misc]
        """Rest the 2 × levels orders at start; answer every complete fill one level further."""

        def __init__(self) -> None:
            super().__init__(StrategyConfig())
            self.instrument_id = instrument_id
            self.quantity = Quantity.from_str(qty)
            self.fills = 0
            self.off_limit = 0
            self.limit_of: dict[Any, int] = {}  # ClientOrderId -> limit price in ticks

        def on_start(self) -> None:
            if on_trades:
                self.subscribe_trade_ticks(self.instrument_id)
            else:
                self.subscribe_quote_ticks(self.instrument_id)
            for level in range(1, levels + 1):
                self.place(OrderSide.BUY, start_ticks - level * gap_ticks)
                self.place(OrderSide.SELL, start_ticks + level * gap_ticks)

        def place(self, side: Any, ticks: int) -> None:
            order = self.order_factory.limit(
                instrument_id=self.instrument_id,
                order_side=side,
                quantity=self.quantity,
                price=Price.from_str(_price_text(ticks)),
            )
            self.limit_of[order.client_order_id] = ticks
            self.submit_order(order)

        def on_order_filled(self, event: Any) -> None:
            if not self.cache.order(event.client_order_id).is_closed:
                return  # a partial fill: the level answers once the order is done
            ticks = self.limit_of.pop(event.client_order_id)
            self.fills += 1
            if str(event.last_px) != _price_text(ticks):
                self.off_limit += 1
            if event.order_side == OrderSide.BUY:
                self.place(OrderSide.SELL, ticks + gap_ticks)
            else:
                self.place(OrderSide.BUY, ticks - gap_ticks)

    return Grid()


def engine_with(instrument: Any, data: list[Any], strategy: Any, *, trades: bool = False) -> Any:
    """A ``BacktestEngine`` (logging bypassed) with a BINANCE spot cash venue of 1,000,000 USDT
    and 10 BTC, the instrument, the data and the strategy; ``trades``: trade ticks move the
    market (``trade_execution``), as quotes do."""
    from nautilus_trader.backtest.config import BacktestEngineConfig
    from nautilus_trader.backtest.engine import BacktestEngine
    from nautilus_trader.config import LoggingConfig
    from nautilus_trader.model.currencies import BTC, USDT
    from nautilus_trader.model.enums import AccountType, OmsType
    from nautilus_trader.model.identifiers import TraderId, Venue
    from nautilus_trader.model.objects import Money

    engine = BacktestEngine(
        config=BacktestEngineConfig(
            trader_id=TraderId("BENCH-001"),
            logging=LoggingConfig(bypass_logging=True),
            run_analysis=False,
        )
    )
    engine.add_venue(
        venue=Venue("BINANCE"),
        oms_type=OmsType.NETTING,
        account_type=AccountType.CASH,
        base_currency=None,
        starting_balances=[Money(1_000_000, USDT), Money(10, BTC)],
        trade_execution=trades,
    )
    engine.add_instrument(instrument)
    engine.add_data(data)
    engine.add_strategy(strategy)
    return engine


def outcome(engine: Any, strategy: Any) -> dict[str, Any]:
    """Orders, complete fills, fills off their limit, balances and peak RSS after a run."""
    from nautilus_trader.model.currencies import BTC, USDT
    from nautilus_trader.model.identifiers import Venue

    account = engine.portfolio.account(Venue("BINANCE"))
    return {
        "orders": len(engine.cache.orders()),
        "fills": strategy.fills,
        "fills_off_limit": strategy.off_limit,
        "balance_usdt": str(account.balance_total(USDT)),
        "balance_btc": str(account.balance_total(BTC)),
        "ru_maxrss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def run(scenario: str, n: int) -> dict[str, Any]:
    """Replay ``n`` quotes of ``scenario`` through the grid; figures of the run as a dict."""
    import nautilus_trader
    import numpy as np
    from nautilus_trader.model.data import QuoteTick
    from nautilus_trader.test_kit.providers import TestInstrumentProvider

    started = time.perf_counter()
    bids = np.array(walk_feed.make_walk(scenario, n), dtype=np.int64)
    instrument = TestInstrumentProvider.btcusdt_binance()
    sizes = np.full(n, QUOTE_SIZE)
    stamps = np.arange(n, dtype=np.uint64) * np.uint64(QUOTE_GAP_NS) + np.uint64(START_NS)
    quotes = QuoteTick.from_raw_arrays_to_list(
        instrument.id,
        instrument.price_precision,
        instrument.size_precision,
        bids.astype(np.float64) / 100.0,  # Price(value, 2) rounds to the exact cent
        (bids + 1).astype(np.float64) / 100.0,
        sizes,
        sizes,
        stamps,
        stamps,
    )
    strategy = grid_strategy(instrument.id)
    engine = engine_with(instrument, quotes, strategy)
    del quotes
    load_s = time.perf_counter() - started

    started = time.perf_counter()
    engine.run()
    run_s = time.perf_counter() - started

    figures = {
        "impl": "nautilus",
        "version": str(nautilus_trader.__version__),
        "scenario": scenario,
        "ticks": n,
        "load_s": round(load_s, 3),
        "run_s": round(run_s, 3),
        "ticks_per_s": round(n / run_s),
        **outcome(engine, strategy),
    }
    engine.dispose()
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", choices=sorted(walk_feed.SIGMA_TICKS))
    parser.add_argument("--ticks", type=int, default=walk_feed.N_QUOTES)
    parser.add_argument("--probe", action="store_true", help="check Nautilus and numpy import")
    args = parser.parse_args()
    if args.probe:
        return probe()
    if args.scenario is None or args.ticks < 1:
        parser.error("give a scenario and a positive --ticks")
    print(json.dumps(run(args.scenario, args.ticks)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
