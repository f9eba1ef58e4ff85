"""What the core is told (facts) and what it asks for (commands), as frozen dataclasses.

Times are ``ts_event``: epoch milliseconds as the venue or feed stated them. Prices are ticks,
sizes steps, quote amounts atoms (see ``units``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from gridmaker.core.grid import GridSpec
from gridmaker.core.params import StrategyParams
from gridmaker.core.risk import RiskParams
from gridmaker.core.units import Atoms, Steps, Ticks

__all__ = [
    "Action",
    "BreakerCommand",
    "BreakerOrder",
    "CancelOrder",
    "CandleClosed",
    "CapitalChange",
    "Event",
    "Fill",
    "OrderStatus",
    "OrderUpdate",
    "PlaceOrder",
    "PriceTick",
    "Reconfigure",
    "Side",
    "Timer",
]


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"


class OrderStatus(StrEnum):
    """What the venue (or the executor, for an ambiguous answer) says about one order."""

    OPEN = "open"
    FILLED = "filled"
    CANCELED = "canceled"
    REJECTED = "rejected"
    UNKNOWN = "unknown"
    NOT_FOUND = "not_found"
    """A lookup by client id found no such order: it never reached the venue."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PriceTick:
    """A trade printed on the market (or a quote mid): the price the grid follows."""

    symbol: str
    price_ticks: Ticks
    qty_steps: Steps
    ts_event: int


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderUpdate:
    """The venue's (or executor's) answer about one of our orders.

    ``filled_steps`` is the cumulative filled size the venue reports; fills themselves arrive
    as ``Fill`` events, which are what moves balances.
    """

    symbol: str
    client_order_id: str
    status: OrderStatus
    filled_steps: Steps
    ts_event: int
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Fill:
    """One execution of one of our orders, identified by the venue's trade id."""

    symbol: str
    trade_id: str
    client_order_id: str
    side: Side
    price_ticks: Ticks
    qty_steps: Steps
    fee_atoms: Atoms
    ts_event: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Timer:
    """A clock tick from the shell; the core has no clock of its own."""

    symbol: str
    ts_event: int


class BreakerCommand(StrEnum):
    TRIP = "trip"
    RESET = "reset"
    BAN = "ban"


@dataclass(frozen=True, slots=True, kw_only=True)
class BreakerOrder:
    """An operator's trip or reset, or the venue's ban, addressed to one book's breaker."""

    symbol: str
    command: BreakerCommand
    reason: str
    ts_event: int
    command_id: int = 0
    """The operator's queued command this carries (0: none); marked applied with the book."""


class OperatorCommand(StrEnum):
    """What an operator may ask of a running grid besides its breaker."""

    PAUSE = "pause"
    """No new orders; the working ones stay."""
    RESUME = "resume"
    """Back to trading after a pause, take-profit only or a stop."""
    TAKE_PROFIT_ONLY = "take_profit_only"
    """Open buys cancelled, no new buys; sells of what is held keep working."""
    STOP = "stop"
    """Every order of ours cancelled, nothing placed (a stop that cancels)."""
    CLOSE = "close"
    """As a stop, then the inventory sold in one order within ``limit_ppm`` of the price."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OperatorOrder:
    """An operator's command addressed to one book, applied by the one loop like any event."""

    symbol: str
    command: OperatorCommand
    reason: str
    ts_event: int
    command_id: int = 0
    """The operator's queued command this carries (0: none); marked applied with the book."""
    limit_ppm: int = 0
    """``CLOSE``: how far below the last price the inventory's sale may go."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Reconfigure:
    """New grid parameters for a running book, applied as one step (``core.reshape``).

    ``grid`` is the new template built at the book's own anchor, so every level whose price is
    unchanged keeps its slot, its order and that order's client id.
    """

    symbol: str
    grid: GridSpec
    params: StrategyParams
    risk_params: RiskParams
    allow_loss: bool
    """Allow inventory to be offered below what it cost (refused otherwise)."""
    ts_event: int
    command_id: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class CapitalChange:
    """Quote capital added to (> 0) or withdrawn from (< 0) a running book: the balance it may
    use changes now, and order sizes follow at each level's next cycle; nothing is cancelled."""

    symbol: str
    delta_atoms: int
    reason: str
    ts_event: int
    command_id: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class CandleClosed:
    """A candle from the shell's aggregator (only when the crash detector is configured)."""

    symbol: str
    close_ticks: Ticks
    volume_steps: Steps
    ts_event: int


Event = (
    PriceTick
    | OrderUpdate
    | Fill
    | Timer
    | BreakerOrder
    | OperatorOrder
    | Reconfigure
    | CapitalChange
    | CandleClosed
)


@dataclass(frozen=True, slots=True, kw_only=True)
class PlaceOrder:
    symbol: str
    client_order_id: str
    level: int
    side: Side
    price_ticks: Ticks
    qty_steps: Steps
    post_only: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelOrder:
    symbol: str
    client_order_id: str
    level: int


Action = PlaceOrder | CancelOrder
