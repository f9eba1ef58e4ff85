"""How the one loop applies the operator's queued commands (``GridOrchestrator.apply_commands``).

Breaker trips and resets, pauses, take-profit only, resumes, reconfigurations and capital
changes are decided like any event, in the order they were queued. A command for one symbol is
marked applied in the transaction that saves its book; one for every symbol once each book has
carried it; a refused one at once, with why (its ``outcome``), as is one for a market this run
has no book for. A stop (every book at once) cancels our orders first when it says so, then
ends the session; a stop that sells ends it once every book has closed (``all_closed``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Protocol

from gridmaker import failpoints
from gridmaker.core.decide import decide
from gridmaker.core.events import (
    BreakerOrder,
    CapitalChange,
    Event,
    OperatorOrder,
    Reconfigure,
)
from gridmaker.core.state import Control, GridState
from gridmaker.engine.book import Book
from gridmaker.engine.changes import CHANGES, CommandRefused, change_event, target_setup
from gridmaker.engine.commands import STOPS, command_event
from gridmaker.engine.executor import GridExecutor
from gridmaker.engine.notices import CommandApplied, Lifecycle, NoticeSink

__all__ = ["CommandLoop", "all_closed", "apply_commands"]


class CommandLoop(Protocol):
    """What of the orchestrator applying commands needs (it is the one implementation)."""

    executor: GridExecutor
    notices: NoticeSink
    stop: asyncio.Event
    commands_waiting: bool
    commands_queued: asyncio.Event
    closing: bool

    @property
    def symbols(self) -> tuple[str, ...]: ...

    def book(self, symbol: str) -> Book | None: ...

    def awaits_book(self, symbol: str) -> bool: ...

    def check_closed(self) -> None: ...

    async def on_event(self, event: Event) -> None: ...


async def apply_commands(orch: CommandLoop, ts_event: int) -> int:
    """Apply every queued command; returns how many were applied (refused ones included)."""
    orch.commands_waiting = False
    orch.commands_queued.clear()
    applied = 0
    for command_id, target, command, reason, payload in orch.executor.pending_commands():
        targets = orch.symbols if target == "*" else (target,)
        if command not in STOPS and any(orch.awaits_book(s) for s in targets):
            continue  # a book not created yet: keep the command for when it exists
        failpoints.hit(f"{command}:before-commit")
        carried, outcome = False, ""
        for symbol in targets:
            book = orch.book(symbol)
            if book is None and target != "*":
                # Spent (or it would wait forever), but not "applied": no book took it.
                outcome = f"{target}: no such market in this run"
                continue
            if book is None or book.state is None:
                continue
            carried_id = command_id if target != "*" else 0
            try:
                order = _event(book.state, command, reason, payload, ts_event, carried_id)
            except CommandRefused as e:
                outcome = str(e)
                continue
            if order is None:
                continue
            if book.halted:
                # Not trading, but the command still belongs to the book: saved with it,
                # its cancels recorded and left for the next boot (as a ban's are).
                decision = decide(book.state, order)
                book.state = decision.state
                await orch.executor.execute(decision, (order,), send=False)
            else:
                await orch.on_event(order)
            if isinstance(order, Reconfigure):
                book.setup = target_setup(payload)
            carried = target != "*"
        failpoints.hit(f"{command}:after-commit")
        if not carried:
            orch.executor.mark_command_applied(command_id, outcome)
        applied += 1
        orch.notices.publish(
            CommandApplied(command_id=command_id, symbol=target, command=command, outcome=outcome)
        )
        if command in STOPS:
            _stopping(orch, command, reason)
    return applied


def _stopping(orch: CommandLoop, command: str, reason: str) -> None:
    """A stop was applied: end the session now, or once every book has sold (``stop_sell``)."""
    orch.notices.publish(Lifecycle(stage="stopping", detail=f"{command} {reason}"))
    if command == "stop_sell":
        orch.closing = True
        orch.check_closed()
    else:
        orch.stop.set()


def _event(
    state: GridState, command: str, reason: str, payload: str, ts_event: int, command_id: int
) -> BreakerOrder | OperatorOrder | Reconfigure | CapitalChange | None:
    if command in CHANGES:
        return change_event(state, command, reason, payload, ts_event, command_id)
    return command_event(state.symbol, command, reason, ts_event, command_id, payload)


def all_closed(states: Iterable[GridState | None]) -> bool:
    """Every book a ``stop_sell`` closes has no order working and no sale outstanding."""
    for state in states:
        if state is None or state.control is not Control.CLOSING:
            continue
        if state.liquidation_cid or any(s.has_live_order for s in state.slots.values()):
            return False
    return True
