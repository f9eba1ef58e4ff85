"""The end-of-session summary: what a trader reads first, in venue units."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from gridmaker.core.display import money_text, plain, price_text, size_text
from gridmaker.core.events import Side
from gridmaker.core.state import GridState

__all__ = ["cell", "summarize"]


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
        "fees": money_text(inst, state.fees_atoms),
        "inventory": size_text(inst, held + state.dust_steps),
        "base_balance": size_text(inst, state.base_steps),
        "quote_balance": money_text(inst, state.quote_atoms),
        "last_price": price_text(inst, state.last_price_ticks),
        "breaker": state.risk.breaker.value,
        "breaker_reason": state.risk.reason if not state.risk.is_active else "",
        "base": inst.base,
        "quote": inst.quote,
    }


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
