"""What a backtest is given and what it returns: the setup, the curves, the result, refusals.

Kept apart from the replay loop (``engine.py``) so reports, sweeps and the CLI read results
without the loop's machinery.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from decimal import Decimal

from gridmaker.core.display import money_text, plain, price_text, size_text
from gridmaker.core.grid import GridTemplate
from gridmaker.core.risk import RiskParams
from gridmaker.core.state import GridState, StrategyParams
from gridmaker.core.units import Instrument, notional_atoms

__all__ = ["BacktestRefused", "BacktestResult", "BacktestSetup", "Curves", "PreflightFailed"]


class BacktestRefused(ValueError):
    """The live engines would refuse to start this grid (pre-flight), or a limit is unsupported."""


class PreflightFailed(BacktestRefused):
    """The grid fails the pre-flight checks: ``run`` refuses it (exit 4), so does ``backtest``.

    The message is the one ``run`` prints: ``SYMBOL: refusing to start: ...``.
    """


@dataclass(frozen=True, slots=True, kw_only=True)
class BacktestSetup:
    """One grid on one instrument, and the account it trades from."""

    instrument: Instrument
    params: StrategyParams
    template: GridTemplate
    book_base_steps: int
    """What the grid may use (the budget), as the live book gets it at boot."""
    book_quote_atoms: int
    venue_base_steps: int
    """The whole simulated account."""
    venue_quote_atoms: int
    partial_fills: bool = False
    start_price_ticks: int | None = None
    """Start the grid at this price before the first print (default: at the first print)."""
    risk: RiskParams = RiskParams()
    """The breaker's limits, as the live book gets them from the config."""
    trigger_ticks: int = 0
    """Nothing is placed until the price crosses this (the grid is built around it), as live."""
    is_preflight_checked: bool = True
    """Refuse, as the live engines do, a grid whose pre-flight checks fail (e.g. a spacing
    narrower than two maker fees); off to compare with a peer that has no such check."""

    @property
    def symbol(self) -> str:
        return self.instrument.symbol


@dataclass(slots=True)
class Curves:
    """The equity at every print that took the slow path, and every fill (for reports).

    Indices are positions in the replayed series. Between two samples the price stayed in one
    level band and nothing filled; inventory changes only at fills.
    """

    sample_index: array[int] = field(default_factory=lambda: array("q"))
    sample_equity: array[float] = field(default_factory=lambda: array("d"))
    """The grid's PnL (realized + unrealized) in quote currency."""
    fill_index: array[int] = field(default_factory=lambda: array("q"))
    fill_side: array[int] = field(default_factory=lambda: array("b"))
    """+1 buy, -1 sell."""
    fill_price: array[int] = field(default_factory=lambda: array("q"))
    fill_qty: array[int] = field(default_factory=lambda: array("q"))
    fill_inventory: array[int] = field(default_factory=lambda: array("q"))
    """Base held by the grid's levels after the fill, in steps."""


@dataclass(slots=True, kw_only=True)
class BacktestResult:
    """The final book, the counts, and the curves for a report (quote amounts as floats)."""

    setup: BacktestSetup
    state: GridState
    ticks: int
    decisions: int
    orders: int
    rejected: int
    cancels: int
    start_price_ticks: int
    last_price_ticks: int
    start_inventory_steps: int
    capital_atoms: int
    max_drawdown_atoms: int
    elapsed_s: float
    inventory_min_steps: int
    inventory_max_steps: int
    curves: Curves

    @property
    def unrealized_pnl_atoms(self) -> int:
        """Held positions marked at the last print, less what they cost, plus partial proceeds."""
        price = self.last_price_ticks
        total: int = notional_atoms(price, self.state.dust_steps)
        for slot in self.state.slots.values():
            if slot.position_steps or slot.cost_atoms or slot.proceeds_atoms:
                mark = notional_atoms(price, slot.position_steps)
                total += mark + slot.proceeds_atoms - slot.cost_atoms
        return total

    @property
    def ticks_per_s(self) -> float:
        return self.ticks / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def summary(self) -> dict[str, object]:
        """What a trader reads first: counts as ints, money as plain decimal strings.

        Money is exact to the atom, as ``run`` prints it (one rule: ``core.display``).
        ``last_price`` is the last price the strategy acted on, as in ``run``;
        ``mark_price`` is the last print, at which ``unrealized_pnl`` is marked.
        """
        st, inst = self.state, self.setup.instrument
        realized = st.realized_pnl_atoms
        unrealized = self.unrealized_pnl_atoms
        total = realized + unrealized
        inventory = self.start_inventory_steps + self._base_change
        live = [s for s in st.slots.values() if s.has_live_order]
        capital = self.capital_atoms
        return {
            "symbol": st.symbol,
            "ticks": self.ticks,
            "fills": st.fills,
            "buy_fills": st.buy_fills,
            "sell_fills": st.sell_fills,
            "orders": self.orders,
            "rejected_orders": self.rejected,
            "cancels": self.cancels,
            "completed_cycles": st.completed_cycles,
            "open_orders": len(live),
            "fees": money_text(inst, st.fees_atoms),
            "realized_pnl": money_text(inst, realized),
            "unrealized_pnl": money_text(inst, unrealized),
            "total_pnl": money_text(inst, total),
            "max_drawdown": money_text(inst, self.max_drawdown_atoms),
            "capital": money_text(inst, capital),
            "return_on_capital": _ratio(total, capital),
            "inventory": size_text(inst, inventory),
            "inventory_min": size_text(inst, self.inventory_min_steps),
            "inventory_max": size_text(inst, self.inventory_max_steps),
            "start_price": price_text(inst, self.start_price_ticks),
            "last_price": price_text(inst, st.last_price_ticks),
            "mark_price": price_text(inst, self.last_price_ticks),
            "decisions": self.decisions,
            "elapsed_s": round(self.elapsed_s, 3),
            "ticks_per_s": round(self.ticks_per_s),
            "base": inst.base,
            "quote": inst.quote,
        }

    @property
    def _base_change(self) -> int:
        return self.state.base_steps - self.setup.book_base_steps


def _ratio(part: int, whole: int) -> str:
    """``part / whole`` to six decimals, plain (a ratio, not money: rounding is fine here)."""
    if not whole:
        return "0"
    return plain((Decimal(part) / Decimal(whole)).quantize(Decimal("0.000001")))
