r"""Serve a ``SimExchange`` over HTTP in Binance spot REST v3 shapes, with chaos on the wire.

The real ccxt ``binance`` client can be pointed at it (every ``urls['api']`` entry rewritten to
``http://127.0.0.1:PORT``; ``serve`` listens on loopback unless given a socket elsewhere).
Endpoints (under ``/api/v3/``): ``ping``, ``time``, ``exchangeInfo``, ``ticker/24hr``,
``depth``, ``account``, ``order`` (POST/GET/DELETE), ``openOrders`` (GET/DELETE),
``myTrades``, ``allOrders``. Signed endpoints check
``X-MBX-APIKEY`` (``-2015``) and the HMAC-SHA256 ``signature`` (``-1022``) as Binance does.
Each response carries ``X-MBX-USED-WEIGHT-1M``; past ``weight_limit`` per minute a request is
refused with 429 and ``Retry-After``.

Bad requests get Binance's answers (HTTP 400, ``{"code", "msg"}``): a malformed number or id
``-1100`` "Illegal characters found in parameter ...; legal range is ..." (decimals
``^([0-9]{1,20})(\.[0-9]{1,20})?$``, ids and limits ``^[0-9]{1,20}$``, client order ids
``^[\.A-Z\:/a-z0-9_-]{1,36}$``), a missing one ``-1102``, a repeated one ``-1101``, more
decimals than the asset's precision (8) ``-1111``, a zero price or quantity ``-1013`` "Invalid
price." / "Invalid quantity.", and an order outside the listed filters ``-1013`` "Filter
failure: PRICE_FILTER" / "LOT_SIZE" / "NOTIONAL". A ``limit`` above the endpoint's maximum is
cut to it, as Binance does; ``0`` (Binance's answer to it is not documented) is read as 1. A
failure of the simulator itself is ``-1000`` with HTTP 500, JSON as well.

The market moves only when told (control endpoints, not Binance; JSON in and out; who may
call them and how bodies are checked: ``http_sim_control``):

- ``POST /__sim/bind``  ``{"symbol": "BTC/USDT", "key": feed_key}`` → ``{"position": n}``
- ``POST /__sim/trade`` ``{"symbol", "price", "amount", "ts_event"}`` → ``{"fills", "position"}``
- ``POST /__sim/chaos`` a ``ChaosPlan`` as JSON (``{}`` = off); ``GET /__sim/chaos`` the counts
- ``GET  /__sim/dump``  every order, fill and balance (for judging tests)
- ``POST /__sim/clock`` ``{"offset_ms": n}``: the server's clock runs ``n`` ms off the host's
- ``GET  /__sim/market`` ``{"moves_itself": bool}``: whether the market prints trades on its
  own (``http_sim_walk``); a bot then must not print them, only trade

Signed requests must carry a ``timestamp`` inside ``recvWindow`` (default 5000 ms) of the
server's clock and at most 1000 ms ahead of it, else ``-1021`` as on Binance; with a clock
offset this is how a client's clock resync (``adjustForTimeDifference``) is tested.
Websockets (ticker and user data) are in ``http_sim_streams``.

Differences from Binance: fees are charged in the quote currency (Binance charges the received
asset or BNB), and a resting buy locks its maker fee with its cost (``locked`` shows price x
quantity x (1 + maker fee)); orders rest as makers only (a crossing LIMIT order is refused, not
taken); ``newClientOrderId`` is required (Binance would make one); trade ids are the
simulator's fill sequence numbers, shared by all symbols.
"""

from __future__ import annotations

import asyncio
import decimal
import errno
import hashlib
import hmac
import json
import logging
import random
import re
import socket
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any, ClassVar, Final
from urllib.parse import parse_qsl

from aiohttp import web

from gridmaker.core.events import OrderStatus, Side
from gridmaker.core.units import Instrument
from gridmaker.exchange.api import (
    DuplicateClientOrderId,
    ExchangeFill,
    ExchangeOrder,
    NotFound,
    OrderRequest,
    Rejected,
)
from gridmaker.exchange.binance_weights import endpoint_weight
from gridmaker.exchange.http_sim_control import (
    ENV_SIM_TOKEN,
    TOKEN_HEADER,
    ControlError,
    decimal_field,
    int_field,
    is_loopback,
    number_field,
    read_object,
    refusal,
    text_field,
)
from gridmaker.exchange.http_sim_streams import SimStreams
from gridmaker.exchange.sim import SimExchange

