"""The backtester: a ``TickSeries`` replayed through ``core.decide`` and a ``FillModel``.

Each print is handled exactly as a live session on the simulated exchange handles a trade
(``engine/sessions/market.py`` then ``GridOrchestrator.on_trade``):

1. the venue matches the print against the resting orders (``FillModel.match``);
2. a ``PriceTick`` is decided when ``needs_decision`` says so: the print's level differs from
   the level of the last decided price;
3. the fills are decided, in the venue's order. Every decision's actions go to the venue and
   its answers are decided in turn, breadth first, as the orchestrator's queue does.

The fast path: a print that stays in the decided level band and crosses neither the best buy
nor the best sell changes nothing, so the loop skips it with one chained comparison against two
thresholds computed after the last slow print.

One more shortcut keeps calm markets cheap, with the same result: a level change on a grid that
does not trail, while every slot has a live order, plans nothing — ``decide`` would only record
the new price and level. That record is kept aside and applied to the state just before the
next decision (and at the end). With risk limits the breaker also reads every level change:
``RiskWatch`` checks its triggers on integers and the level change is decided only when one
fires; what the skipped checks would have recorded is applied with the price. ``lazy_levels=
False`` decides every level change instead.
"""

from __future__ import annotations

import operator
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import replace

from gridmaker.backtest.fill_model import FillModel
from gridmaker.backtest.result import (
    BacktestRefused,
    BacktestResult,
    BacktestSetup,
    Curves,
    PreflightFailed,
)
from gridmaker.backtest.risk_watch import RiskWatch, is_watchable
from gridmaker.backtest.series import TickSeries
from gridmaker.core.decide import decide, needs_decision
from gridmaker.core.errors import InvalidGrid
from gridmaker.core.events import Event, Fill, PriceTick, Side
from gridmaker.core.evolve import evolve
from gridmaker.core.grid import GridKind, GridSpec
from gridmaker.core.preflight import preflight
from gridmaker.core.risk import BreakerState, RiskParams
from gridmaker.core.slots import OrderState
from gridmaker.core.state import GridState, new_state
from gridmaker.core.units import FEE_SCALE, Steps, Ticks, notional_atoms

__all__ = [
    "BacktestRefused",
    "BacktestResult",
    "BacktestSetup",
    "Backtester",
    "Curves",
    "PreflightFailed",
    "fills_of",
    "run_backtest",
]


