"""``SimpleExecutor``: asyncio and our own SQLite journal.

Per decision: record (book + causes + intents in one transaction) → send → return the answers.
Sending is idempotent by client id: a duplicate means the order exists, an ambiguous error
leaves it UNKNOWN for a lookup before anything is sent again.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from gridmaker import failpoints
from gridmaker.core.events import (
    Action,
    CancelOrder,
    Event,
    OrderStatus,
    OrderUpdate,
    PlaceOrder,
)
from gridmaker.core.strategy import Decision, GridState
from gridmaker.core.units import Instrument, Steps
from gridmaker.engine.retry import Retrier
from gridmaker.engine.translate import to_request, to_update
from gridmaker.exchange.api import (
    DuplicateClientOrderId,
    Exchange,
    ExchangeOrder,
    MalformedResponse,
    NotFound,
    RateLimited,
    Rejected,
    Unavailable,
    UnknownOutcome,
)
from gridmaker.store import Store

__all__ = ["SimpleExecutor"]

log = logging.getLogger("gridmaker.engine")

_AMBIGUOUS = (UnknownOutcome, Unavailable, RateLimited, MalformedResponse)


class SimpleExecutor:
    def __init__(self, *, store: Store, exchange: Exchange, retrier: Retrier | None = None) -> None:
        self.store = store
        self.exchange = exchange
        self.retrier = retrier or Retrier()
        self._instruments: dict[str, Instrument] = {}

    async def load_books(self, symbols: Sequence[str]) -> Mapping[str, GridState]:
        books = {}
        for symbol in symbols:
            state = self.store.load_book(symbol)
            if state is not None:
                books[symbol] = state
                self._instruments[symbol] = state.instrument
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
        self._instruments[state.symbol] = state.instrument
        self.store.commit(state, causes=causes, actions=decision.actions)
        if not send:
            return []
        if decision.actions:
            failpoints.hit("intent:recorded")
        return [await self._send(action, state.instrument) for action in decision.actions]

    def pending_commands(self) -> Sequence[tuple[int, str, str, str]]:
        return [(c.id, c.symbol, c.command, c.reason) for c in self.store.pending_commands()]

    def mark_command_applied(self, command_id: int) -> None:
        self.store.mark_command_applied(command_id)

    async def lookup(self, symbol: str, client_order_id: str) -> Event:
        try:
            order = await self.retrier.read(
                f"lookup {client_order_id}",
                lambda: self.exchange.fetch_order(symbol, client_order_id),
            )
            return to_update(order, self._instruments[symbol])
        except NotFound:
            return _update(symbol, client_order_id, OrderStatus.NOT_FOUND, "not found at venue")
        except _AMBIGUOUS as e:
            return _update(symbol, client_order_id, OrderStatus.UNKNOWN, f"lookup failed: {e}")

    async def close(self) -> None:
        self.store.close()

    async def _send(self, action: Action, instrument: Instrument) -> Event:
        if isinstance(action, PlaceOrder):
            return await self._place(action, instrument)
        return await self._cancel(action, instrument)

    async def _place(self, action: PlaceOrder, instrument: Instrument) -> Event:
        sym, cid = action.symbol, action.client_order_id
        request = to_request(action, instrument)
        try:
            order = await self.retrier.write(
                f"place {cid}", lambda: self.exchange.place_order(request)
            )
        except DuplicateClientOrderId:
            log.warning("duplicate client id at venue, looking it up symbol=%s cid=%s", sym, cid)
            return await self.lookup(sym, cid)
        except Rejected as e:
            log.info("order rejected symbol=%s cid=%s reason=%s", sym, cid, e.reason)
            return _update(sym, cid, OrderStatus.REJECTED, e.reason)
        except _AMBIGUOUS as e:
            # May or may not exist: UNKNOWN until a lookup by client id answers.
            log.warning("place outcome unknown symbol=%s cid=%s error=%s", sym, cid, e)
            return _update(sym, cid, OrderStatus.UNKNOWN, str(e))
        failpoints.hit("send:done")
        return self._answer(order, instrument)

    async def _cancel(self, action: CancelOrder, instrument: Instrument) -> Event:
        sym, cid = action.symbol, action.client_order_id
        try:
            order = await self.retrier.write(
                f"cancel {cid}", lambda: self.exchange.cancel_order(sym, cid)
            )
        except NotFound:
            return await self.lookup(sym, cid)
        except _AMBIGUOUS as e:
            log.warning("cancel outcome unknown symbol=%s cid=%s error=%s", sym, cid, e)
            return _update(sym, cid, OrderStatus.UNKNOWN, str(e))
        failpoints.hit("send:done")
        return self._answer(order, instrument)

    @staticmethod
    def _answer(order: ExchangeOrder, instrument: Instrument) -> Event:
        try:
            return to_update(order, instrument)
        except MalformedResponse as e:
            return _update(order.symbol, order.client_order_id, OrderStatus.UNKNOWN, str(e))


def _update(symbol: str, cid: str, status: OrderStatus, reason: str) -> OrderUpdate:
    return OrderUpdate(
        symbol=symbol,
        client_order_id=cid,
        status=status,
        filled_steps=Steps(0),
        ts_event=0,
        reason=reason,
    )
