"""The book the strategy keeps for one symbol: its types and how a fresh one is made.

``GridState`` is frozen: ``decide`` returns a new one with every decision (``Decision``), and the
store saves it as is. Nothing here decides anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from gridmaker.core.events import Action
from gridmaker.core.grid import GridSpec
from gridmaker.core.params import GridMode, StrategyParams
from gridmaker.core.risk import RiskParams, RiskState
from gridmaker.core.slots import Slot
from gridmaker.core.units import Atoms, Instrument, Steps, Ticks

__all__ = [
    "Control",
    "Decision",
    "GridMode",
    "GridState",
    "StrategyParams",
    "make_slot",
    "new_state",
    "order_qty",
]


class Control(StrEnum):
    """What the operator lets the grid do (the breaker may forbid more, never less)."""

    TRADING = "trading"
    PAUSED = "paused"
    """Nothing new is placed; working orders stay and their fills are applied."""
    TAKE_PROFIT_ONLY = "take_profit_only"
    """Open buys are cancelled and none placed; sells of held inventory are placed and work."""
    STOPPED = "stopped"
    """Every order is cancelled and nothing placed; the next start trades again."""
    CLOSING = "closing"
    """As stopped, then the inventory is sold in one order within ``close_ppm`` of the price."""


@dataclass(frozen=True, slots=True, kw_only=True)
class GridState:
    """Everything the strategy knows about one symbol; saved after every decision."""

    symbol: str
    instrument: Instrument
    grid: GridSpec
    params: StrategyParams
    slots: Mapping[int, Slot]
    """Keyed by the slot's buy price in ticks."""
    base_steps: Steps
    quote_atoms: Atoms
    is_started: bool = False
    last_price_ticks: Ticks = Ticks(0)
    price_level: int = 0
    realized_pnl_atoms: Atoms = Atoms(0)
    fees_atoms: Atoms = Atoms(0)
    buy_fills: int = 0
    sell_fills: int = 0
    completed_cycles: int = 0
    dust_steps: Steps = Steps(0)
    anomalies: int = 0
    """Fills or updates that did not match the slot's live order (late or stray): counted, kept."""
    fill_cursor: str = ""
    """The venue's cursor after the last fill applied (opaque to the core)."""
    risk: RiskState = RiskState()
    risk_params: RiskParams = RiskParams()
    """Limits may change between runs (the config wins at boot); the breaker's state may not."""
    liquidation_cid: str = ""
    """The stop-loss sale of the inventory while it works ("" = none)."""
    liquidation_steps: int = 0
    """What that sale still has to fill."""
    liquidations: int = 0
    """Sales sent so far: the cycle of the next one's client id."""
    control: Control = Control.TRADING
    """The operator's pause, take-profit only or stop; saved with the book."""
    close_ppm: int = 0
    """Under ``CLOSING``: how far below the last price the inventory's sale may go."""
    trigger_ticks: int = 0
    """Before the start: nothing is placed until the price crosses this (0: start at once)."""
    start_price_ticks: int = 0
    """The price the grid started at (the cost of a neutral grid's opening inventory)."""
    capital_atoms: int = 0
    """The quote capital the order sizes follow: equity when first needed, then what the
    operator adds or withdraws (0: never needed; sizes are the configured ones)."""
    sizing_atoms: int = 0
    """The capital at which orders have the configured size (0: ``capital_atoms`` unset)."""
    cycle_floor: int = 0
    """The cycle a new or re-indexed slot starts at: above every cycle any id used before the
    last reconfiguration, so a client id is never reused across grids (``reshape``)."""
    reshapes: int = 0
    """Reconfigurations applied: after one, a live order's id may name another level."""
    loss_allowed: bool = False
    """The last reconfiguration allowed inventory to be offered below its cost."""
    parked: int = 0
    """Lots parked so far (``Plan.retire``): the next one sells under the next parked level."""

    @property
    def fills(self) -> int:
        return self.buy_fills + self.sell_fills

    def slot_for_level(self, level: int) -> Slot | None:
        if not self.grid.has_level(level):
            return None
        return self.slots.get(self.grid.price_ticks(level))


@dataclass(frozen=True, slots=True)
class Decision:
    state: GridState
    actions: tuple[Action, ...] = ()


def new_state(
    *,
    symbol: str,
    instrument: Instrument,
    grid: GridSpec,
    params: StrategyParams,
    base_steps: int,
    quote_atoms: int,
    trigger_ticks: int = 0,
) -> GridState:
    """A book before its first price: no slots yet, balances as the venue reported them."""
    return GridState(
        trigger_ticks=trigger_ticks,
        symbol=symbol,
        instrument=instrument,
        grid=grid,
        params=params,
        slots={},
        base_steps=Steps(base_steps),
        quote_atoms=Atoms(quote_atoms),
    )


def make_slot(grid: GridSpec, level: int, cycle: int = 0) -> Slot | None:
    """A fresh slot for ``level`` starting at ``cycle`` (the book's ``cycle_floor``), or None
    when the grid has no sell price above it."""
    if not (grid.has_level(level) and grid.has_level(level + 1)):
        return None
    return Slot(
        level=level,
        buy_ticks=grid.price_ticks(level),
        sell_ticks=grid.price_ticks(level + 1),
        cycle=cycle,
    )


def order_qty(state: GridState) -> int:
    """The size a level's next buy cycle aims for: the configured one, scaled by the capital
    the operator added or withdrew and, when compounding, by the realized profit."""
    base = state.params.order_qty_steps
    if not state.sizing_atoms:
        return base
    capital = state.capital_atoms
    if state.params.compound and state.realized_pnl_atoms > 0:
        capital += state.realized_pnl_atoms
    return max(0, base * capital // state.sizing_atoms)