class Backtester:
    """One replay of one setup; ``run`` may be called once."""

    def __init__(
        self, setup: BacktestSetup, *, record: bool = True, lazy_levels: bool = True
    ) -> None:
        self.setup = setup
        self.record = record
        if setup.risk.crash_ma_candles:
            raise BacktestRefused(
                "the crash detector (risk.crash_ma_candles) needs the live candle aggregator, "
                "which the backtester does not replay yet; switch it off to backtest"
            )
        if setup.risk.stop_loss_sell_ppm:
            raise BacktestRefused(
                "selling the inventory on a stop-loss (risk.stop_loss_sell) takes liquidity, "
                "which the fill model does not replay yet; switch it off to backtest"
            )
        self.has_limits = setup.risk != RiskParams()
        """With limits the breaker reads the price at every level change and bound."""
        self.lazy_levels = lazy_levels and not setup.params.trailing
        self._has_bounds = bool(setup.risk.stop_loss_ticks or setup.risk.take_profit_ticks)
        self._watch: RiskWatch | None = None
        """With limits: their triggers on integers; without one, every level change is decided."""
        if self.has_limits:
            watchable = self.lazy_levels and is_watchable(setup.risk)
            self._watch = RiskWatch(setup.risk) if watchable else None
            self.lazy_levels = watchable
        self.model = FillModel(
            setup.instrument,
            base_steps=setup.venue_base_steps,
            quote_atoms=setup.venue_quote_atoms,
            partial_fills=setup.partial_fills,
        )
        self.state: GridState | None = None
        self.decisions = 0
        self.curves = Curves()
        self._amounts: Sequence[int] | None = None
        self._stamps: Sequence[int] | None = None
        self._spread = 0
        self._anchor = 0
        self._spacing = 0
        """Arithmetic grids: the level is one floor division; 0 for geometric grids."""
        self._level = 0
        self._level_price = 0
        self._is_stale = False
        self._is_quiet: bool | None = None
        self._band = (1, 0)
        self._start_price = 0
        self._start_inventory = 0
        self._held = 0
        """Base held by the grid's levels now, in steps."""
        self._cash = 0
        """Equity less ``held * price``: quote change less the start inventory's mark, atoms."""
        self._capital = 0
        self._peak = 0
        self._max_drawdown = 0
        self._inventory_range = (0, 0)
        self._atom = float(setup.instrument.atom)

    # --- the loop ------------------------------------------------------------------------------

    def run(self, series: TickSeries) -> BacktestResult:
        """Replay every print of ``series``; raises ``InvalidGrid`` if no grid fits the price."""
        started = time.perf_counter()
        prices = series.prices
        self._amounts, self._stamps = series.amounts, series.ts_event
        self._spread = series.spread_ticks
        if self.setup.start_price_ticks is not None:
            self._start(self.setup.start_price_ticks, series.ts_at(0))
        lo, hi = self._thresholds() if self.state is not None else (1, 0)
        on_print = self._on_print
        n = len(prices)
        for start, chunk in _chunks(prices):
            # A list of Python ints replays fastest; a compact array (a loaded history file)
            # becomes one a chunk at a time, so 50M trades never exist as Python ints at once.
            end = start + len(chunk)
            it = iter(chunk)
            for price in it:
                if lo <= price < hi:
                    continue
                lo, hi = on_print(end - operator.length_hint(it) - 1, price)
        last = int(prices[-1])
        self._materialize()
        self._sample(n - 1, last)
        return self._finish(n, last, time.perf_counter() - started)

    def _on_print(self, index: int, price: int) -> tuple[int, int]:
        """A print that changes level or crosses an order: the live path, step by step."""
        model = self.model
        ask = price + self._spread
        ts = index if self._stamps is None else self._stamps[index]
        best_buy, best_sell = model.best_buy, model.best_sell
        if (best_buy and ask <= best_buy) or (best_sell and price >= best_sell):
            amount = 0 if self._amounts is None else self._amounts[index]
            fills = model.match(price, ask, amount, ts)
        else:
            model.bid_ticks, model.ask_ticks, model.ts_event = price, ask, ts
            fills = []
        if self.state is None:
            self._start(price, ts)
        elif not self.state.is_started:
            self._await_trigger(price, ts)
        else:
            if self._spacing:
                level = (price - self._anchor) // self._spacing
            else:
                level = self.state.grid.level_at_or_below(price)
            if self._has_bounds and self._beyond_bounds(price):
                # As ``needs_decision``: a crossed bound is decided until the breaker halts.
                if self.state.risk.breaker is not BreakerState.HALTED:
                    self._decide_level(level, price, ts)
            elif level != self._level:
                watch = self._watch
                if (
                    self.lazy_levels
                    and self._quiet()
                    and (watch is None or watch.calm(self.state, price, ts))
                ):
                    self._level, self._level_price = level, price
                    self._is_stale = True
                    self._set_band(level)
                else:
                    self._decide_level(level, price, ts)
        for fill in fills:
            self._decide(fill)
            self._on_fill(index, fill)
        self._sample(index, price)
        return self._thresholds()

    def _thresholds(self) -> tuple[int, int]:
        """Prints with ``lo <= price < hi`` stay in the level band and cross no order."""
        state = self.state
        if state is not None and not state.is_started:
            # A triggered grid waits: only a print at or across its trigger is decided.
            trigger = state.trigger_ticks
            return (0, trigger) if state.last_price_ticks < trigger else (trigger + 1, 1 << 63)
        lo, hi = self._band
        best_buy, best_sell = self.model.best_buy, self.model.best_sell
        if best_buy and best_buy - self._spread + 1 > lo:
            lo = best_buy - self._spread + 1
        if best_sell and best_sell < hi:
            hi = best_sell
        risk = self.setup.risk
        if risk.stop_loss_ticks and risk.stop_loss_ticks + 1 > lo:
            lo = risk.stop_loss_ticks + 1
        if risk.take_profit_ticks and risk.take_profit_ticks < hi:
            hi = risk.take_profit_ticks
        return lo, hi

    # --- decisions -----------------------------------------------------------------------------

    def _tick(self, price: int, ts: int) -> PriceTick:
        return PriceTick(
            symbol=self.setup.symbol, price_ticks=Ticks(price), qty_steps=Steps(0), ts_event=ts
        )

    def _start(self, price: int, ts: int) -> None:
        """The book of the first print, as live (``GridOrchestrator._new_book``): a triggered
        grid is built around its trigger and starts when the price reaches it."""
        setup = self.setup
        anchor = setup.trigger_ticks or price
        grid = setup.template.build(anchor)
        state = new_state(
            symbol=setup.symbol,
            instrument=setup.instrument,
            grid=grid,
            params=setup.params,
            base_steps=setup.book_base_steps,
            quote_atoms=setup.book_quote_atoms,
            trigger_ticks=setup.trigger_ticks,
        )
        problems = preflight(state, anchor) if setup.is_preflight_checked else []
        if problems:
            raise PreflightFailed(f"{setup.symbol}: refusing to start: " + "; ".join(problems))
        self.state = replace(state, risk_params=setup.risk)
        if grid.kind is GridKind.ARITHMETIC:
            self._anchor, self._spacing = grid.anchor_ticks, grid.spacing_ticks
        self._start_price = price
        starts = not setup.trigger_ticks or price == setup.trigger_ticks
        self._decide(self._tick(price, ts), (ts, price) if starts else None)
        if self.state.is_started:
            self._begin(price)

    def _await_trigger(self, price: int, ts: int) -> None:
        """A print before a triggered grid started: decided only at or across the trigger."""
        assert self.state is not None
        if needs_decision(self.state, price):
            self._decide(self._tick(price, ts), (ts, price))
        if self.state.is_started:
            self._begin(price)

    def _begin(self, price: int) -> None:
        """The grid started at ``price``: what the result measures from."""
        state = self.state
        assert state is not None
        self._level, self._level_price = state.grid.level_at_or_below(price), price
        self._start_price = price
        self._start_inventory = sum(s.position_steps for s in state.slots.values())
        self._inventory_range = (self._start_inventory, self._start_inventory)
        self._update_balances()
        qty = self.setup.params.order_qty_steps
        self._capital = sum(notional_atoms(s.buy_ticks, qty) for s in state.slots.values())
        self._set_band(self._level)

    def _beyond_bounds(self, price: int) -> bool:
        """A stop-loss or take-profit bound is crossed."""
        risk = self.setup.risk
        return bool(
            (risk.stop_loss_ticks and price <= risk.stop_loss_ticks)
            or (risk.take_profit_ticks and price >= risk.take_profit_ticks)
        )

    def _decide_level(self, level: int, price: int, ts: int) -> None:
        """Decide the price of a level change (or a crossed bound) after those kept aside."""
        self._decide(self._tick(price, ts), (ts, price))
        self._level, self._level_price = level, price
        self._set_band(level)

    def _decide(self, event: Event, price_sample: tuple[int, int] | None = None) -> None:
        """Decide ``event`` and every answer it leads to, as the orchestrator's queue does.

        ``price_sample`` (ts, price) when ``event`` is a level change the breaker records."""
        self._materialize(with_window=price_sample is not None)
        state = self.state
        assert state is not None
        model = self.model
        queue: deque[Event] = deque([event])
        decisions = 0
        while queue:
            decision = decide(state, queue.popleft())
            decisions += 1
            state = decision.state
            for action in decision.actions:
                queue.append(model.send(action))
        if self._watch is not None:
            state = self._watch.decided(state, price_sample)
        self.state = state
        self.decisions += decisions
        self._is_quiet = None
        self._update_balances()

    def _materialize(self, *, with_window: bool = True) -> None:
        """Apply the level changes kept aside: exactly what ``decide`` would have recorded (the
        breaker's window only ``with_window``: nothing but a price decision reads it)."""
        state = self.state
        if state is None:
            return
        risk = state.risk
        if self._watch is not None:
            risk = self._watch.catch_up(risk, with_window=with_window)
        if self._is_stale:
            self.state = evolve(
                state, last_price_ticks=Ticks(self._level_price), price_level=self._level, risk=risk
            )
            self._is_stale = False
        elif risk is not state.risk:
            self.state = evolve(state, risk=risk)

    def _quiet(self) -> bool:
        """True when every slot has a live order: a level change can plan nothing."""
        if self._is_quiet is None:
            assert self.state is not None
            none = OrderState.NONE  # hoisted: an enum member lookup per slot is slow
            self._is_quiet = all(slot.order is not none for slot in self.state.slots.values())
        return self._is_quiet

    # --- levels --------------------------------------------------------------------------------

    def _set_band(self, level: int) -> None:
        """The prices at ``level``: ``[price(level), price(level + 1))``."""
        if self._spacing:
            low = self._anchor + level * self._spacing
            self._band = (low, low + self._spacing)
            return
        assert self.state is not None
        grid: GridSpec = self.state.grid
        try:
            self._band = (grid.price_ticks(level), grid.price_ticks(level + 1))
        except InvalidGrid:
            self._band = (1, 0)  # no valid band: every print takes the slow path

    # --- measures ------------------------------------------------------------------------------

    def _update_balances(self) -> None:
        state = self.state
        assert state is not None
        setup, held0 = self.setup, self._start_inventory
        self._held = held0 + state.base_steps - setup.book_base_steps
        self._cash = (
            state.quote_atoms - setup.book_quote_atoms - held0 * self._start_price * FEE_SCALE
        )

    def _on_fill(self, index: int, fill: Fill) -> None:
        held = self._held
        low, high = self._inventory_range
        if held < low or held > high:
            self._inventory_range = (min(low, held), max(high, held))
        if self.record:
            c = self.curves
            c.fill_index.append(index)
            c.fill_side.append(1 if fill.side is Side.BUY else -1)
            c.fill_price.append(fill.price_ticks)
            c.fill_qty.append(fill.qty_steps)
            c.fill_inventory.append(held)

    def _sample(self, index: int, price: int) -> None:
        """Mark the grid at ``price``: the equity curve and the running max drawdown."""
        equity = self._cash + self._held * price * FEE_SCALE
        if equity > self._peak:
            self._peak = equity
        elif self._peak - equity > self._max_drawdown:
            self._max_drawdown = self._peak - equity
        if self.record:
            self.curves.sample_index.append(index)
            self.curves.sample_equity.append(equity * self._atom)

    def _finish(self, ticks: int, last_price: int, elapsed_s: float) -> BacktestResult:
        assert self.state is not None
        model = self.model
        return BacktestResult(
            setup=self.setup,
            state=self.state,
            ticks=ticks,
            decisions=self.decisions,
            orders=model.placed,
            rejected=model.rejected,
            cancels=model.canceled,
            start_price_ticks=self._start_price,
            last_price_ticks=last_price,
            start_inventory_steps=self._start_inventory,
            capital_atoms=self._capital,
            max_drawdown_atoms=self._max_drawdown,
            elapsed_s=elapsed_s,
            inventory_min_steps=self._inventory_range[0],
            inventory_max_steps=self._inventory_range[1],
            curves=self.curves,
        )


def run_backtest(
    setup: BacktestSetup,
    series: TickSeries,
    *,
    record: bool = True,
    lazy_levels: bool = True,
) -> BacktestResult:
    """Replay ``series`` through the core for ``setup``; see the module docstring."""
    return Backtester(setup, record=record, lazy_levels=lazy_levels).run(series)


def fills_of(result: BacktestResult) -> Sequence[tuple[Side, int, int]]:
    """(side, price ticks, qty steps) of every fill, in order."""
    c = result.curves
    return [
        (Side.BUY if side > 0 else Side.SELL, price, qty)
        for side, price, qty in zip(c.fill_side, c.fill_price, c.fill_qty, strict=True)
    ]


CHUNK = 1 << 20
"""Prints turned into Python ints at a time when the series is a compact array."""


def _chunks(prices: Sequence[int]) -> Iterator[tuple[int, list[int]]]:
    """``(start, prints)``: a list whole, anything else (numpy, ``array``) a chunk at a time."""
    if isinstance(prices, list):
        yield 0, prices
        return
    for start in range(0, len(prices), CHUNK):
        part = prices[start : start + CHUNK]
        to_list = getattr(part, "tolist", None)
        yield start, to_list() if to_list is not None else list(part)
