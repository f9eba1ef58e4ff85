"""Venue records (``Decimal``) to core events (ticks, steps, atoms) and back.

A venue value that is not exact in the instrument's units is the venue's fault: it becomes
``MalformedResponse``, never a rounded guess.
"""

from __future__ import annotations

from decimal import Decimal

from gridmaker.core.errors import OffTick
from gridmaker.core.events import Fill, OrderUpdate, PlaceOrder
from gridmaker.core.reconcile import VenueOrder
from gridmaker.core.units import Atoms, Instrument, Steps, Ticks
from gridmaker.exchange.api import (
    ExchangeFill,
    ExchangeOrder,
    MalformedResponse,
    OrderRequest,
)

__all__ = ["to_fill", "to_request", "to_update", "to_venue_order"]


def to_request(action: PlaceOrder, instrument: Instrument) -> OrderRequest:
    return OrderRequest(
        symbol=action.symbol,
        client_order_id=action.client_order_id,
        side=action.side,
        price=instrument.from_ticks(action.price_ticks),
        amount=instrument.from_steps(action.qty_steps),
        post_only=action.post_only,
    )


def _ticks(instrument: Instrument, price: Decimal, symbol: str, cid: str) -> Ticks:
    try:
        return instrument.to_ticks(price)
    except OffTick as e:
        raise MalformedResponse(str(e), symbol=symbol, client_order_id=cid) from e


def _steps(instrument: Instrument, amount: Decimal, symbol: str, cid: str) -> Steps:
    if not amount >= 0:
        raise MalformedResponse(f"amount {amount} is negative", symbol=symbol, client_order_id=cid)
    try:
        return instrument.to_steps(amount)
    except OffTick as e:
        raise MalformedResponse(str(e), symbol=symbol, client_order_id=cid) from e


def _atoms(instrument: Instrument, amount: Decimal, symbol: str, cid: str) -> Atoms:
    try:
        return instrument.to_atoms(amount)
    except OffTick as e:
        raise MalformedResponse(str(e), symbol=symbol, client_order_id=cid) from e


def to_update(order: ExchangeOrder, instrument: Instrument) -> OrderUpdate:
    if order.filled > order.amount:
        raise MalformedResponse(
            f"order filled {order.filled} of {order.amount}",
            symbol=order.symbol,
            client_order_id=order.client_order_id,
        )
    return OrderUpdate(
        symbol=order.symbol,
        client_order_id=order.client_order_id,
        status=order.status,
        filled_steps=_steps(instrument, order.filled, order.symbol, order.client_order_id),
        ts_event=order.ts_event,
    )


def to_venue_order(order: ExchangeOrder, instrument: Instrument) -> VenueOrder:
    sym, cid = order.symbol, order.client_order_id
    return VenueOrder(
        client_order_id=cid,
        side=order.side,
        price_ticks=_ticks(instrument, order.price, sym, cid),
        qty_steps=_steps(instrument, order.amount, sym, cid),
        filled_steps=_steps(instrument, order.filled, sym, cid),
    )


def to_fill(fill: ExchangeFill, instrument: Instrument) -> Fill:
    sym, cid = fill.symbol, fill.client_order_id
    if fill.amount <= 0 or fill.price <= 0 or fill.fee < 0:
        raise MalformedResponse(
            f"fill {fill.trade_id} has price {fill.price}, amount {fill.amount}, fee {fill.fee}",
            symbol=sym,
            client_order_id=cid,
        )
    return Fill(
        symbol=sym,
        trade_id=fill.trade_id,
        client_order_id=cid,
        side=fill.side,
        price_ticks=_ticks(instrument, fill.price, sym, cid),
        qty_steps=_steps(instrument, fill.amount, sym, cid),
        fee_atoms=_atoms(instrument, fill.fee, sym, cid),
        ts_event=fill.ts_event,
    )
