"""The simulator's Binance spot REST v3 endpoints (``/api/v3/*``) over one ``SimExchange``.

``ping``, ``time``, ``exchangeInfo``, ``ticker/24hr``, ``depth``, ``account``, ``order``
(POST/GET/DELETE), ``openOrders`` (GET/DELETE), ``myTrades``, ``allOrders``. A handler takes the
request's parameters and returns the JSON body, or raises ``BinanceError``; signatures, weights,
chaos and the lock are the server's. Parameter rules and record shapes: ``binance_wire``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal
from typing import Any, Final

from gridmaker.core.events import OrderStatus, Side
from gridmaker.exchange.api import (
    DuplicateClientOrderId,
    ExchangeOrder,
    NotFound,
    OrderRequest,
    Rejected,
)
from gridmaker.exchange.sim.http.binance_wire import (
    ASSET_PRECISION,
    CLIENT_ID,
    LONG,
    MAX_NOTIONAL,
    MAX_PRICE,
    MAX_QTY,
    SYMBOL,
    BinanceError,
    amount_param,
    cancel_json,
    check_filters,
    decimal_text,
    limit_param,
    optional,
    order_json,
    required,
    trade_json,
    venue_symbol,
)
from gridmaker.exchange.sim.matching import SimExchange

__all__ = ["BinanceRest", "Handler"]

Handler = Callable[[dict[str, str]], Awaitable[Any]]
"""Parameters in, the JSON body out (or ``BinanceError``)."""

_REJECTIONS: Final[Mapping[str, tuple[int, str]]] = {
    "duplicate_client_order_id": (-2010, "Duplicate order sent."),
    "insufficient_balance": (-2010, "Account has insufficient balance for requested action."),
    "post_only_would_cross": (-2010, "Order would immediately match and take."),
    "taker_not_supported": (-2010, "Order would immediately match; the simulator rests makers."),
    "unknown_symbol": (-1121, "Invalid symbol."),
}


class BinanceRest:
    """The ``/api/v3/*`` handlers; ``routes`` maps ``(method, path)`` to each."""

    def __init__(
        self,
        sim: SimExchange,
        *,
        symbols: Mapping[str, str],
        clock_ms: Callable[[], int],
        weight_limit: int,
        account_uid: int,
    ) -> None:
        """``symbols``: venue symbol (``BTCUSDT``) to ours (``BTC/USDT``); ``clock_ms``: the
        server's clock (it may run off the host's)."""
        self.sim = sim
        self.symbols = symbols
        self.clock_ms = clock_ms
        self.weight_limit = weight_limit
        self.account_uid = account_uid

    def routes(self) -> dict[tuple[str, str], Handler]:
        return {
            ("GET", "ping"): self._ping,
            ("GET", "time"): self._time,
            ("GET", "exchangeInfo"): self._exchange_info,
            ("GET", "ticker/24hr"): self._ticker,
            ("GET", "depth"): self._depth,
            ("GET", "account"): self._account,
            ("POST", "order"): self._place,
            ("GET", "order"): self._get_order,
            ("DELETE", "order"): self._cancel,
            ("GET", "openOrders"): self._open_orders,
            ("DELETE", "openOrders"): self._cancel_all,
            ("GET", "myTrades"): self._my_trades,
            ("GET", "allOrders"): self._all_orders,
        }

    def _symbol(self, params: Mapping[str, str]) -> str:
        raw = required(params, "symbol", SYMBOL)
        symbol = self.symbols.get(raw)
        if symbol is None:
            raise BinanceError(-1121, "Invalid symbol.")
        return symbol

    async def _ping(self, params: dict[str, str]) -> Any:
        return {}

    async def _time(self, params: dict[str, str]) -> Any:
        return {"serverTime": self.clock_ms()}

    async def _exchange_info(self, params: dict[str, str]) -> Any:
        symbols = []
        for vsym, symbol in sorted(self.symbols.items()):
            inst = await self.sim.fetch_instrument(symbol)
            filters = [
                {
                    "filterType": "PRICE_FILTER",
                    "minPrice": decimal_text(inst.tick_size),
                    "maxPrice": decimal_text(MAX_PRICE),
                    "tickSize": decimal_text(inst.tick_size),
                },
                {
                    "filterType": "LOT_SIZE",
                    "minQty": decimal_text(inst.min_qty),
                    "maxQty": decimal_text(MAX_QTY),
                    "stepSize": decimal_text(inst.step_size),
                },
                {
                    "filterType": "NOTIONAL",
                    "minNotional": decimal_text(inst.min_notional),
                    "maxNotional": decimal_text(MAX_NOTIONAL),
                    "applyMinToMarket": True,
                    "applyMaxToMarket": False,
                    "avgPriceMins": 5,
                },
            ]
            symbols.append(
                {
                    "symbol": vsym,
                    "status": "TRADING",
                    "baseAsset": inst.base,
                    "baseAssetPrecision": ASSET_PRECISION,
                    "quoteAsset": inst.quote,
                    "quotePrecision": ASSET_PRECISION,
                    "quoteAssetPrecision": ASSET_PRECISION,
                    "orderTypes": ["LIMIT", "LIMIT_MAKER"],
                    "isSpotTradingAllowed": True,
                    "isMarginTradingAllowed": False,
                    "permissions": [],
                    "filters": filters,
                }
            )
        limits = [
            {
                "rateLimitType": "REQUEST_WEIGHT",
                "interval": "MINUTE",
                "intervalNum": 1,
                "limit": self.weight_limit,
            }
        ]
        return {
            "timezone": "UTC",
            "serverTime": self.clock_ms(),
            "rateLimits": limits,
            "exchangeFilters": [],
            "symbols": symbols,
        }

    async def _ticker(self, params: dict[str, str]) -> Any:
        return self.ticker_json(self._symbol(params))

    def ticker_json(self, symbol: str) -> dict[str, Any]:
        inst = self.sim.instrument(symbol)
        last = self.sim.last_price(symbol) or Decimal(0)
        bid = max(last - inst.tick_size, Decimal(0)) if last else Decimal(0)
        ask = last + inst.tick_size if last else Decimal(0)
        ts = self.clock_ms()
        return {
            "symbol": venue_symbol(symbol),
            "priceChange": "0",
            "priceChangePercent": "0",
            "weightedAvgPrice": decimal_text(last),
            "prevClosePrice": decimal_text(last),
            "lastPrice": decimal_text(last),
            "lastQty": "0",
            "bidPrice": decimal_text(bid),
            "bidQty": "1",
            "askPrice": decimal_text(ask),
            "askQty": "1",
            "openPrice": decimal_text(last),
            "highPrice": decimal_text(last),
            "lowPrice": decimal_text(last),
            "volume": "0",
            "quoteVolume": "0",
            "openTime": ts - 86_400_000,
            "closeTime": ts,
            "firstId": 0,
            "lastId": self.sim.feed_position(symbol),
            "count": self.sim.feed_position(symbol),
        }

    async def _depth(self, params: dict[str, str]) -> Any:
        symbol = self._symbol(params)
        bids: dict[Decimal, Decimal] = {}
        asks: dict[Decimal, Decimal] = {}
        for order in await self.sim.fetch_open_orders(symbol):
            book = bids if order.side is Side.BUY else asks
            book[order.price] = book.get(order.price, Decimal(0)) + order.amount - order.filled
        limit = limit_param(params, default=100, maximum=5000)
        return {
            "lastUpdateId": self.sim.feed_position(symbol),
            "bids": [
                [decimal_text(p), decimal_text(q)]
                for p, q in sorted(bids.items(), reverse=True)[:limit]
            ],
            "asks": [[decimal_text(p), decimal_text(q)] for p, q in sorted(asks.items())[:limit]],
        }

    async def _account(self, params: dict[str, str]) -> Any:
        balances = await self.sim.fetch_balances()
        return {
            "makerCommission": 10,
            "takerCommission": 10,
            "canTrade": True,
            "canWithdraw": False,
            "canDeposit": False,
            "updateTime": 0,
            "accountType": "SPOT",
            "uid": self.account_uid,
            "permissions": ["SPOT"],
            "balances": [
                {"asset": a, "free": decimal_text(b.free), "locked": decimal_text(b.locked)}
                for a, b in sorted(balances.items())
            ],
        }

    async def _place(self, params: dict[str, str]) -> Any:
        symbol = self._symbol(params)
        side = required(params, "side")
        if side not in ("BUY", "SELL"):
            raise BinanceError(-1117, "Invalid side.")
        kind = required(params, "type")
        if kind not in ("LIMIT", "LIMIT_MAKER"):
            raise BinanceError(-1116, "Invalid orderType.")
        if params.get("newClientOrderId") == "":
            raise BinanceError(-1118, "New client order ID was empty.")
        cid = params.get("newClientOrderId")
        if cid is None:
            msg = "Mandatory parameter 'newClientOrderId' was not sent (the simulator makes none)."
            raise BinanceError(-1102, msg)
        optional(params, "newClientOrderId", CLIENT_ID)
        price, quantity = amount_param(params, "price"), amount_param(params, "quantity")
        check_filters(self.sim.instrument(symbol), price, quantity)
        request = OrderRequest(
            symbol=symbol,
            client_order_id=cid,
            side=Side(side.lower()),
            price=price,
            amount=quantity,
            post_only=kind == "LIMIT_MAKER",
        )
        try:
            order = await self.sim.place_order(request)
        except DuplicateClientOrderId as e:
            raise BinanceError(-2010, "Duplicate order sent.") from e
        except Rejected as e:
            # invalid_order cannot pass the filters above unless the sim's rules differ
            code, msg = _REJECTIONS.get(e.reason, (-1013, f"Filter failure: {e}"))
            raise BinanceError(code, msg) from e
        body = order_json(order)
        body["type"] = kind
        body["transactTime"] = order.ts_event
        body["fills"] = []
        for key in ("time", "updateTime", "isWorking"):
            body.pop(key)
        return body

    def _find(self, symbol: str, params: Mapping[str, str]) -> ExchangeOrder | None:
        oid = optional(params, "orderId", LONG)
        if oid is not None:
            found = [o for o in self.sim.all_orders(symbol) if int(o.order_id) == int(oid)]
            return found[0] if found else None
        if params.get("origClientOrderId") == "":
            raise BinanceError(-1119, "Original client order ID was empty.")
        cid = optional(params, "origClientOrderId", CLIENT_ID)
        if cid is None:
            msg = "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!"
            raise BinanceError(-1102, msg)
        found = [o for o in self.sim.all_orders(symbol) if o.client_order_id == cid]
        return max(found, key=lambda o: int(o.order_id)) if found else None

    async def _get_order(self, params: dict[str, str]) -> Any:
        order = self._find(self._symbol(params), params)
        if order is None:
            raise BinanceError(-2013, "Order does not exist.")
        return order_json(order)

    async def _cancel(self, params: dict[str, str]) -> Any:
        symbol = self._symbol(params)
        order = self._find(symbol, params)
        if order is None or order.status is not OrderStatus.OPEN:
            raise BinanceError(-2011, "Unknown order sent.")
        try:
            canceled = await self.sim.cancel_order(symbol, order.client_order_id)
        except NotFound as e:
            raise BinanceError(-2011, "Unknown order sent.") from e
        return cancel_json(canceled)

    async def _cancel_all(self, params: dict[str, str]) -> Any:
        symbol = self._symbol(params)
        out = []
        for order in list(await self.sim.fetch_open_orders(symbol)):
            out.append(cancel_json(await self.sim.cancel_order(symbol, order.client_order_id)))
        if not out:
            raise BinanceError(-2011, "Unknown order sent.")
        return out

    async def _open_orders(self, params: dict[str, str]) -> Any:
        symbol = self._symbol(params)
        return [order_json(o) for o in await self.sim.fetch_open_orders(symbol)]

    async def _all_orders(self, params: dict[str, str]) -> Any:
        symbol = self._symbol(params)
        limit = limit_param(params, default=500, maximum=1000)
        orders = self.sim.all_orders(symbol)
        return [order_json(o) for o in orders[-limit:]]

    async def _my_trades(self, params: dict[str, str]) -> Any:
        symbol = self._symbol(params)
        limit = limit_param(params, default=500, maximum=1000)
        from_id = optional(params, "fromId", LONG)
        fills = self.sim.all_fills(symbol)
        if from_id is not None:
            fills = [f for f in fills if int(f.trade_id) >= int(from_id)][:limit]
        else:
            fills = fills[-limit:]  # Binance: the most recent trades
        return [trade_json(f) for f in fills]
