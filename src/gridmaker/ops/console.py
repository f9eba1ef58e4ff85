"""``LiveView``: what a running bot is doing, redrawn on the terminal while ``run`` trades.

Without it a live run shows nothing until it ends. The view only reads the orchestrator's
frozen book views (and the watchdog's verdict), between two events, from the loop's own task:
it never writes, never holds a lock, never runs on another thread, so it cannot delay a
decision by more than the time one redraw takes. Numbers are the ones ``gridmaker status``
prints (``engine.summary.summarize``), plain decimals (``core.display``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from typing import Any, Protocol

from rich.console import Console, Group, RenderableType
from rich.file_proxy import FileProxy
from rich.live import Live
from rich.table import Table
from rich.text import Text

from gridmaker.core.display import money_text, plain
from gridmaker.engine.book import BookView
from gridmaker.engine.notices import now_ms
from gridmaker.engine.orchestrator import GridOrchestrator
from gridmaker.engine.summary import summarize, unrealized_pnl_atoms

__all__ = ["COLUMNS", "HealthSource", "LiveView", "unrealized_pnl_atoms"]

COLUMNS = (
    "market",
    "price",
    "control",
    "breaker",
    "buys",
    "sells",
    "fills",
    "realized",
    "unrealized",
    "fees",
    "inventory",
    "source",
    "price age",
)
"""The table's headers, in order (``health`` follows when a watchdog is given)."""

_STYLE = {
    "active": "green",
    "trading": "green",
    "ok": "green",
    "reducing": "yellow",
    "paused": "yellow",
    "take_profit_only": "yellow",
    "degraded": "yellow",
    "booting": "yellow",
    "halted": "bold red",
    "stopped": "red",
    "failing": "bold red",
}


class HealthSource(Protocol):
    """The watchdog as the view reads it: ``status`` and per-market ``status``/``reasons``."""

    def verdict(self) -> Mapping[str, Any]: ...


def age_text(now: int, then_ms: int) -> str:
    """Seconds since ``then_ms`` to a tenth (``0.4s``); ``never`` before the first one."""
    if then_ms <= 0:
        return "never"
    tenths = max(0, now - then_ms) // 100
    return f"{plain(Decimal(tenths) / 10)}s"


class LiveView:
    def __init__(
        self,
        orchestrator: GridOrchestrator,
        *,
        watchdog: HealthSource | None = None,
        console: Console | None = None,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self.orchestrator = orchestrator
        self.watchdog = watchdog
        self.console = console or Console(stderr=True)
        self._clock = clock
        self.redraws = 0

    def render(self) -> RenderableType:
        """The table of every market as it stands now, and why any of them does not trade."""
        verdict = self.watchdog.verdict() if self.watchdog is not None else None
        now = self._clock()
        title = f"gridmaker · {time.strftime('%H:%M:%S', time.gmtime(now / 1000))} UTC"
        if verdict is not None:
            status = str(verdict.get("status", "?"))
            title += f" · health [{_STYLE.get(status, '')}]{status}[/]"
        table = Table(title=title, title_justify="left", expand=False)
        for header in COLUMNS:
            table.add_column(
                header, no_wrap=True, justify="left" if header == "market" else "right"
            )
        if verdict is not None:
            table.add_column("health", no_wrap=True)
        notes: list[Text] = []
        markets: Mapping[str, Any] = verdict.get("markets", {}) if verdict is not None else {}
        for symbol in self.orchestrator.symbols:
            view = self.orchestrator.view(symbol)
            cells = _cells(view, now)
            if verdict is not None:
                cells.append(_health_cell(markets.get(symbol)))
            table.add_row(*cells)
            notes.extend(_notes(view))
        return Group(table, *notes) if notes else table

    async def run(self, refresh_s: float = 1.0) -> None:
        """Redraw every ``refresh_s`` until cancelled; the last frame stays on the terminal.

        Redraws happen on this task, not on rich's refresh thread, so the books are only ever
        read from the loop that writes them. stdout is left alone (``run`` prints its summary
        there); what is written to stderr meanwhile, log lines included, appears above the
        table instead of tearing it.
        """
        with (
            Live(
                self.render(),
                console=self.console,
                auto_refresh=False,
                redirect_stdout=False,
                redirect_stderr=True,
            ) as live,
            _logs_above_the_table(),
        ):
            try:
                while True:
                    await asyncio.sleep(refresh_s)
                    live.update(self.render(), refresh=True)
                    self.redraws += 1
            finally:
                live.update(self.render(), refresh=True)


@contextlib.contextmanager
def _logs_above_the_table() -> Iterator[None]:
    """Point the log handlers that write to the real stderr at the live view's proxy.

    ``Live`` swaps ``sys.stderr`` for a proxy that prints above the table, but a handler set
    up before (``logging.basicConfig``) still holds the real stream, and its lines would
    break the redraw. Nothing changes when the view is not on a terminal (no proxy then).
    """
    proxy = sys.stderr
    if not isinstance(proxy, FileProxy):
        yield
        return
    real = proxy.rich_proxied_file
    swapped = [
        h
        for h in logging.getLogger().handlers
        if isinstance(h, logging.StreamHandler) and h.stream is real
    ]
    for handler in swapped:
        handler.setStream(proxy)
    try:
        yield
    finally:
        for handler in swapped:
            handler.setStream(real)


def _cells(view: BookView, now: int) -> list[RenderableType]:
    source = view.source or "?"
    age = age_text(now, view.last_price_ms)
    state = view.state
    if state is None:
        control = "halted" if view.halted else "waiting"
        blanks: list[RenderableType] = [""] * (len(COLUMNS) - 5)
        return [view.symbol, "", _styled(control), *blanks, source, age]
    s = summarize(state)
    control = "halted" if view.halted else state.control.value
    return [
        view.symbol,
        str(s["last_price"]),
        _styled(control),
        _styled(str(s["breaker"])),
        str(s["open_buys"]),
        str(s["open_sells"]),
        str(s["fills"]),
        str(s["realized_pnl"]),
        money_text(state.instrument, unrealized_pnl_atoms(state)),
        str(s["fees"]),
        str(s["inventory"]),
        source,
        age,
    ]


def _health_cell(market: Any) -> RenderableType:
    if not isinstance(market, Mapping):
        return ""
    status = str(market.get("status", ""))
    reasons = market.get("reasons") or []
    text = _styled(status)
    if reasons:
        text.append(": " + "; ".join(str(r) for r in reasons))
    return text


def _notes(view: BookView) -> list[Text]:
    notes = []
    if view.halted:
        notes.append(Text(f"{view.symbol} does not trade: {view.halted}", style="red"))
    state = view.state
    if state is not None and not state.risk.is_active and state.risk.reason:
        notes.append(Text(f"{view.symbol} breaker: {state.risk.reason}", style="yellow"))
    return notes


def _styled(word: str) -> Text:
    return Text(word, style=_STYLE.get(word, ""))