__all__ = [
    "BinanceSimServer",
    "ChaosKind",
    "ChaosPlan",
    "ControlError",
    "listen_socket",
    "serve",
    "venue_symbol",
]

log = logging.getLogger("gridmaker.sim")

PUBLIC: Final = frozenset({"ping", "time", "exchangeInfo", "ticker/24hr", "depth"})
WRITES: Final = frozenset({("POST", "order"), ("DELETE", "order"), ("DELETE", "openOrders")})
_HTML_ERROR: Final = "<html><head><title>{status}</title></head><body>{status}</body></html>"

MAX_PRICE: Final = Decimal("10000000")
MAX_QTY: Final = Decimal("90000")
MAX_NOTIONAL: Final = Decimal("900000000")
ASSET_PRECISION: Final = 8
"""The filters and precision ``exchangeInfo`` lists beyond the instrument's own rules."""
_WIDE: Final = decimal.Context(prec=100, traps=[decimal.InvalidOperation, decimal.Overflow])
"""Room for any number the legal ranges admit (20 + 20 digits, and products of two)."""
_UNKNOWN: Final = {"code": -1000, "msg": "An unknown error occurred while processing the request."}


class _Legal:
    """A parameter's legal range: Binance's pattern as its message shows it, and ours."""

    def __init__(self, shown: str) -> None:
        self.shown = shown
        self.pattern = re.compile(shown.removeprefix("^").removesuffix("$"))


_DECIMAL: Final = _Legal(r"^([0-9]{1,20})(\.[0-9]{1,20})?$")
_LONG: Final = _Legal(r"^[0-9]{1,20}$")
_CLIENT_ID: Final = _Legal(r"^[\.A-Z\:/a-z0-9_-]{1,36}$")
_SYMBOL: Final = _Legal(r"^[A-Z0-9-_.]{1,20}$")


class ChaosKind(StrEnum):
    RATE_LIMITED = "429"
    """429 with ``Retry-After``; nothing executed."""
    BANNED = "418"
    """418 IP ban; nothing executed (never drawn unless listed)."""
    SERVER_ERROR = "5xx"
    """500/502/503 with an HTML body; nothing executed."""
    GATEWAY_TIMEOUT = "504"
    """504 with an HTML body; a write WAS executed (the gateway gave up, the engine did not)."""
    UNKNOWN_STATUS = "-1007"
    """Binance ``-1007`` "execution status unknown"; a write is executed half of the time."""
    LOST = "lost"
    """The request is executed, then the connection is dropped without an answer."""
    DELAY = "delay"
    """The answer comes ``delay_s`` late but intact."""
    JUNK = "junk"
    """200 with a junk body: HTML, or ``{}`` where a list is due; a write is executed first."""


DEFAULT_CHAOS: Final = tuple(k for k in ChaosKind if k is not ChaosKind.BANNED)


@dataclass(frozen=True, slots=True, kw_only=True)
class ChaosPlan:
    """Which ``/api/`` requests are faulted and how; seeded, so a run can be repeated."""

    seed: int = 0
    rate: float = 0.0
    kinds: tuple[ChaosKind, ...] = DEFAULT_CHAOS
    retry_after_s: float = 0.02
    delay_s: float = 0.01

    def __post_init__(self) -> None:
        if not 0 <= self.rate <= 1:
            raise ValueError(f"chaos rate must be in [0, 1], was {self.rate}")
        if not self.kinds:
            raise ValueError("a chaos plan needs at least one kind")

    FIELDS: ClassVar[frozenset[str]] = frozenset(
        {"seed", "rate", "kinds", "retry_after_s", "delay_s"}
    )

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> ChaosPlan:
        """The plan a ``POST /__sim/chaos`` body describes; ``ControlError`` names a bad field."""
        kinds = raw.get("kinds")
        if kinds is not None:
            allowed = [k.value for k in ChaosKind]
            if not kinds or not isinstance(kinds, list) or any(k not in allowed for k in kinds):
                raise ControlError(
                    "kinds",
                    f"kinds must be a non-empty list of {', '.join(allowed)}; was {kinds!r}",
                )
        seed = int_field(raw, "seed", 0, 2**63 - 1) if "seed" in raw else 0
        rate = number_field(raw, "rate", 0, 1)
        retry_after_s = number_field(raw, "retry_after_s", 0, 3600)
        delay_s = number_field(raw, "delay_s", 0, 60)
        return cls(
            seed=seed,
            rate=0.0 if rate is None else rate,
            kinds=DEFAULT_CHAOS if kinds is None else tuple(ChaosKind(k) for k in kinds),
            retry_after_s=0.02 if retry_after_s is None else retry_after_s,
            delay_s=0.01 if delay_s is None else delay_s,
        )

    def describe(self) -> str:
        return f"chaos: rate {self.rate}, kinds {','.join(self.kinds)}, seed {self.seed}"


