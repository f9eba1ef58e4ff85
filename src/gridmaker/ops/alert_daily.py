"""The optional daily summary: one info alert a day, at a fixed UTC time, per bot.

What ``gridmaker status`` shows per market (``summarize``), in a few lines a phone shows
whole, with the fills since the last summary: an operator who hears nothing else still
learns once a day that the bot trades (or that it does not).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING

from gridmaker.engine.summary import summarize

if TYPE_CHECKING:
    from gridmaker.engine.orchestrator import GridOrchestrator
    from gridmaker.ops.alerts import Alerter

__all__ = ["DailySummary", "daily_text", "parse_daily_time"]

_HHMM = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")


def parse_daily_time(value: str) -> time:
    """``"08:00"`` → 08:00 UTC; anything else is a config error naming the field."""
    match = _HHMM.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise ValueError(
            f"alerts.daily_summary_utc must be HH:MM (24-hour, UTC), e.g. 08:00; was {value!r}"
        )
    return time(int(match.group(1)), int(match.group(2)), tzinfo=UTC)


def daily_text(orchestrator: GridOrchestrator, fills_before: dict[str, int]) -> str:
    """One line per market; ``fills_before`` (updated here) gives the fills since last time."""
    lines = []
    for symbol in orchestrator.symbols:
        view = orchestrator.view(symbol)
        if view.state is None:
            why = f" (not trading: {view.halted})" if view.halted else ""
            lines.append(f"{symbol}: no book yet{why}")
            continue
        s = summarize(view.state)
        fills = view.state.fills
        new = fills - fills_before.get(symbol, 0)
        fills_before[symbol] = fills
        state = f"not trading: {view.halted}" if view.halted else f"breaker {s['breaker']}"
        lines.append(
            f"{symbol}: {new} new fills ({fills} in all, {s['completed_cycles']} cycles); "
            f"realized PnL {s['realized_pnl']} {s['quote']}, fees {s['fees']} {s['quote']}; "
            f"inventory {s['inventory']} {s['base']}; {s['open_orders']} orders open; {state}"
        )
    return "\n".join(lines)


class DailySummary:
    """Sends ``daily_text`` through the alerter at ``at_utc`` each day (never at start)."""

    def __init__(
        self,
        orchestrator: GridOrchestrator,
        alerter: Alerter,
        at_utc: str,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.orchestrator = orchestrator
        self.alerter = alerter
        self.at = parse_daily_time(at_utc)
        self._clock = clock
        self._fills: dict[str, int] = {}
        self._seeded = False
        self._next = self._after(clock())
        self.sent = 0

    def _after(self, now: datetime) -> datetime:
        today = datetime.combine(now.date(), self.at)
        return today if today > now else today + timedelta(days=1)

    def tick(self) -> bool:
        """Send the summary if its time has come; returns whether it did."""
        now = self._clock()
        if not self._seeded and self.orchestrator.is_booted:
            self._seeded = True  # fills before this start are not "new"
            for symbol in self.orchestrator.symbols:
                state = self.orchestrator.view(symbol).state
                self._fills[symbol] = 0 if state is None else state.fills
        if now < self._next:
            return False
        self._next = self._after(now)
        self.alerter.note(
            "daily",
            "info",
            f"gridmaker daily summary {now:%Y-%m-%d}",
            daily_text(self.orchestrator, self._fills),
        )
        self.sent += 1
        return True

    async def run(self) -> None:
        """Until cancelled: wake at most a minute apart (a clock jump is caught the next)."""
        while True:
            self.tick()
            left = (self._next - self._clock()).total_seconds()
            await asyncio.sleep(min(max(left, 0.1), 60.0))
