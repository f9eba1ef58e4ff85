"""ccxt's unified records (markets, tickers, orders, trades) read into ours, or refused.

Amounts are exact: the client runs with ``number = str`` and everything becomes ``Decimal``.
Anything missing, of the wrong type or not finite raises ``MalformedResponse``: a venue answer
that does not make sense is never guessed at.
"""

from __future__ import annotations

import decimal
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final

import ccxt.async_support as accxt  # type: ignore[import-untyped]

from gridmaker.core.events import OrderStatus, Side
from gridmaker.core.units import Instrument
from gridmaker.exchange.api import ExchangeFill, ExchangeOrder, MalformedResponse, OrderRequest

__all__ = [
    "dec",
    "instrument_of",
    "order_key",
    "order_of",
    "order_problem",
    "quote_fee",
    "ticker_price",
    "trade_of",
    "trade_order_id",
]

_CID: Final = re.compile(r"^[A-Za-z0-9]{1,32}$")

_STATUS: Final[Mapping[str, OrderStatus]] = {
    "open": OrderStatus.OPEN,
    "canceling": OrderStatus.OPEN,
    "closed": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELED,
    "expired": OrderStatus.CANCELED,
    "rejected": OrderStatus.REJECTED,
}


def dec(value: Any, what: str, symbol: str = "", cid: str = "") -> Decimal:
    """A finite ``Decimal`` of a venue number, or ``MalformedResponse``."""
    if value is None or isinstance(value, bool):
        raise MalformedResponse(f"{what} missing", symbol=symbol, client_order_id=cid)
    try:
        result = Decimal(str(value))
    except decimal.InvalidOperation:
        raise MalformedResponse(
            f"{what} is not a number, was {value!r}", symbol=symbol, client_order_id=cid
        ) from None
    if not result.is_finite():
        raise MalformedResponse(f"{what} is {result}", symbol=symbol, client_order_id=cid)
    return result


def instrument_of(market: Any, symbol: str, precision_mode: Any) -> Instrument:
    """Tick, step, minimums and fees of a ccxt market."""
    try:
        precision, limits = market["precision"], market["limits"]
        return Instrument(
            symbol=symbol,
            base=str(market["base"]),
            quote=str(market["quote"]),
            tick_size=_precision(precision["price"], "tick size", symbol, precision_mode),
            step_size=_precision(precision["amount"], "step size", symbol, precision_mode),
            min_qty=dec(limits["amount"].get("min") or 0, "min qty", symbol),
            min_notional=dec((limits.get("cost") or {}).get("min") or 0, "min cost", symbol),
            maker_fee=dec(market.get("maker") or 0, "maker fee", symbol),
            taker_fee=dec(market.get("taker") or 0, "taker fee", symbol),
        )
    except (KeyError, TypeError, AttributeError, ValueError) as e:
        raise MalformedResponse(f"market {symbol} unreadable: {e}", symbol=symbol) from e


def _precision(value: Any, what: str, symbol: str, precision_mode: Any) -> Decimal:
    raw = dec(value, what, symbol)
    if precision_mode == accxt.DECIMAL_PLACES:
        return Decimal(1).scaleb(-int(raw))
    if raw <= 0:
        raise MalformedResponse(f"{what} of {symbol} is {raw}", symbol=symbol)
    return raw.normalize()


def ticker_price(ticker: Any, symbol: str, *, shapes_checked: bool) -> Decimal | None:
    """The last price of a ticker; ``None`` (nothing traded yet) only where the raw shape was
    checked, since elsewhere a ticker of ``None``s may be junk ccxt parsed."""
    if not isinstance(ticker, dict) or not isinstance(ticker.get("info"), dict):
        raise MalformedResponse(f"ticker unreadable: {str(ticker)[:120]!r}", symbol=symbol)
    last = ticker.get("last")
    if last is None:
        if shapes_checked:
            return None
        raise MalformedResponse("ticker without a last price", symbol=symbol)
    price = dec(last, "last price", symbol)
    if price <= 0:
        raise MalformedResponse(f"last price {price}", symbol=symbol)
    return price


