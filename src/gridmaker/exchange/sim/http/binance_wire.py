r"""Binance spot's wire format as the simulator speaks it: how a parameter is checked, how an
order or a trade is shown.

Bad requests get Binance's answers (``BinanceError``: HTTP 400, ``{"code", "msg"}``): a
malformed number or id ``-1100`` "Illegal characters found in parameter ...; legal range is
..." (decimals ``^([0-9]{1,20})(\.[0-9]{1,20})?$``, ids and limits ``^[0-9]{1,20}$``, client
order ids ``^[\.A-Z\:/a-z0-9_-]{1,36}$``), a missing one ``-1102``, more decimals than the
asset's precision (8) ``-1111``, a zero price or quantity ``-1013`` "Invalid price." /
"Invalid quantity.", and an order outside the listed filters ``-1013`` "Filter failure:
PRICE_FILTER" / "LOT_SIZE" / "NOTIONAL". A ``limit`` above the endpoint's maximum is cut to
it, as Binance does; ``0`` (Binance's answer to it is not documented) is read as 1.
"""

from __future__ import annotations

import decimal
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final

from gridmaker.core.events import OrderStatus, Side
from gridmaker.core.units import Instrument
from gridmaker.exchange.api import ExchangeFill, ExchangeOrder

__all__ = [
    "ASSET_PRECISION",
    "CLIENT_ID",
    "DECIMAL",
    "LONG",
    "MAX_NOTIONAL",
    "MAX_PRICE",
    "MAX_QTY",
    "SYMBOL",
    "BinanceError",
    "Legal",
    "amount_param",
    "cancel_json",
    "check_filters",
    "decimal_text",
    "limit_param",
    "mandatory",
    "optional",
    "order_json",
    "required",
    "trade_json",
    "venue_symbol",
]

MAX_PRICE: Final = Decimal("10000000")
MAX_QTY: Final = Decimal("90000")
MAX_NOTIONAL: Final = Decimal("900000000")
ASSET_PRECISION: Final = 8
"""The filters and precision ``exchangeInfo`` lists beyond the instrument's own rules."""
_WIDE: Final = decimal.Context(prec=100, traps=[decimal.InvalidOperation, decimal.Overflow])


class Legal:
    """A parameter's legal range: Binance's pattern as its message shows it, and ours."""

    def __init__(self, shown: str) -> None:
        self.shown = shown
        self.pattern = re.compile(shown.removeprefix("^").removesuffix("$"))


DECIMAL: Final = Legal(r"^([0-9]{1,20})(\.[0-9]{1,20})?$")
LONG: Final = Legal(r"^[0-9]{1,20}$")
CLIENT_ID: Final = Legal(r"^[\.A-Z\:/a-z0-9_-]{1,36}$")
SYMBOL: Final = Legal(r"^[A-Z0-9-_.]{1,20}$")


def venue_symbol(symbol: str) -> str:
    """``BTC/USDT`` → ``BTCUSDT``."""
    return symbol.replace("/", "")


def decimal_text(value: Decimal) -> str:
    return format(value, "f")


class BinanceError(Exception):
    """A request Binance would refuse: its error ``code``, ``msg`` and HTTP ``status``."""

    def __init__(self, code: int, msg: str, status: int = 400) -> None:
        super().__init__(msg)
        self.code, self.msg, self.status = code, msg, status


def mandatory(name: str) -> str:
    return f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."


def optional(params: Mapping[str, str], name: str, legal: Legal) -> str | None:
    """The parameter if sent (``None`` if not); ``-1100`` if it is outside its legal range."""
    value = params.get(name)
    if value is not None and not legal.pattern.fullmatch(value):
        msg = f"Illegal characters found in parameter '{name}'; legal range is '{legal.shown}'."
        raise BinanceError(-1100, msg)
    return value


def required(params: Mapping[str, str], name: str, legal: Legal | None = None) -> str:
    """The parameter; ``-1102`` if missing or empty, ``-1100`` if outside its legal range."""
    if not params.get(name):
        raise BinanceError(-1102, mandatory(name))
    value = params[name] if legal is None else optional(params, name, legal)
    assert value is not None
    return value


