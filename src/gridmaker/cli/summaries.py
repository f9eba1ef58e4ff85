"""The summaries ``run`` and ``status`` end with: a table per market, or JSON as the last line."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from gridmaker.cli.common import err

if TYPE_CHECKING:
    from pathlib import Path

    from gridmaker.engine.orchestrator import GridOrchestrator

__all__ = ["print_summaries", "run_summaries"]


def run_summaries(
    orchestrator: GridOrchestrator, exchange: Any, data_dir: Path, retries: int
) -> list[dict[str, Any]]:
    """The summary of every market with a book; a market without one is named on stderr.

    ``exchange`` is the venue itself (not the fault layer): the built-in one knows how far its
    market has printed (``feed_position``), a real venue does not.
    """
    from gridmaker.engine.summary import summarize
    from gridmaker.exchange.api import SimulatedMarket

    summaries = []
    for symbol in orchestrator.symbols:
        state = orchestrator.state(symbol)
        if state is None:
            if not orchestrator.halted(symbol):
                err.print(
                    f"{symbol}: no book yet in {data_dir}: the bot has not traded a price",
                    highlight=False,
                )
            continue
        summary = summarize(state)
        summary["feed_position"] = (
            exchange.feed_position(symbol) if isinstance(exchange, SimulatedMarket) else None
        )
        summary["data_dir"] = str(data_dir)
        summary["boot_sync"] = orchestrator.report(symbol).counts()
        summary["retries"] = retries
        summaries.append(summary)
    return summaries


def print_summaries(summaries: list[dict[str, Any]], as_json: bool) -> None:
    """One table per market; with ``as_json`` one JSON line (``{"markets": [...]}`` for more
    than one market), the last line of stdout."""
    if as_json:
        payload = summaries[0] if len(summaries) == 1 else {"markets": summaries}
        sys.stdout.write(json.dumps(payload, sort_keys=True) + "\n")
        return
    from gridmaker.engine.summary import cell

    out = Console()
    for summary in summaries:
        table = Table(title=f"gridmaker — {summary['symbol']}", show_header=False)
        for key, value in summary.items():
            table.add_row(key, cell(value))
        out.print(table)
