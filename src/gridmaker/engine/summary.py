"""The end-of-session summary: what a trader reads first, in venue units."""

from __future__ import annotations

from gridmaker.core.events import Side
from gridmaker.core.strategy import GridState

__all__ = ["summarize"]


def summarize(state: GridState) -> dict[str, object]:
    """Counts as ints, money as decimal strings in the quote (or base) currency."""
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
        "realized_pnl": str(inst.from_atoms(state.realized_pnl_atoms)),
        "fees": str(inst.from_atoms(state.fees_atoms)),
        "inventory": str(inst.from_steps(held + state.dust_steps)),
        "base_balance": str(inst.from_steps(state.base_steps)),
        "quote_balance": str(inst.from_atoms(state.quote_atoms)),
        "last_price": str(inst.from_ticks(state.last_price_ticks)),
        "breaker": state.risk.breaker.value,
        "breaker_reason": state.risk.reason if not state.risk.is_active else "",
        "base": inst.base,
        "quote": inst.quote,
    }
