"""``SimpleExecutor``: asyncio and our own SQLite journal.

Per decision: record (book + causes + intents in one transaction) → send → return the answers.
Sending is idempotent by client id: a duplicate means the order exists, an ambiguous error
leaves it UNKNOWN for a lookup before anything is sent again.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

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
from gridmaker.engine.translate import to_request, to_update
from gridmaker.exchange.api import (
    DuplicateClientOrderId,
    Exchange,
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


class SimpleExecutor:
    def __init__(self, *, store: Store, exchange: Exchange) -> None:
        self.store = store
        self.exchange = exchange
        self._instruments: dict[str, Instrument] = {}

    async def load_books(self, symbols: Sequence[str]) -> Mapping[str, GridState]:
        books = {}
        for symbol in symbols:
            state = self.store.load_book(symbol)
            if state is not None:
                books[symbol] = state
        return books

    def is_fill_applied(self, symbol: str, trade_id: str) -> bool:
        return self.store.has_fill(symbol, trade_id)

    async def execute(self, decision: Decision, causes: Sequence[Event]) -> list[Event]:
        state = decision.state
        self._instruments[state.symbol] = state.instrument
        self.store.commit(state, causes=causes, actions=decision.actions)
        return [await self._send(action, state.instrument) for action in decision.actions]

    async def lookup(self, symbol: str, client_order_id: str) -> Event:
        try:
            order = await self.exchange.fetch_order(symbol, client_order_id)
        except NotFound:
            return _update(symbol, client_order_id, OrderStatus.NOT_FOUND, "not found at venue")
        except (UnknownOutcome, Unavailable, RateLimited, MalformedResponse) as e:
            return _update(symbol, client_order_id, OrderStatus.UNKNOWN, f"lookup failed: {e}")
        return to_update(order, self._instruments[symbol])

    async def close(self) -> None:
        self.store.close()

    async def _send(self, action: Action, instrument: Instrument) -> Event:
        if isinstance(action, PlaceOrder):
            return await self._place(action, instrument)
        return await self._cancel(action, instrument)

    async def _place(self, action: PlaceOrder, instrument: Instrument) -> Event:
        sym, cid = action.symbol, action.client_order_id
        try:
            order = await self.exchange.place_order(to_request(action, instrument))
        except DuplicateClientOrderId:
            log.warning("duplicate client id at venue, looking it up symbol=%s cid=%s", sym, cid)
            return await self.lookup(sym, cid)
        except Rejected as e:
            log.info("order rejected symbol=%s cid=%s reason=%s", sym, cid, e.reason)
            return _update(sym, cid, OrderStatus.REJECTED, e.reason)
        except (UnknownOutcome, Unavailable, RateLimited, MalformedResponse) as e:
            # May or may not exist: UNKNOWN until a lookup by client id answers.
            log.warning("place outcome unknown symbol=%s cid=%s error=%s", sym, cid, e)
            return _update(sym, cid, OrderStatus.UNKNOWN, str(e))
        return to_update(order, instrument)

    async def _cancel(self, action: CancelOrder, instrument: Instrument) -> Event:
        sym, cid = action.symbol, action.client_order_id
        try:
            order = await self.exchange.cancel_order(sym, cid)
        except NotFound:
            return await self.lookup(sym, cid)
        except (UnknownOutcome, Unavailable, RateLimited, MalformedResponse) as e:
            log.warning("cancel outcome unknown symbol=%s cid=%s error=%s", sym, cid, e)
            return _update(sym, cid, OrderStatus.UNKNOWN, str(e))
        return to_update(order, instrument)


def _update(symbol: str, cid: str, status: OrderStatus, reason: str) -> OrderUpdate:
    return OrderUpdate(
        symbol=symbol,
        client_order_id=cid,
        status=status,
        filled_steps=Steps(0),
        ts_event=0,
        reason=reason,
    )
