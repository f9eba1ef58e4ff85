"""The hot path: a print that crosses nothing, and tick → decision latency by grid size.

Usage: python benchmarks/core_hot_path.py [--ticks N] [--samples K]

1. ns per print that crosses nothing, three ways: the backtester's fast loop (one chained
   comparison), the live check ``needs_decision`` plus the best-buy/best-sell comparison, and
   ``decide`` itself on a same-band tick (what skipping it saves).
2. ``decide`` latency (p50, p99) for a tick that changes level, for a buy fill (which plans the
   take-profit sell) and for a sell fill (which closes the round trip and plans the buy-back:
   the free quote is counted), on neutral grids of 20, 200 and 2,000 levels.

Figures only, no assertions; the last line is JSON.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from gridmaker.backtest import BacktestSetup, TickSeries, run_backtest
from gridmaker.core.decide import decide, needs_decision
from gridmaker.core.events import Fill, OrderStatus, OrderUpdate, PlaceOrder, PriceTick, Side
from gridmaker.core.grid import GridKind, GridSpec, GridTemplate
from gridmaker.core.state import GridMode, GridState, StrategyParams, new_state
from gridmaker.core.units import Atoms, Instrument, Steps, Ticks

P0 = 5_000_000
SPACING = 500
INST = Instrument(
    symbol="BTC/USDT",
    base="BTC",
    quote="USDT",
    tick_size=Decimal("0.01"),
    step_size=Decimal("0.00001"),
    min_qty=Decimal("0.00001"),
    min_notional=Decimal("5"),
    maker_fee=Decimal("0.001"),
    taker_fee=Decimal("0.001"),
)
PARAMS = StrategyParams(strategy_id="hp", mode=GridMode.NEUTRAL, order_qty_steps=Steps(100))


def _tick(price: int) -> PriceTick:
    return PriceTick(symbol="BTC/USDT", price_ticks=Ticks(price), qty_steps=Steps(0), ts_event=0)


def started(levels: int) -> GridState:
    half = levels // 2
    grid = GridSpec(
        kind=GridKind.ARITHMETIC,
        anchor_ticks=P0,
        spacing_ticks=SPACING,
        min_level=-half,
        max_level=half,
    )
    state = new_state(
        symbol="BTC/USDT",
        instrument=INST,
        grid=grid,
        params=PARAMS,
        base_steps=INST.to_steps(Decimal(1_000)),
        quote_atoms=INST.to_atoms(Decimal(100_000_000)),
    )
    return decide(state, _tick(P0 + 1)).state


def no_cross(n: int) -> dict[str, float]:
    setup = BacktestSetup(
        instrument=INST,
        params=PARAMS,
        template=GridTemplate(
            kind=GridKind.ARITHMETIC, spacing_ticks=SPACING, buy_levels=10, sell_levels=10
        ),
        book_base_steps=10**8,
        book_quote_atoms=10**25,
        venue_base_steps=10**8,
        venue_quote_atoms=10**25,
        start_price_ticks=P0,
        is_preflight_checked=False,
    )
    prices = [P0 + 1 + i % 97 for i in range(n)]
    result = run_backtest(setup, TickSeries(prices=prices), record=False)
    loop_ns = result.elapsed_s / n * 1e9
    state = started(20)
    best_buy, best_sell = P0 - SPACING, P0 + SPACING
    t = time.perf_counter_ns()
    for price in prices:
        if needs_decision(state, price):
            raise AssertionError("a same-band price must not need a decision")
        if price <= best_buy or price >= best_sell:
            raise AssertionError("a same-band price must not cross")
    live_ns = (time.perf_counter_ns() - t) / n
    k = min(n, 20_000)
    t = time.perf_counter_ns()
    for price in prices[:k]:
        decide(state, _tick(price))
    decide_ns = (time.perf_counter_ns() - t) / k
    return {"backtest_loop_ns": loop_ns, "live_check_ns": live_ns, "decide_same_band_ns": decide_ns}


def latency(levels: int, samples: int) -> dict[str, float]:
    state = started(levels)
    up, down = _tick(P0 + SPACING + 1), _tick(P0 + 1)
    level_us: list[float] = []
    for i in range(samples):
        event = up if i % 2 == 0 else down
        t = time.perf_counter_ns()
        state = decide(state, event).state
        level_us.append((time.perf_counter_ns() - t) / 1000)
    # The buy nearest the price (the one a falling price fills first): its sell is placed.
    buy = max(
        (s for s in state.slots.values() if s.order_side is Side.BUY), key=lambda s: s.buy_ticks
    )
    fill = Fill(
        symbol="BTC/USDT",
        trade_id="1",
        client_order_id=buy.order_cid,
        side=Side.BUY,
        price_ticks=buy.order_price_ticks,
        qty_steps=buy.order_qty_steps,
        fee_atoms=Atoms(0),
        ts_event=0,
    )
    fill_us: list[float] = []
    for _ in range(samples):
        t = time.perf_counter_ns()
        decision = decide(state, fill)
        fill_us.append((time.perf_counter_ns() - t) / 1000)
    sell = decision.actions[0]
    assert isinstance(sell, PlaceOrder), "a buy fill places its take-profit sell"
    ack = OrderUpdate(
        symbol="BTC/USDT",
        client_order_id=sell.client_order_id,
        status=OrderStatus.OPEN,
        filled_steps=Steps(0),
        ts_event=0,
    )
    holding = decide(decision.state, ack).state
    sold = Fill(
        symbol="BTC/USDT",
        trade_id="2",
        client_order_id=sell.client_order_id,
        side=Side.SELL,
        price_ticks=sell.price_ticks,
        qty_steps=sell.qty_steps,
        fee_atoms=Atoms(0),
        ts_event=0,
    )
    sell_us: list[float] = []
    for _ in range(samples):
        t = time.perf_counter_ns()
        decide(holding, sold)
        sell_us.append((time.perf_counter_ns() - t) / 1000)
    return {
        "level_p50_us": _pct(level_us, 50),
        "level_p99_us": _pct(level_us, 99),
        "fill_p50_us": _pct(fill_us, 50),
        "fill_p99_us": _pct(fill_us, 99),
        "sell_fill_p50_us": _pct(sell_us, 50),
        "sell_fill_p99_us": _pct(sell_us, 99),
    }


def _pct(values: list[float], q: int) -> float:
    return round(statistics.quantiles(values, n=100)[q - 1] if q < 100 else max(values), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=2_000_000)
    parser.add_argument("--samples", type=int, default=2_000)
    args = parser.parse_args()
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
    ).stdout.strip()
    print(
        f"python {platform.python_version()}  cpu {platform.processor() or platform.machine()}"
        f"  commit {commit}",
        flush=True,
    )
    out: dict[str, Any] = {"no_cross": no_cross(args.ticks)}
    nc = out["no_cross"]
    print(
        f"print crossing nothing: backtest loop {nc['backtest_loop_ns']:.0f} ns, "
        f"live check {nc['live_check_ns']:.0f} ns, "
        f"decide() instead {nc['decide_same_band_ns']:.0f} ns",
        flush=True,
    )
    for levels in (20, 200, 2_000):
        figures = latency(levels, args.samples if levels < 2_000 else max(200, args.samples // 5))
        out[f"levels_{levels}"] = figures
        print(
            f"{levels:>5} levels: level-change decision p50 {figures['level_p50_us']} us "
            f"p99 {figures['level_p99_us']} us; fill decision p50 {figures['fill_p50_us']} us "
            f"p99 {figures['fill_p99_us']} us; sell fill p50 {figures['sell_fill_p50_us']} us "
            f"p99 {figures['sell_fill_p99_us']} us",
            flush=True,
        )
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
