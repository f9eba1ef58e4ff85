"""``run``'s progress lines on stderr: where the market is, against where this run stops."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gridmaker.cli.common import err

if TYPE_CHECKING:
    from collections.abc import Callable

    from gridmaker.engine.orchestrator import GridOrchestrator
    from gridmaker.engine.sessions.market import Progress

__all__ = ["progress_printer"]


def progress_printer(
    symbol: str, orchestrator: GridOrchestrator, feed_name: str, steps: int | None
) -> Callable[[Progress], None]:
    """Progress lines on stderr: the market's feed position against where this run stops.

    Positions count from the market's creation (``feed_position``), so a continued data dir
    reads ``20500/40000 (500 this run)``; the end is ``--steps`` past the start, capped by a
    feed file's length. The last line says why the run stopped when it was not the steps.
    """
    shown = {"position": -1}  # the last line's position: the end repeats no line

    def show(p: Progress) -> None:
        if p.ended and steps == 0:
            return  # boot only: the summary says it all
        if p.ended == "feed" and p.done == 0:
            err.print(
                f"{symbol}: the feed {feed_name} ended at trade {p.position}; nothing left to "
                "print: use a new --data-dir or a longer feed",
                highlight=False,
                soft_wrap=True,
            )
            return
        state = orchestrator.state(symbol)
        if state is not None and p.position != shown["position"]:
            shown["position"] = p.position
            inst = state.instrument
            total = "" if p.end is None else f"/{p.end}"
            this_run = f" ({p.done} this run)" if p.start else ""
            price = format(inst.from_ticks(state.last_price_ticks), "f")
            pnl = format(inst.from_atoms(state.realized_pnl_atoms), "f")
            err.print(
                f"{symbol} trades {p.position}{total}{this_run}  price {price}"
                f"  fills {state.fills} (buy {state.buy_fills} / sell {state.sell_fills})"
                f"  pnl {pnl} {inst.quote}",
                highlight=False,
                soft_wrap=True,
            )
        if p.ended == "feed":
            err.print(
                f"{symbol}: feed ended after {p.position} trades ({feed_name})",
                highlight=False,
                soft_wrap=True,
            )
        elif p.ended == "stop":
            err.print(
                f"{symbol}: stopped (a signal or an operator's stop) after {p.done} trades "
                f"this run (position {p.position})",
                highlight=False,
                soft_wrap=True,
            )

    return show