def venue_symbol(symbol: str) -> str:
    """``BTC/USDT`` → ``BTCUSDT``."""
    return symbol.replace("/", "")


def _s(value: Decimal) -> str:
    return format(value, "f")


def _error(code: int, msg: str, status: int = 400) -> web.Response:
    return web.json_response({"code": code, "msg": msg}, status=status)


class _BinanceError(Exception):
    def __init__(self, code: int, msg: str, status: int = 400) -> None:
        super().__init__(msg)
        self.code, self.msg, self.status = code, msg, status


def _mandatory(name: str) -> str:
    return f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."


def _optional(params: Mapping[str, str], name: str, legal: _Legal) -> str | None:
    """The parameter if sent (``None`` if not); ``-1100`` if it is outside its legal range."""
    value = params.get(name)
    if value is not None and not legal.pattern.fullmatch(value):
        msg = f"Illegal characters found in parameter '{name}'; legal range is '{legal.shown}'."
        raise _BinanceError(-1100, msg)
    return value


def _required(params: Mapping[str, str], name: str, legal: _Legal | None = None) -> str:
    """The parameter; ``-1102`` if missing or empty, ``-1100`` if outside its legal range."""
    if not params.get(name):
        raise _BinanceError(-1102, _mandatory(name))
    value = params[name] if legal is None else _optional(params, name, legal)
    assert value is not None
    return value


def _limit(params: Mapping[str, str], *, default: int, maximum: int) -> int:
    """``limit``, cut to ``maximum`` as Binance does (and raised to 1)."""
    raw = _optional(params, "limit", _LONG)
    return default if raw is None else min(max(int(raw), 1), maximum)


def _amount(params: Mapping[str, str], name: str) -> Decimal:
    """A price or quantity: a plain decimal with at most ``ASSET_PRECISION`` decimals."""
    value = Decimal(_required(params, name, _DECIMAL))
    exponent = value.normalize(_WIDE).as_tuple().exponent  # an int: the value is finite
    if isinstance(exponent, int) and -exponent > ASSET_PRECISION:
        raise _BinanceError(-1111, f"Parameter '{name}' has too much precision.")
    return value


def _check_filters(inst: Instrument, price: Decimal, quantity: Decimal) -> None:
    """Binance's answers for an order that breaks the filters ``exchangeInfo`` lists."""
    with decimal.localcontext(_WIDE):
        if price == 0:
            raise _BinanceError(-1013, "Invalid price.")
        if quantity == 0:
            raise _BinanceError(-1013, "Invalid quantity.")
        tick, step = inst.tick_size, inst.step_size
        if not tick <= price <= MAX_PRICE or (price - tick) % tick:
            raise _BinanceError(-1013, "Filter failure: PRICE_FILTER")
        if not inst.min_qty <= quantity <= MAX_QTY or (quantity - inst.min_qty) % step:
            raise _BinanceError(-1013, "Filter failure: LOT_SIZE")
        if not inst.min_notional <= price * quantity <= MAX_NOTIONAL:
            raise _BinanceError(-1013, "Filter failure: NOTIONAL")