def order_of(raw: Any, symbol: str, cid: str = "") -> ExchangeOrder:
    """An order as ccxt reports it; when ``cid`` is given the answer must be about it."""
    if not isinstance(raw, dict):
        raise MalformedResponse(f"order is a {type(raw).__name__}", symbol=symbol)
    info: Any = raw.get("info")
    if not isinstance(info, dict):
        info = {}
    # Binance's cancel answer carries the cancel request's id as clientOrderId.
    got = info.get("origClientOrderId") or raw.get("clientOrderId") or ""
    if cid and got != cid:
        raise MalformedResponse(
            f"answer is for client id {got!r}", symbol=symbol, client_order_id=cid
        )
    status = _STATUS.get(str(raw.get("status")))
    if status is None or raw.get("symbol") != symbol or raw.get("id") is None:
        raise MalformedResponse(
            f"order unreadable: status {raw.get('status')!r}, symbol {raw.get('symbol')!r}",
            symbol=symbol,
            client_order_id=cid,
        )
    side = raw.get("side")
    if side not in ("buy", "sell"):
        raise MalformedResponse(f"order side {side!r}", symbol=symbol, client_order_id=cid)
    return ExchangeOrder(
        symbol=symbol,
        order_id=str(raw["id"]),
        client_order_id=str(got),
        side=Side(side),
        price=dec(raw.get("price"), "order price", symbol, cid),
        amount=dec(raw.get("amount"), "order amount", symbol, cid),
        filled=dec(raw.get("filled") or 0, "order filled", symbol, cid),
        status=status,
        ts_event=int(raw.get("lastUpdateTimestamp") or raw.get("timestamp") or 0),
    )


def trade_order_id(raw: Any, symbol: str) -> str:
    """The venue order id of a trade, once the trade is known to be readable."""
    if not isinstance(raw, dict) or raw.get("symbol") != symbol:
        raise MalformedResponse(f"trade unreadable: {str(raw)[:120]!r}", symbol=symbol)
    if raw.get("id") is None or raw.get("order") is None or raw.get("side") not in ("buy", "sell"):
        raise MalformedResponse(f"trade without id, order or side: {raw!r}", symbol=symbol)
    return str(raw["order"])


def trade_of(raw: Any, symbol: str, cid: str, instrument: Instrument | None) -> ExchangeFill:
    """A fill of a trade checked by ``trade_order_id``, with our client id of its order."""
    price = dec(raw.get("price"), "trade price", symbol, cid)
    return ExchangeFill(
        symbol=symbol,
        trade_id=str(raw["id"]),
        order_id=str(raw["order"]),
        client_order_id=cid,
        side=Side(raw["side"]),
        price=price,
        amount=dec(raw.get("amount"), "trade amount", symbol, cid),
        fee=quote_fee(raw.get("fee"), price, symbol, cid, instrument),
        is_maker=raw.get("takerOrMaker") == "maker",
        ts_event=int(raw.get("timestamp") or 0),
    )


def quote_fee(
    fee: Any, price: Decimal, symbol: str, cid: str, instrument: Instrument | None
) -> Decimal:
    """The fee in quote currency; a base-asset fee is converted at the fill price."""
    if not isinstance(fee, dict) or fee.get("cost") in (None, "0", 0):
        return Decimal(0)
    cost = dec(fee["cost"], "fee", symbol, cid)
    currency = fee.get("currency")
    if instrument is None or currency == instrument.quote:
        return cost
    if currency == instrument.base:
        return (cost * price).quantize(instrument.atom, rounding=decimal.ROUND_CEILING)
    raise MalformedResponse(
        f"fee charged in {currency}; gridmaker accounts fees in {instrument.quote} "
        "(turn off paying fees in a third asset such as BNB)",
        symbol=symbol,
        client_order_id=cid,
    )


def order_key(order_id: str) -> tuple[int, str]:
    """Venue ids sort numerically where they are numbers."""
    return (int(order_id), "") if order_id.isdigit() else (0, order_id)


def order_problem(inst: Instrument, request: OrderRequest) -> str:
    """Why we refuse to send ``request`` (ccxt would round it silently), or ""."""
    if not _CID.match(request.client_order_id):
        return f"client id {request.client_order_id!r} must be 1-32 of [A-Za-z0-9]"
    if not request.price > 0 or request.price % inst.tick_size:
        return f"price {request.price} is not a positive multiple of tick {inst.tick_size}"
    if not request.amount > 0 or request.amount % inst.step_size:
        return f"amount {request.amount} is not a positive multiple of step {inst.step_size}"
    if request.amount < inst.min_qty:
        return f"amount {request.amount} is below min_qty {inst.min_qty}"
    if request.price * request.amount < inst.min_notional:
        return f"notional {request.price * request.amount} is below {inst.min_notional}"
    return ""
