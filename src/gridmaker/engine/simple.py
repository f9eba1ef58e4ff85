"""``SimpleExecutor``: asyncio and our own SQLite journal.

Per decision: record (book + causes + intents in one transaction) → send → return the answers.
Sending (``engine/sending.py``, shared with the durable engine) is idempotent by client id: a
duplicate means the order exists, an ambiguous error leaves it UNKNOWN for a lookup before
anything is sent again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from gridmaker import failpoints
from gridmaker.core.events import Event
from gridmaker.core.strategy import Decision, GridState
from gridmaker.engine.retry import Retrier
from gridmaker.engine.sending import Sender
from gridmaker.exchange.api import Exchange
from gridmaker.store import Store

__all__ = ["SimpleExecutor"]


class SimpleExecutor:
    def __init__(self, *, store: Store, exchange: Exchange, retrier: Retrier | None = None) -> None:
        self.store = store
        self.exchange = exchange
        self.retrier = retrier or Retrier()
        self.sender = Sender(exchange, self.retrier)

    async def load_books(self, symbols: Sequence[str]) -> Mapping[str, GridState]:
        books = {}
        for symbol in symbols:
            state = self.store.load_book(symbol)
            if state is not None:
                books[symbol] = state
                self.sender.instruments[symbol] = state.instrument
        return books

    def is_fill_applied(self, symbol: str, trade_id: str) -> bool:
        return self.store.has_fill(symbol, trade_id)

    def has_intent(self, symbol: str, client_order_id: str) -> bool:
        return self.store.has_intent(symbol, client_order_id)

    def record_boot(self, symbol: str, report: Mapping[str, int], halted: str) -> None:
        self.store.record_boot(symbol, report, halted)

    def record_halt(self, reason: str) -> None:
        self.store.record_halt(reason)

    async def execute(
        self, decision: Decision, causes: Sequence[Event], *, send: bool = True
    ) -> list[Event]:
        state = decision.state
        self.sender.instruments[state.symbol] = state.instrument
        self.store.commit(state, causes=causes, actions=decision.actions)
        if not send:
            return []
        if decision.actions:
            failpoints.hit("intent:recorded")
        return [await self.sender.send(action, state.instrument) for action in decision.actions]

    def pending_commands(self) -> Sequence[tuple[int, str, str, str]]:
        return [(c.id, c.symbol, c.command, c.reason) for c in self.store.pending_commands()]

    def mark_command_applied(self, command_id: int) -> None:
        self.store.mark_command_applied(command_id)

    async def lookup(self, symbol: str, client_order_id: str) -> Event:
        return await self.sender.lookup(symbol, client_order_id)

    async def close(self) -> None:
        self.store.close()
