"""What both executors share: our store is the bot's truth, the ``Sender`` talks to the venue.

An executor subclasses ``StoreBackedExecutor`` and adds only how it records and carries out a
decision (``execute``); everything else in ``GridExecutor`` is the store's or the sender's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from gridmaker.core.events import Event
from gridmaker.core.state import GridState
from gridmaker.engine.retry import Retrier
from gridmaker.engine.sending import Sender
from gridmaker.exchange.api import Exchange
from gridmaker.store import Store

__all__ = ["StoreBackedExecutor"]


class StoreBackedExecutor:
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

    def pending_commands(self) -> Sequence[tuple[int, str, str, str, str]]:
        return [
            (c.id, c.symbol, c.command, c.reason, c.payload) for c in self.store.pending_commands()
        ]

    def mark_command_applied(self, command_id: int, outcome: str = "") -> None:
        self.store.mark_command_applied(command_id, outcome)

    def note_maybe_sent(self, client_order_ids: Iterable[str]) -> None:
        for cid in client_order_ids:
            self.sender.note_placement(cid)

    async def lookup(self, symbol: str, client_order_id: str) -> Event:
        return await self.sender.lookup(symbol, client_order_id)

    async def close(self) -> None:
        self.store.close()
