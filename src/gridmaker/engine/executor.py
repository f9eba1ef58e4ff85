"""The ``GridExecutor`` protocol: how a decision is recorded and carried out.

An executor never decides. It records the decision with its causes (one atomic write), sends
the decision's actions to the venue, and returns what the venue answered as events, which the
orchestrator feeds back through ``decide``. Engines differ only here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

from gridmaker.core.events import Event
from gridmaker.core.state import Decision, GridState

__all__ = ["GridExecutor"]


class GridExecutor(Protocol):
    async def load_books(self, symbols: Sequence[str]) -> Mapping[str, GridState]:
        """The stored books of these symbols (absent when never saved); verified checksums."""
        ...

    def is_fill_applied(self, symbol: str, trade_id: str) -> bool: ...

    def has_intent(self, symbol: str, client_order_id: str) -> bool:
        """True when a placement with this client id was ever recorded (the journal)."""
        ...

    def record_boot(self, symbol: str, report: Mapping[str, int], halted: str) -> None:
        """Keep what the boot sync found (and why a symbol does not trade) for ``status``."""
        ...

    def record_halt(self, reason: str) -> None:
        """Keep why all trading stopped (a ban) for ``status``."""
        ...

    async def execute(
        self, decision: Decision, causes: Sequence[Event], *, send: bool = True
    ) -> list[Event]:
        """Record the decision with its causes, then send its actions; return the answers.

        ``send=False`` records the intents without sending them (the venue refuses us: a ban);
        the next boot's reconciliation sends what is still due.
        """
        ...

    def pending_commands(self) -> Sequence[tuple[int, str, str, str, str]]:
        """Operator commands not applied yet: (id, symbol or "*", command, reason, payload)."""
        ...

    def mark_command_applied(self, command_id: int, outcome: str = "") -> None:
        """Spend a command; ``outcome`` says why it was refused ("" when applied)."""
        ...

    def note_maybe_sent(self, client_order_ids: Iterable[str]) -> None:
        """These orders may have reached the venue moments ago (a dead process's last sends):
        a lookup that does not find them within the venue's grace is not proof of absence."""
        ...

    async def lookup(self, symbol: str, client_order_id: str) -> Event:
        """What the venue says about one of our orders now (UNKNOWN resolution)."""
        ...

    async def close(self) -> None: ...
