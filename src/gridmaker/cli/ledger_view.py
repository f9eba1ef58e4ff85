"""How ``gridmaker ledger`` shows a ledger: JSON (money as decimal strings) and tables.

The book's own realized PnL and fees are shown beside the ledger's. They can differ: the book
books a round trip per slot and cycle when the slot's sell completes (dust and a stop-loss
sale shared out lowest level first), the ledger matches every sale from the fills alone, FIFO
for inventory that changed hands (``core/ledger.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from gridmaker.core.events import Fill
    from gridmaker.core.ledger import Ledger
    from gridmaker.core.state import GridState

__all__ = ["Comparison", "compare", "ledger_json", "print_comparison", "print_ledger"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Comparison:
    """The running ledger against the one rebuilt from the venue's fills."""

    running: Ledger
    rebuilt: Ledger
    only_journal: tuple[str, ...]
    only_venue: tuple[str, ...]
    differ: tuple[str, ...]
    """Trade ids in both whose price, size, fee, side, order or time differ."""

    @property
    def equal(self) -> bool:
        # foreign fills are not the grid's: the journal need not hold every one the venue lists
        same = replace(self.running, foreign=()) == replace(self.rebuilt, foreign=())
        return same and not (self.only_journal or self.only_venue or self.differ)


def compare(running: Ledger, rebuilt: Ledger, journal: list[Fill], venue: list[Fill]) -> Comparison:
    """Which counted fills only one side holds, and which both hold but differently."""
    mine = {f.trade_id: f for f in journal if f.trade_id in set(running.trade_ids)}
    theirs = {f.trade_id: f for f in venue if f.trade_id in set(rebuilt.trade_ids)}
    return Comparison(
        running=running,
        rebuilt=rebuilt,
        only_journal=tuple(t for t in running.trade_ids if t not in theirs),
        only_venue=tuple(t for t in rebuilt.trade_ids if t not in mine),
        differ=tuple(t for t in running.trade_ids if t in theirs and mine[t] != theirs[t]),
    )


def ledger_json(ledger: Ledger, book: GridState) -> dict[str, Any]:
    """The ledger as JSON: money, sizes and prices as plain decimal strings."""
    from gridmaker.core.display import money_text, price_text, size_text

    inst = ledger.instrument
    return {
        "symbol": ledger.symbol,
        "strategy_id": ledger.strategy_id,
        "fills": len(ledger.trade_ids),
        "foreign_fills": len(ledger.foreign),
        "buys": ledger.buys,
        "sells": ledger.sells,
        "bought": size_text(inst, ledger.bought_steps),
        "sold": size_text(inst, ledger.sold_steps),
        "grid_profit": money_text(inst, ledger.grid_profit_atoms),
        "realized_pnl": money_text(inst, ledger.realized_atoms),
        "fees": money_text(inst, ledger.fees_atoms),
        "unrealized_pnl": money_text(inst, ledger.unrealized_atoms),
        "open_inventory": size_text(inst, ledger.open_steps),
        "open_cost": money_text(inst, ledger.open_cost_atoms),
        "opening_inventory_sold": size_text(inst, ledger.opening_sold_steps),
        "start_price": price_text(inst, ledger.start_price_ticks),
        "last_price": price_text(inst, ledger.last_price_ticks),
        "book_realized_pnl": money_text(inst, book.realized_pnl_atoms),
        "book_fees": money_text(inst, book.fees_atoms),
        "levels": [
            {
                "level": line.level,
                "buy_price": price_text(inst, line.buy_ticks),
                "sell_price": price_text(inst, line.sell_ticks),
                "buys": line.buys,
                "bought": size_text(inst, line.bought_steps),
                "sells": line.sells,
                "sold": size_text(inst, line.sold_steps),
                "round_trips": line.round_trips,
                "profit": money_text(inst, line.profit_atoms),
                "fees": money_text(inst, line.fees_atoms),
            }
            for line in ledger.levels
        ],
    }


def comparison_json(comparison: Comparison, book: GridState) -> dict[str, Any]:
    return {
        "symbol": comparison.running.symbol,
        "equal": comparison.equal,
        "running": ledger_json(comparison.running, book),
        "rebuilt": ledger_json(comparison.rebuilt, book),
        "only_journal": list(comparison.only_journal),
        "only_venue": list(comparison.only_venue),
        "differ": list(comparison.differ),
    }


_HEADERS = {"buy_price": "buy at", "sell_price": "sell at", "round_trips": "trips"}


def print_ledger(ledger: Ledger, book: GridState, title: str) -> None:
    """The totals beside the book's own figures, then one row per level."""
    from gridmaker.core.planning import LIQUIDATION_LEVEL

    data = ledger_json(ledger, book)
    out = Console()
    totals = Table(title=f"{title} — {ledger.symbol}", show_header=False)
    for key, value in data.items():
        if key != "levels":
            totals.add_row(key, str(value))
    out.print(totals)
    columns = ["level", "buy_price", "sell_price", "buys", "bought", "sells", "sold"]
    columns += ["round_trips", "profit", "fees"]
    levels = Table(title=f"{ledger.symbol} per level")
    for column in columns:
        header = _HEADERS.get(column, column)
        levels.add_column(header, justify="right", no_wrap=True)
    for line in data["levels"]:
        cells = [str(line[c]) for c in columns]
        if line["level"] == LIQUIDATION_LEVEL:
            cells[0] = "close sale"
        levels.add_row(*cells)
    # every digit of a figure is shown (never cut to "0.02…"), wider than 80 columns if need be
    Console(width=max(out.width, 132)).print(levels)


def print_comparison(comparison: Comparison, book: GridState) -> None:
    print_ledger(comparison.rebuilt, book, "ledger rebuilt from the venue's fills")
    out = Console()
    symbol = comparison.running.symbol
    if comparison.equal:
        out.print(f"{symbol}: the rebuilt ledger equals the running ledger", highlight=False)
        return
    out.print(f"{symbol}: the rebuilt ledger DIFFERS from the running ledger", highlight=False)
    for label, ids in (
        ("only in the journal", comparison.only_journal),
        ("only at the venue", comparison.only_venue),
        ("in both, different", comparison.differ),
    ):
        if ids:
            out.print(f"  trade ids {label}: {', '.join(ids)}", highlight=False, soft_wrap=True)
