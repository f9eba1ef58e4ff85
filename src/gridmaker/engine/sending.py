"""Sending actions to the venue idempotently by client id: shared by every executor.

A duplicate client id means the order exists (looked up, never re-sent); an ambiguous error
(timeout, 5xx, rate limit, malformed answer) leaves the order UNKNOWN for a lookup by client
id before anything is sent again. Every outcome comes back as an event for ``decide``.

"Not found" is proof of absence only once the venue has had time to show the order: a venue
whose lookups lag behind its writes (Binance can answer "does not exist" for a fresh order for
tens of seconds) states ``lookup_grace_s``; within that time of our last placement with a
client id, "not found" stays UNKNOWN and is asked again later. Otherwise the id would be sent
again, and an order that filled meanwhile would be placed twice (a closed id is accepted anew).
"""

from __future__ import annotations

import logging
import time

from gridmaker import failpoints
from gridmaker.core.events import (
    Action,
    CancelOrder,
    Event,
    OrderStatus,
    OrderUpdate,
    PlaceOrder,
)
from gridmaker.core.units import Instrument, Steps
from gridmaker.engine.retry import Retrier
from gridmaker.engine.translate import to_request, to_update
from gridmaker.exchange.api import (
    DuplicateClientOrderId,
    Exchange,
    ExchangeOrder,
    LookupGrace,
    MalformedResponse,
    NotFound,
    RateLimited,
    Rejected,
    Unavailable,
    UnknownOutcome,
)

__all__ = ["NOT_VISIBLE_YET", "Sender", "order_update"]

log = logging.getLogger("gridmaker.engine")

_AMBIGUOUS = (UnknownOutcome, Unavailable, RateLimited, MalformedResponse)

NOT_VISIBLE_YET = "not visible yet"
"""Reason of an UNKNOWN whose lookup came too soon after sending: ask again later, not now."""


class Sender:
    """Places, cancels and looks up orders by client id; answers are events."""

    def __init__(self, exchange: Exchange, retrier: Retrier) -> None:
        self.exchange = exchange
        self.retrier = retrier
        self.instruments: dict[str, Instrument] = {}
        self.grace_s = float(exchange.lookup_grace_s) if isinstance(exchange, LookupGrace) else 0.0
        self._placed_at: dict[str, float] = {}
        """Client id → when we last sent it (monotonic), kept for ``grace_s``."""

    def note_placement(self, cid: str) -> None:
        """``cid`` may have just been sent: "not found" is no proof for ``grace_s`` from now.

        Called for every placement attempt, and at boot for orders a dead process may have
        sent moments before it died (the send times are not journaled).
        """
        if not self.grace_s:
            return
        now = time.monotonic()
        self._placed_at.pop(cid, None)
        self._placed_at[cid] = now  # insertion order = time order: prune from the front
        while self._placed_at:
            oldest, at = next(iter(self._placed_at.items()))
            if now - at < self.grace_s:
                break
            del self._placed_at[oldest]

    def _too_fresh(self, cid: str) -> float | None:
        """Seconds since ``cid`` was sent if that is within the grace, else ``None``."""
        at = self._placed_at.get(cid)
        if at is None:
            return None
        age = time.monotonic() - at
        return age if age < self.grace_s else None

    async def send(self, action: Action, instrument: Instrument) -> Event:
        if isinstance(action, PlaceOrder):
            return await self._place(action, instrument)
        return await self._cancel(action, instrument)

    async def lookup(self, symbol: str, client_order_id: str) -> Event:
        try:
            order = await self.retrier.read(
                f"lookup {client_order_id}",
                lambda: self.exchange.fetch_order(symbol, client_order_id),
            )
            return to_update(order, self.instruments[symbol])
        except NotFound:
            age = self._too_fresh(client_order_id)
            if age is not None:
                log.info(
                    "not found %.1fs after sending, maybe not visible yet symbol=%s cid=%s",
                    age,
                    symbol,
                    client_order_id,
                )
                return order_update(
                    symbol,
                    client_order_id,
                    OrderStatus.UNKNOWN,
                    f"{NOT_VISIBLE_YET}: not found {age:.1f}s after sending",
                )
            return order_update(
                symbol, client_order_id, OrderStatus.NOT_FOUND, "not found at venue"
            )
        except _AMBIGUOUS as e:
            return order_update(symbol, client_order_id, OrderStatus.UNKNOWN, f"lookup failed: {e}")

    async def _place(self, action: PlaceOrder, instrument: Instrument) -> Event:
        sym, cid = action.symbol, action.client_order_id
        request = to_request(action, instrument)

        async def place() -> ExchangeOrder:
            self.note_placement(cid)  # each attempt: a paced retry may go out much later
            return await self.exchange.place_order(request)

        try:
            order = await self.retrier.write(f"place {cid}", place)
        except DuplicateClientOrderId:
            log.warning("duplicate client id at venue, looking it up symbol=%s cid=%s", sym, cid)
            return await self.lookup(sym, cid)
        except Rejected as e:
            log.info("order rejected symbol=%s cid=%s reason=%s", sym, cid, e.reason)
            return order_update(sym, cid, OrderStatus.REJECTED, e.reason)
        except _AMBIGUOUS as e:
            # May or may not exist: UNKNOWN until a lookup by client id answers.
            log.warning("place outcome unknown symbol=%s cid=%s error=%s", sym, cid, e)
            return order_update(sym, cid, OrderStatus.UNKNOWN, str(e))
        failpoints.hit("send:done")
        return _answer(order, instrument)

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
            return order_update(sym, cid, OrderStatus.UNKNOWN, str(e))
        failpoints.hit("send:done")
        return _answer(order, instrument)


def _answer(order: ExchangeOrder, instrument: Instrument) -> Event:
    try:
        return to_update(order, instrument)
    except MalformedResponse as e:
        return order_update(order.symbol, order.client_order_id, OrderStatus.UNKNOWN, str(e))


def order_update(symbol: str, cid: str, status: OrderStatus, reason: str) -> OrderUpdate:
    """An update we make up ourselves (no venue answer): no fill, no timestamp."""
    return OrderUpdate(
        symbol=symbol,
        client_order_id=cid,
        status=status,
        filled_steps=Steps(0),
        ts_event=0,
        reason=reason,
    )
