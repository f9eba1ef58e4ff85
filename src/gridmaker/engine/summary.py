"""The end-of-session summary: what a trader reads first, in venue units."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from gridmaker.core.display import money_text, plain, price_text, size_text
from gridmaker.core.events import Side
from gridmaker.core.state import GridState
from gridmaker.core.units import notional_atoms

if TYPE_CHECKING:
    from gridmaker.store import Store

__all__ = ["book_summary", "cell", "summarize", "unrealized_pnl_atoms"]


def summarize(state: GridState) -> dict[str, object]:
    """Counts as ints, money as plain decimal strings in the quote (or base) currency.

    Amounts are exact (to the atom, as stored) and never in exponent form, the same rule
    ``backtest`` follows; ``last_price`` is the last price the strategy acted on.
    """
    inst = state.instrument
    live = [s for s in state.slots.values() if s.has_live_order]
    held = sum(s.position_steps for s in state.slots.values())
    return {
        "symbol": state.symbol,
        "fills": state.fills,
        "buy_fills": state.buy_fills,
        "sell_fills": state.sell_fills,
        "completed_cycles": state.completed_cycles,
        "open_orders": len(live),
        "open_buys": sum(1 for s in live if s.order_side is Side.BUY),
        "open_sells": sum(1 for s in live if s.order_side is Side.SELL),
        "realized_pnl": money_text(inst, state.realized_pnl_atoms),
        "unrealized_pnl": money_text(inst, unrealized_pnl_atoms(state)),
        "fees": money_text(inst, state.fees_atoms),
        "inventory": size_text(inst, held + state.dust_steps),
        "base_balance": size_text(inst, state.base_steps),
        "quote_balance": money_text(inst, state.quote_atoms),
        "last_price": price_text(inst, state.last_price_ticks),
        "breaker": state.risk.breaker.value,
        "breaker_reason": state.risk.reason if not state.risk.is_active else "",
        "control": state.control.value,
        "base": inst.base,
        "quote": inst.quote,
    }


def unrealized_pnl_atoms(state: GridState) -> int:
    """What the held levels (and the dust) would fetch at the last price the strategy acted
    on, less what they cost, plus the proceeds of their partial sells."""
    price = state.last_price_ticks
    total: int = notional_atoms(price, state.dust_steps)
    for slot in state.slots.values():
        if slot.position_steps or slot.cost_atoms or slot.proceeds_atoms:
            total += notional_atoms(price, slot.position_steps) + slot.proceeds_atoms
            total -= slot.cost_atoms
    return total


def book_summary(state: GridState, store: Store) -> dict[str, Any]:
    """``summarize`` with what the store recorded beside the book: what ``gridmaker status``
    prints per market, and the control API's market summary (one function, so they agree)."""
    summary: dict[str, Any] = summarize(state)
    summary["recorded_fills"] = store.fill_count(state.symbol)
    boot = store.last_boot(state.symbol)
    if boot is not None:
        summary["last_boot"] = boot.at
        summary["boot_sync"] = boot.report
        summary["not_trading"] = boot.halted
    halt = store.last_halt()
    if halt is not None:
        summary["last_halt"] = f"{halt[1]}: {halt[0]}"
    return summary


_COUNT_ORDER = ("matched", "zombies", "ghost_fills", "resolved", "unknown_ours", "foreign")
"""The boot sync's classes in the order the README's table lists them."""


def cell(value: object) -> str:
    """One summary value as a table shows it: plain numbers, counts as ``matched 3, zombies 0``.

    A mapping (the boot sync's counts) reads as words, not as a Python ``dict``; ``None`` is
    blank; a ``Decimal`` is never in exponent form.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return plain(value)
    if isinstance(value, float):
        return plain(Decimal(repr(value)))  # a timing like 1e-05 s reads 0.00001
    if isinstance(value, Mapping):
        keys = [k for k in _COUNT_ORDER if k in value] + [k for k in value if k not in _COUNT_ORDER]
        return ", ".join(f"{str(k).replace('_', ' ')} {cell(value[k])}" for k in keys)
    if isinstance(value, list | tuple):
        return "; ".join(cell(v) for v in value)
    return str(value)