_REJECTIONS: Final[Mapping[str, tuple[int, str]]] = {
    "duplicate_client_order_id": (-2010, "Duplicate order sent."),
    "insufficient_balance": (-2010, "Account has insufficient balance for requested action."),
    "post_only_would_cross": (-2010, "Order would immediately match and take."),
    "taker_not_supported": (-2010, "Order would immediately match; the simulator rests makers."),
    "unknown_symbol": (-1121, "Invalid symbol."),
}


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
        chaos: ChaosPlan | None = None,
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
            ticker=self._ticker_json,
            authorize=self._authorize_stream,
            clock_ms=self._clock_ms,
        )
        self.streams.add_routes(self.app)

    def _clock_ms(self) -> int:
        """The server's clock: the host's, ``clock_offset_ms`` off."""
        return self._host_clock_ms() + self.clock_offset_ms

    def set_chaos(self, plan: ChaosPlan | None) -> None:
        self.chaos = plan
        self._rng = random.Random(plan.seed if plan else 0)

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
        raw = await read_object(request, ChaosPlan.FIELDS)
        plan = ChaosPlan.from_json(raw) if raw else None
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
            a: {"free": _s(b.free), "locked": _s(b.locked)}
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
                raise _BinanceError(-1100, "Illegal characters found in a parameter.") from None
            pairs = parse_qsl(request.query_string, keep_blank_values=True)
            pairs += parse_qsl(raw_body, keep_blank_values=True)
            if path not in PUBLIC:
                self._check_signed(request, raw_body)
            params = dict(pairs)
            if len(params) != len(pairs):
                raise _BinanceError(-1101, "Duplicate values for a parameter detected.")
            fault = self._draw(method, path)
            return await self._serve(request, method, path, params, headers, fault)
        except _BinanceError as e:
            return web.json_response(
                {"code": e.code, "msg": e.msg}, status=e.status, headers=headers
            )

    def _spend_weight(self, weight: int) -> int:
        minute = self._clock_ms() // 60_000
        if minute != self._weight_minute:
            self._weight_minute, self._weight_used = minute, 0
        self._weight_used += weight
        return self._weight_used

    def _check_signed(self, request: web.Request, raw_body: str) -> None:
        if request.headers.get("X-MBX-APIKEY") != self.api_key:
            raise _BinanceError(-2015, "Invalid API-key, IP, or permissions for action.", 401)
        payload = raw_body if request.method in ("POST", "PUT") else request.query_string
        signed, sep, signature = payload.rpartition("&signature=")
        if not sep:
            raise _BinanceError(-1102, _mandatory("signature"))
        expected = hmac.new(self.api_secret, signed.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            raise _BinanceError(-1022, "Signature for this request is not valid.")
        self._check_timestamp(dict(parse_qsl(signed, keep_blank_values=True)))

    def _check_timestamp(self, params: Mapping[str, Any]) -> None:
        """Binance's rule: ``timestamp`` within ``recvWindow`` behind, 1 s ahead at most."""
        texts = {k: str(params[k]) for k in ("timestamp", "recvWindow") if k in params}
        timestamp = int(_required(texts, "timestamp", _LONG))
        window = int(_optional(texts, "recvWindow", _LONG) or 5000)
        if not 0 < window <= 60_000:
            raise _BinanceError(-1131, "recvWindow must be less than 60000")
        now = self._clock_ms()
        if timestamp > now + 1000:
            msg = "Timestamp for this request was 1000ms ahead of the server's time."
            raise _BinanceError(-1021, msg)
        if now - timestamp > window:
            raise _BinanceError(-1021, "Timestamp for this request is outside of the recvWindow.")

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
        except _BinanceError as e:
            return e.status, e.code, e.msg
        return None

    def _draw(self, method: str, path: str) -> ChaosKind | None:
        plan = self.chaos
        if plan is None or plan.rate <= 0 or self._rng.random() >= plan.rate:
            return None
        kind = self._rng.choice(plan.kinds)
        if kind is ChaosKind.UNKNOWN_STATUS and (method, path) not in WRITES:
            kind = ChaosKind.SERVER_ERROR
        self.stats.faults[kind.value] += 1
        return kind

    async def _serve(
        self,
        request: web.Request,
        method: str,
        path: str,
        params: dict[str, str],
        headers: dict[str, str],
        fault: ChaosKind | None,
    ) -> web.StreamResponse:
        plan = self.chaos
        is_write = (method, path) in WRITES
        if fault is ChaosKind.RATE_LIMITED and plan is not None:
            body = {"code": -1003, "msg": "Too many requests; current limit is exceeded."}
            retry = {"Retry-After": f"{plan.retry_after_s:g}"}
            return web.json_response(body, status=429, headers={**headers, **retry})
        if fault is ChaosKind.BANNED:
            body = {"code": -1003, "msg": "Way too many requests; IP banned."}
            return web.json_response(body, status=418, headers={**headers, "Retry-After": "120"})
        if fault is ChaosKind.SERVER_ERROR:
            status = self._rng.choice((500, 502, 503))
            return _html(status, headers)
        if fault is ChaosKind.DELAY and plan is not None:
            await asyncio.sleep(plan.delay_s)
        executes = not (fault is ChaosKind.UNKNOWN_STATUS and self._rng.random() < 0.5)
        response: web.Response | None = None
        if executes:
            async with self._lock:
                response = await self._handle(method, path, params, headers)
        if fault is ChaosKind.GATEWAY_TIMEOUT:
            return _html(504, headers)
        if fault is ChaosKind.UNKNOWN_STATUS:
            msg = "Timeout waiting for response from backend server. Send status unknown; "
            msg += "execution status unknown."
            return web.json_response({"code": -1007, "msg": msg}, status=408, headers=headers)
        if fault is ChaosKind.LOST:
            if request.transport is not None:
                request.transport.abort()
            raise asyncio.CancelledError
        if fault is ChaosKind.JUNK:
            junk = "{}" if path in ("openOrders", "myTrades", "allOrders") else "<html>ok</html>"
            if is_write or self._rng.random() < 0.5:
                junk = "<html><body>Service Unavailable</body></html>"
            return web.Response(status=200, text=junk, headers=headers, content_type="text/html")
        assert response is not None
        return response

    async def _handle(
        self, method: str, path: str, params: dict[str, str], headers: dict[str, str]
    ) -> web.Response:
        handler = self._routes().get((method, path))
        if handler is None:
            return _error(-1, f"sim: unhandled {method} /api/v3/{path}", 404)
        try:
            payload = await handler(params)
        except _BinanceError as e:
            return web.json_response(
                {"code": e.code, "msg": e.msg}, status=e.status, headers=headers
            )
        return web.json_response(payload, headers=headers)

    def _routes(self) -> dict[tuple[str, str], Callable[[dict[str, str]], Awaitable[Any]]]:
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

    # --- handlers ------------------------------------------------------------------------------

    def _symbol(self, params: Mapping[str, str]) -> str:
        raw = _required(params, "symbol", _SYMBOL)
        symbol = self.symbols.get(raw)
        if symbol is None:
            raise _BinanceError(-1121, "Invalid symbol.")
        return symbol

    async def _ping(self, params: dict[str, str]) -> Any:
        return {}

    async def _time(self, params: dict[str, str]) -> Any:
        return {"serverTime": self._clock_ms()}

    async def _exchange_info(self, params: dict[str, str]) -> Any:
        symbols = []
        for vsym, symbol in sorted(self.symbols.items()):
            inst = await self.sim.fetch_instrument(symbol)
            filters = [
                {
                    "filterType": "PRICE_FILTER",
                    "minPrice": _s(inst.tick_size),
                    "maxPrice": _s(MAX_PRICE),
                    "tickSize": _s(inst.tick_size),
                },
                {
                    "filterType": "LOT_SIZE",
                    "minQty": _s(inst.min_qty),
                    "maxQty": _s(MAX_QTY),
                    "stepSize": _s(inst.step_size),
                },
                {
                    "filterType": "NOTIONAL",
                    "minNotional": _s(inst.min_notional),
                    "maxNotional": _s(MAX_NOTIONAL),
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
            "serverTime": self._clock_ms(),
            "rateLimits": limits,
            "exchangeFilters": [],
            "symbols": symbols,
        }

    async def _ticker(self, params: dict[str, str]) -> Any:
        return self._ticker_json(self._symbol(params))

    def _ticker_json(self, symbol: str) -> dict[str, Any]:
        inst = self.sim.instrument(symbol)
        last = self.sim.last_price(symbol) or Decimal(0)
        bid = max(last - inst.tick_size, Decimal(0)) if last else Decimal(0)
        ask = last + inst.tick_size if last else Decimal(0)
        ts = self._clock_ms()
        return {
            "symbol": venue_symbol(symbol),
            "priceChange": "0",
            "priceChangePercent": "0",
            "weightedAvgPrice": _s(last),
            "prevClosePrice": _s(last),
            "lastPrice": _s(last),
            "lastQty": "0",
            "bidPrice": _s(bid),
            "bidQty": "1",
            "askPrice": _s(ask),
            "askQty": "1",
            "openPrice": _s(last),
            "highPrice": _s(last),
            "lowPrice": _s(last),
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
        limit = _limit(params, default=100, maximum=5000)
        return {
            "lastUpdateId": self.sim.feed_position(symbol),
            "bids": [[_s(p), _s(q)] for p, q in sorted(bids.items(), reverse=True)[:limit]],
            "asks": [[_s(p), _s(q)] for p, q in sorted(asks.items())[:limit]],
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
                {"asset": a, "free": _s(b.free), "locked": _s(b.locked)}
                for a, b in sorted(balances.items())
            ],
        }

    async def _place(self, params: dict[str, str]) -> Any:
        symbol = self._symbol(params)
        side = _required(params, "side")
        if side not in ("BUY", "SELL"):
            raise _BinanceError(-1117, "Invalid side.")
        kind = _required(params, "type")
        if kind not in ("LIMIT", "LIMIT_MAKER"):
            raise _BinanceError(-1116, "Invalid orderType.")
        if params.get("newClientOrderId") == "":
            raise _BinanceError(-1118, "New client order ID was empty.")
        cid = params.get("newClientOrderId")
        if cid is None:
            msg = "Mandatory parameter 'newClientOrderId' was not sent (the simulator makes none)."
            raise _BinanceError(-1102, msg)
        _optional(params, "newClientOrderId", _CLIENT_ID)
        price, quantity = _amount(params, "price"), _amount(params, "quantity")
        _check_filters(self.sim.instrument(symbol), price, quantity)
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
            raise _BinanceError(-2010, "Duplicate order sent.") from e
        except Rejected as e:
            # invalid_order cannot pass the filters above unless the sim's rules differ
            code, msg = _REJECTIONS.get(e.reason, (-1013, f"Filter failure: {e}"))
            raise _BinanceError(code, msg) from e
        body = _order_json(order)
        body["type"] = kind
        body["transactTime"] = order.ts_event
        body["fills"] = []
        for key in ("time", "updateTime", "isWorking"):
            body.pop(key)
        return body

    def _find(self, symbol: str, params: Mapping[str, str]) -> ExchangeOrder | None:
        oid = _optional(params, "orderId", _LONG)
        if oid is not None:
            found = [o for o in self.sim.all_orders(symbol) if int(o.order_id) == int(oid)]
            return found[0] if found else None
        if params.get("origClientOrderId") == "":
            raise _BinanceError(-1119, "Original client order ID was empty.")
        cid = _optional(params, "origClientOrderId", _CLIENT_ID)
        if cid is None:
            msg = "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!"
            raise _BinanceError(-1102, msg)
        found = [o for o in self.sim.all_orders(symbol) if o.client_order_id == cid]
        return max(found, key=lambda o: int(o.order_id)) if found else None

    async def _get_order(self, params: dict[str, str]) -> Any:
        order = self._find(self._symbol(params), params)
        if order is None:
            raise _BinanceError(-2013, "Order does not exist.")
        return _order_json(order)

    async def _cancel(self, params: dict[str, str]) -> Any:
        symbol = self._symbol(params)
        order = self._find(symbol, params)
        if order is None or order.status is not OrderStatus.OPEN:
            raise _BinanceError(-2011, "Unknown order sent.")
        try:
            canceled = await self.sim.cancel_order(symbol, order.client_order_id)
        except NotFound as e:
            raise _BinanceError(-2011, "Unknown order sent.") from e
        return _cancel_json(canceled)

    async def _cancel_all(self, params: dict[str, str]) -> Any:
        symbol = self._symbol(params)
        out = []
        for order in list(await self.sim.fetch_open_orders(symbol)):
            out.append(_cancel_json(await self.sim.cancel_order(symbol, order.client_order_id)))
        if not out:
            raise _BinanceError(-2011, "Unknown order sent.")
        return out

    async def _open_orders(self, params: dict[str, str]) -> Any:
        symbol = self._symbol(params)
        return [_order_json(o) for o in await self.sim.fetch_open_orders(symbol)]

    async def _all_orders(self, params: dict[str, str]) -> Any:
        symbol = self._symbol(params)
        limit = _limit(params, default=500, maximum=1000)
        orders = self.sim.all_orders(symbol)
        return [_order_json(o) for o in orders[-limit:]]

    async def _my_trades(self, params: dict[str, str]) -> Any:
        symbol = self._symbol(params)
        limit = _limit(params, default=500, maximum=1000)
        from_id = _optional(params, "fromId", _LONG)
        fills = self.sim.all_fills(symbol)
        if from_id is not None:
            fills = [f for f in fills if int(f.trade_id) >= int(from_id)][:limit]
        else:
            fills = fills[-limit:]  # Binance: the most recent trades
        return [_trade_json(f) for f in fills]


def _html(status: int, headers: Mapping[str, str]) -> web.Response:
    return web.Response(
        status=status,
        text=_HTML_ERROR.format(status=status),
        headers=dict(headers),
        content_type="text/html",
    )


def _plain(record: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v if isinstance(v, int | bool) else str(v) for k, v in record.items()}


def _binance_status(order: ExchangeOrder) -> str:
    if order.status is OrderStatus.OPEN:
        return "PARTIALLY_FILLED" if order.filled > 0 else "NEW"
    return {
        OrderStatus.FILLED: "FILLED",
        OrderStatus.CANCELED: "CANCELED",
        OrderStatus.REJECTED: "REJECTED",
    }.get(order.status, "EXPIRED")


def _order_json(order: ExchangeOrder) -> dict[str, Any]:
    return {
        "symbol": venue_symbol(order.symbol),
        "orderId": int(order.order_id),
        "orderListId": -1,
        "clientOrderId": order.client_order_id,
        "price": _s(order.price),
        "origQty": _s(order.amount),
        "executedQty": _s(order.filled),
        "cummulativeQuoteQty": _s(order.filled * order.price),
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


def _cancel_json(order: ExchangeOrder) -> dict[str, Any]:
    body = _order_json(order)
    for key in ("time", "updateTime", "isWorking", "workingTime", "stopPrice", "icebergQty"):
        body.pop(key)
    body["origClientOrderId"] = order.client_order_id
    body["clientOrderId"] = f"cancel{order.order_id}"  # the cancel request's id (Binance trap)
    body["transactTime"] = order.ts_event
    return body


def _trade_json(fill: ExchangeFill) -> dict[str, Any]:
    quote = fill.symbol.split("/")[1]
    return {
        "symbol": venue_symbol(fill.symbol),
        "id": int(fill.trade_id),
        "orderId": int(fill.order_id),
        "orderListId": -1,
        "price": _s(fill.price),
        "qty": _s(fill.amount),
        "quoteQty": _s(fill.price * fill.amount),
        "commission": _s(fill.fee),
        "commissionAsset": quote,
        "time": fill.ts_event,
        "isBuyer": fill.side is Side.BUY,
        "isMaker": fill.is_maker,
        "isBestMatch": True,
    }


def listen_socket(host: str, port: int, *, token: str = "") -> socket.socket:
    """A TCP socket bound to ``host``:``port`` (0 = any free port), for ``serve``.

    Binding first lets ``gridmaker sim-exchange`` refuse a busy port before it opens anything
    else. Raises ``ValueError`` saying what to change: a busy port, an address that cannot be
    bound, or an address beyond loopback without a control ``token``.
    """
    if not is_loopback(host) and not token:
        raise ValueError(
            f"--host {host} listens beyond loopback, where anyone could move the market: set "
            f"{ENV_SIM_TOKEN} in the environment (callers send it as {TOKEN_HEADER}), "
            "or listen on 127.0.0.1"
        )
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except OSError as e:
        raise ValueError(f"cannot listen on --host {host}: {e.strerror or e}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as asyncio's servers do
        sock.bind(address)
        sock.setblocking(False)
    except OSError as e:
        sock.close()
        if e.errno == errno.EADDRINUSE:
            raise ValueError(
                f"port {port} is in use on {host}: choose another --port, "
                "or --port 0 for any free one"
            ) from None
        raise ValueError(
            f"cannot listen on --host {host} --port {port}: {e.strerror or e}"
        ) from None
    return sock


async def serve(
    server: BinanceSimServer,
    *,
    stop: asyncio.Event,
    on_ready: Callable[[int], None],
    port: int = 0,
    sock: socket.socket | None = None,
) -> None:
    """Serve on ``sock`` (from ``listen_socket``), else on 127.0.0.1:``port`` (0 = any free
    port), until ``stop`` is set; the socket is closed at the end."""
    runner = web.AppRunner(server.app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        site = web.SockSite(runner, sock) if sock else web.TCPSite(runner, "127.0.0.1", port)
        await site.start()
        on_ready(int(runner.addresses[0][1]))
        await stop.wait()
    finally:
        await runner.cleanup()
