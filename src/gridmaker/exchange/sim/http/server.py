"""Serve a ``SimExchange`` over HTTP in Binance spot REST v3 shapes, with chaos on the wire.

The real ccxt ``binance`` client can be pointed at it (every ``urls['api']`` entry rewritten to
``http://127.0.0.1:PORT``; ``serve`` listens on loopback unless given a socket elsewhere). The
``/api/v3/*`` endpoints are ``binance_rest``'s, and the market data ``binance_market``'s; this
server checks what every request shares first: ``X-MBX-APIKEY`` (``-2015``) and the
HMAC-SHA256 ``signature`` (``-1022``) of signed endpoints (the key alone for
``historicalTrades``), a repeated parameter (``-1101``), and the request weight: each response
carries ``X-MBX-USED-WEIGHT-1M``; past ``weight_limit`` per minute a request is refused with 429
and ``Retry-After``. Then it draws the request's fault (``chaos``) and runs the handler under one
lock. A failure of the simulator itself is ``-1000`` with HTTP 500, JSON as well.

The market moves only when told (control endpoints, not Binance; JSON in and out; who may
call them and how bodies are checked: ``control``):

- ``POST /__sim/bind``  ``{"symbol": "BTC/USDT", "key": feed_key}`` → ``{"position": n}``
- ``POST /__sim/trade`` ``{"symbol", "price", "amount", "ts_event"}`` → ``{"fills", "position"}``
- ``POST /__sim/chaos`` a wire ``FaultPlan`` as JSON (``{}`` = off; ``chaos``); ``GET`` the counts
- ``GET  /__sim/dump``  every order, fill and balance (for judging tests)
- ``POST /__sim/clock`` ``{"offset_ms": n}``: the server's clock runs ``n`` ms off the host's
- ``GET  /__sim/market`` ``{"moves_itself": bool}``: whether the market prints trades on its
  own (``sim.walk``); a bot then must not print them, only trade

Signed requests must carry a ``timestamp`` inside ``recvWindow`` (default 5000 ms) of the
server's clock and at most 1000 ms ahead of it, else ``-1021`` as on Binance; with a clock
offset this is how a client's clock resync (``adjustForTimeDifference``) is tested.
Websockets (ticker and user data) are in ``streams``.

Differences from Binance: fees are charged in the quote currency (Binance charges the received
asset or BNB), and a resting buy locks its maker fee with its cost (``locked`` shows price x
quantity x (1 + maker fee)); orders rest as makers only (a crossing LIMIT order is refused, not
taken); ``newClientOrderId`` is required (Binance would make one); trade ids are the
simulator's fill sequence numbers, shared by all symbols.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any, Final
from urllib.parse import parse_qsl

from aiohttp import web

from gridmaker.exchange.binance_weights import endpoint_weight
from gridmaker.exchange.faults import FaultDraws, FaultKind, FaultPlan
from gridmaker.exchange.sim.http.binance_market import KEYED, BinanceMarket
from gridmaker.exchange.sim.http.binance_market import PUBLIC as MARKET_DATA
from gridmaker.exchange.sim.http.binance_rest import BinanceRest
from gridmaker.exchange.sim.http.binance_wire import (
    LONG,
    BinanceError,
    decimal_text,
    mandatory,
    optional,
    required,
    venue_symbol,
)
from gridmaker.exchange.sim.http.chaos import PLAN_FIELDS, answer, plan_from_json
from gridmaker.exchange.sim.http.control import (
    ControlError,
    decimal_field,
    int_field,
    read_object,
    refusal,
    text_field,
)
from gridmaker.exchange.sim.http.streams import SimStreams
from gridmaker.exchange.sim.matching import SimExchange

__all__ = ["BinanceSimServer", "venue_symbol"]

log = logging.getLogger("gridmaker.sim")


PUBLIC: Final = frozenset({"ping", "time", "exchangeInfo", "ticker/24hr", "depth"}) | MARKET_DATA
WRITES: Final = frozenset({("POST", "order"), ("DELETE", "order"), ("DELETE", "openOrders")})
_UNKNOWN: Final = {"code": -1000, "msg": "An unknown error occurred while processing the request."}


@dataclass(slots=True)
class _Stats:
    requests: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    calls: Counter[str] = field(default_factory=Counter)


def _account_uid(sim: SimExchange, api_key: str) -> int:
    """The account's ``uid`` as Binance reports it: one per key and exchange state file, so a
    bot can tell this venue from another (an in-memory exchange is new at every start)."""
    where = str(sim.path.resolve()) if sim.path is not None else uuid.uuid4().hex
    digest = hashlib.sha256(f"{where}\n{api_key}".encode()).digest()
    return int.from_bytes(digest[:6], "big")


class BinanceSimServer:
    """The aiohttp application around one ``SimExchange``; ``app`` is what to serve."""

    def __init__(
        self,
        sim: SimExchange,
        *,
        symbols: Sequence[str],
        api_key: str,
        api_secret: str,
        chaos: FaultPlan | None = None,
        weight_limit: int = 6000,
        clock_ms: Callable[[], int] = lambda: int(time.time() * 1000),
        clock_offset_ms: int = 0,
        control_token: str | None = None,
    ) -> None:
        """``control_token``: required (``X-Sim-Token``) on every ``/__sim/*`` request; without
        one the control endpoints answer only requests addressed to a loopback name."""
        self.sim = sim
        self.control_token = control_token
        self.symbols = {venue_symbol(s): s for s in symbols}
        self.api_key = api_key
        self.account_uid = _account_uid(sim, api_key)
        self.api_secret = api_secret.encode()
        self.weight_limit = weight_limit
        self.stats = _Stats()
        self._host_clock_ms = clock_ms
        self.clock_offset_ms = clock_offset_ms
        self._weight_minute = 0
        self._weight_used = 0
        self._lock = asyncio.Lock()
        self.set_chaos(chaos)
        self.rest = BinanceRest(
            sim,
            symbols=self.symbols,
            clock_ms=self._clock_ms,
            weight_limit=weight_limit,
            account_uid=self.account_uid,
        )
        self._routes = {**self.rest.routes(), **BinanceMarket(sim, symbols=self.symbols).routes()}
        self.app = web.Application(middlewares=[self._guard])
        self.app.router.add_route("*", "/api/v3/{path:.*}", self._api)
        self.app.router.add_post("/__sim/bind", self._bind)
        self.app.router.add_post("/__sim/trade", self._trade)
        self.app.router.add_post("/__sim/chaos", self._set_chaos)
        self.app.router.add_get("/__sim/chaos", self._get_chaos)
        self.app.router.add_get("/__sim/dump", self._dump)
        self.app.router.add_post("/__sim/clock", self._set_clock)
        self.app.router.add_get("/__sim/market", self._get_market)
        self.moves_itself = False
        self.streams = SimStreams(
            sim,
            symbols=self.symbols,
            ticker=self.rest.ticker_json,
            authorize=self._authorize_stream,
            clock_ms=self._clock_ms,
        )
        self.streams.add_routes(self.app)

    def _clock_ms(self) -> int:
        """The server's clock: the host's, ``clock_offset_ms`` off."""
        return self._host_clock_ms() + self.clock_offset_ms

    def set_chaos(self, plan: FaultPlan | None) -> None:
        """Fault the ``/api/`` requests from now on by ``plan`` (a wire plan), or stop."""
        if plan is not None and not plan.on_wire:
            raise ValueError("the simulator's chaos is a wire plan (FaultPlan.wire)")
        self.chaos = plan
        self._draws = FaultDraws(plan) if plan else None

    @web.middleware
    async def _guard(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        """Who may use the control endpoints; a bad control body is a 400 naming its field;
        a failure of the simulator itself is still answered in JSON, never plain text."""
        is_control = request.path.startswith("/__sim/")
        if is_control:
            refused = refusal(request, self.control_token)
            if refused is not None:
                return refused
        try:
            return await handler(request)
        except ControlError as e:
            return web.json_response({"error": str(e), "field": e.field}, status=400)
        except web.HTTPException:
            raise
        except Exception:
            if request.path.startswith("/ws"):
                raise  # the websocket's answer is under way: aiohttp closes it
            log.exception("simulator failed on %s %s", request.method, request.path)
            if is_control:
                error = "the simulator failed on this request (a bug; see its log)"
                return web.json_response({"error": error}, status=500)
            return web.json_response(_UNKNOWN, status=500)

    # --- control endpoints ---------------------------------------------------------------------

    def _control_symbol(self, body: Mapping[str, Any]) -> str:
        symbol = body.get("symbol")
        if symbol not in self.symbols.values():
            known = ", ".join(sorted(self.symbols.values()))
            raise ControlError(
                "symbol", f"symbol must be one of {known}; was {json.dumps(symbol)[:60]}"
            )
        return str(symbol)

    async def _bind(self, request: web.Request) -> web.Response:
        body = await read_object(request, ("symbol", "key"))
        symbol, key = self._control_symbol(body), text_field(body, "key")
        try:
            position = self.sim.bind_feed(symbol, key)
        except ValueError as e:
            return web.json_response({"error": str(e), "field": "key"}, status=409)
        return web.json_response({"position": position})

    async def _trade(self, request: web.Request) -> web.Response:
        body = await read_object(request, ("symbol", "price", "amount", "ts_event"))
        symbol = self._control_symbol(body)
        price, amount = decimal_field(body, "price"), decimal_field(body, "amount")
        ts_event = int_field(body, "ts_event", 0, 2**63 - 1)
        fills = await self.print_trade(symbol, price, amount, ts_event)
        return web.json_response({"fills": fills, "position": self.sim.feed_position(symbol)})

    async def print_trade(self, symbol: str, price: Decimal, amount: Decimal, ts: int) -> int:
        """The market trades: resting orders it crosses fill. Returns how many fills."""
        async with self._lock:
            return len(self.sim.apply_trade(symbol, price, amount, ts))

    async def _get_market(self, request: web.Request) -> web.Response:
        positions = {s: self.sim.feed_position(s) for s in self.symbols.values()}
        return web.json_response({"moves_itself": self.moves_itself, "positions": positions})

    async def _set_chaos(self, request: web.Request) -> web.Response:
        raw = await read_object(request, PLAN_FIELDS)
        plan = plan_from_json(raw) if raw else None
        self.set_chaos(plan)
        return web.json_response({"chaos": plan.describe() if plan else "off"})

    async def _set_clock(self, request: web.Request) -> web.Response:
        body = await read_object(request, ("offset_ms",))
        a_year = 365 * 86_400_000
        self.clock_offset_ms = int_field(body, "offset_ms", -a_year, a_year)
        return web.json_response({"offset_ms": self.clock_offset_ms})

    async def _get_chaos(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "chaos": self.chaos.describe() if self.chaos else "off",
                "weight_limit": self.weight_limit,
                "requests": self.stats.requests,
                "faults": dict(self.stats.faults),
                "calls": dict(self.stats.calls),
            }
        )

    async def _dump(self, request: web.Request) -> web.Response:
        orders, fills = [], []
        for symbol in self.symbols.values():
            orders += [_plain(asdict(o)) for o in self.sim.all_orders(symbol)]
            fills += [_plain(asdict(f)) for f in self.sim.all_fills(symbol)]
        balances = {
            a: {"free": decimal_text(b.free), "locked": decimal_text(b.locked)}
            for a, b in (await self.sim.fetch_balances()).items()
        }
        positions = {s: self.sim.feed_position(s) for s in self.symbols.values()}
        return web.json_response(
            {"orders": orders, "fills": fills, "balances": balances, "positions": positions}
        )

    # --- the Binance API ---------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["path"].strip("/")
        method = request.method
        self.stats.requests += 1
        self.stats.calls[f"{method} {path}"] += 1
        weight = endpoint_weight(method, path)
        used = self._spend_weight(weight)
        headers = {"X-MBX-USED-WEIGHT-1M": str(used)}
        if used > self.weight_limit:
            retry = str(max(1, 60 - (self._clock_ms() // 1000) % 60))
            body = {"code": -1003, "msg": "Too much request weight used; please retry later."}
            return web.json_response(body, status=429, headers={**headers, "Retry-After": retry})
        try:
            try:
                raw_body = await request.text() if method in ("POST", "PUT") else ""
            except UnicodeDecodeError:
                raise BinanceError(-1100, "Illegal characters found in a parameter.") from None
            pairs = parse_qsl(request.query_string, keep_blank_values=True)
            pairs += parse_qsl(raw_body, keep_blank_values=True)
            if path in KEYED:
                self._check_key(request)
            elif path not in PUBLIC:
                self._check_signed(request, raw_body)
            params = dict(pairs)
            if len(params) != len(pairs):
                raise BinanceError(-1101, "Duplicate values for a parameter detected.")
            is_write = (method, path) in WRITES
            fault = self._draw(is_write)

            async def execute() -> web.Response:
                async with self._lock:
                    return await self._handle(method, path, params, headers)

            return await answer(
                request,
                fault,
                self._draws,
                path=path,
                is_write=is_write,
                headers=headers,
                execute=execute,
            )
        except BinanceError as e:
            return web.json_response(
                {"code": e.code, "msg": e.msg}, status=e.status, headers=headers
            )

    def _spend_weight(self, weight: int) -> int:
        minute = self._clock_ms() // 60_000
        if minute != self._weight_minute:
            self._weight_minute, self._weight_used = minute, 0
        self._weight_used += weight
        return self._weight_used

    def _check_key(self, request: web.Request) -> None:
        if request.headers.get("X-MBX-APIKEY") != self.api_key:
            raise BinanceError(-2015, "Invalid API-key, IP, or permissions for action.", 401)

    def _check_signed(self, request: web.Request, raw_body: str) -> None:
        self._check_key(request)
        payload = raw_body if request.method in ("POST", "PUT") else request.query_string
        signed, sep, signature = payload.rpartition("&signature=")
        if not sep:
            raise BinanceError(-1102, mandatory("signature"))
        expected = hmac.new(self.api_secret, signed.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            raise BinanceError(-1022, "Signature for this request is not valid.")
        self._check_timestamp(dict(parse_qsl(signed, keep_blank_values=True)))

    def _check_timestamp(self, params: Mapping[str, Any]) -> None:
        """Binance's rule: ``timestamp`` within ``recvWindow`` behind, 1 s ahead at most."""
        texts = {k: str(params[k]) for k in ("timestamp", "recvWindow") if k in params}
        timestamp = int(required(texts, "timestamp", LONG))
        window = int(optional(texts, "recvWindow", LONG) or 5000)
        if not 0 < window <= 60_000:
            raise BinanceError(-1131, "recvWindow must be less than 60000")
        now = self._clock_ms()
        if timestamp > now + 1000:
            msg = "Timestamp for this request was 1000ms ahead of the server's time."
            raise BinanceError(-1021, msg)
        if now - timestamp > window:
            raise BinanceError(-1021, "Timestamp for this request is outside of the recvWindow.")

    def _authorize_stream(self, params: Mapping[str, Any]) -> tuple[int, int, str] | None:
        """A websocket API request signed like a REST one, with ``apiKey`` among the params."""
        if params.get("apiKey") != self.api_key:
            return 401, -2015, "Invalid API-key, IP, or permissions for action."
        signed = "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "signature")
        expected = hmac.new(self.api_secret, signed.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, str(params.get("signature", ""))):
            return 400, -1022, "Signature for this request is not valid."
        try:
            self._check_timestamp(params)
        except BinanceError as e:
            return e.status, e.code, e.msg
        return None

    def _draw(self, is_write: bool) -> FaultKind | None:
        kind = self._draws.next(is_write=is_write) if self._draws else None
        if kind is not None:
            self.stats.faults[str(kind.wire)] += 1
        return kind

    async def _handle(
        self, method: str, path: str, params: dict[str, str], headers: dict[str, str]
    ) -> web.Response:
        handler = self._routes.get((method, path))
        if handler is None:
            body = {"code": -1, "msg": f"sim: unhandled {method} /api/v3/{path}"}
            return web.json_response(body, status=404)
        try:
            payload = await handler(params)
        except BinanceError as e:
            return web.json_response(
                {"code": e.code, "msg": e.msg}, status=e.status, headers=headers
            )
        return web.json_response(payload, headers=headers)


def _plain(record: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v if isinstance(v, int | bool) else str(v) for k, v in record.items()}