def limit_param(params: Mapping[str, str], *, default: int, maximum: int) -> int:
    """``limit``, cut to ``maximum`` as Binance does (and raised to 1)."""
    raw = optional(params, "limit", LONG)
    return default if raw is None else min(max(int(raw), 1), maximum)


def amount_param(params: Mapping[str, str], name: str) -> Decimal:
    """A price or quantity: a plain decimal with at most ``ASSET_PRECISION`` decimals."""
    value = Decimal(required(params, name, DECIMAL))
    exponent = value.normalize(_WIDE).as_tuple().exponent  # an int: the value is finite
    if isinstance(exponent, int) and -exponent > ASSET_PRECISION:
        raise BinanceError(-1111, f"Parameter '{name}' has too much precision.")
    return value


def check_filters(inst: Instrument, price: Decimal, quantity: Decimal) -> None:
    """Binance's answers for an order that breaks the filters ``exchangeInfo`` lists."""
    with decimal.localcontext(_WIDE):
        if price == 0:
            raise BinanceError(-1013, "Invalid price.")
        if quantity == 0:
            raise BinanceError(-1013, "Invalid quantity.")
        tick, step = inst.tick_size, inst.step_size
        if not tick <= price <= MAX_PRICE or (price - tick) % tick:
            raise BinanceError(-1013, "Filter failure: PRICE_FILTER")
        if not inst.min_qty <= quantity <= MAX_QTY or (quantity - inst.min_qty) % step:
            raise BinanceError(-1013, "Filter failure: LOT_SIZE")
        if not inst.min_notional <= price * quantity <= MAX_NOTIONAL:
            raise BinanceError(-1013, "Filter failure: NOTIONAL")


def _binance_status(order: ExchangeOrder) -> str:
    if order.status is OrderStatus.OPEN:
        return "PARTIALLY_FILLED" if order.filled > 0 else "NEW"
    return {
        OrderStatus.FILLED: "FILLED",
        OrderStatus.CANCELED: "CANCELED",
        OrderStatus.REJECTED: "REJECTED",
    }.get(order.status, "EXPIRED")


def order_json(order: ExchangeOrder) -> dict[str, Any]:
    return {
        "symbol": venue_symbol(order.symbol),
        "orderId": int(order.order_id),
        "orderListId": -1,
        "clientOrderId": order.client_order_id,
        "price": decimal_text(order.price),
        "origQty": decimal_text(order.amount),
        "executedQty": decimal_text(order.filled),
        "cummulativeQuoteQty": decimal_text(order.filled * order.price),
        "status": _binance_status(order),
        "timeInForce": "GTC",
        "type": "LIMIT",
        "side": order.side.value.upper(),
        "stopPrice": "0",
        "icebergQty": "0",
        "time": order.ts_event,
        "updateTime": order.ts_event,
        "isWorking": True,
        "workingTime": order.ts_event,
        "origQuoteOrderQty": "0",
        "selfTradePreventionMode": "EXPIRE_MAKER",
    }


def cancel_json(order: ExchangeOrder) -> dict[str, Any]:
    body = order_json(order)
    for key in ("time", "updateTime", "isWorking", "workingTime", "stopPrice", "icebergQty"):
        body.pop(key)
    body["origClientOrderId"] = order.client_order_id
    body["clientOrderId"] = f"cancel{order.order_id}"  # the cancel request's id (Binance trap)
    body["transactTime"] = order.ts_event
    return body


def trade_json(fill: ExchangeFill) -> dict[str, Any]:
    quote = fill.symbol.split("/")[1]
    return {
        "symbol": venue_symbol(fill.symbol),
        "id": int(fill.trade_id),
        "orderId": int(fill.order_id),
        "orderListId": -1,
        "price": decimal_text(fill.price),
        "qty": decimal_text(fill.amount),
        "quoteQty": decimal_text(fill.price * fill.amount),
        "commission": decimal_text(fill.fee),
        "commissionAsset": quote,
        "time": fill.ts_event,
        "isBuyer": fill.side is Side.BUY,
        "isMaker": fill.is_maker,
        "isBestMatch": True,
    }
