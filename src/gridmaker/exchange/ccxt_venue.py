"""``CcxtExchange``: real venues through ccxt (``ccxt.async_support`` REST, ``ccxt.pro`` streams).

Every ccxt exception is mapped by one function, ``map_error``, into the taxonomy of
``exchange/api.py``; nothing above ``exchange/`` sees ccxt. The adapter neither retries nor sleeps
(the engine's ``Retrier`` does): ccxt's ``maxRetriesOnFailure`` stays 0, because it would resend
a ``POST order`` and hide an UNKNOWN outcome. Each request spends its weight from the shared
``RateBudget`` of the API key first, and each response is shown to it (used-weight header,
``Retry-After``, 429/418).

Raw responses are checked before ccxt parses them (ccxt reads a ``200 {}`` on ``openOrders`` as
"no orders" and an HTML 200 on a ticker as a ticker of ``None``s): a body of the wrong JSON
type for its endpoint raises ``MalformedResponse``. Amounts are exact: the client runs with
``number = str`` and everything becomes ``Decimal``.

Per-venue differences live in one ``VenueQuirks`` per venue (``QUIRKS``); unknown venues get
``GENERIC_QUIRKS`` (unified ccxt calls only, weight 1 per call, fills paged by time).
"""

from __future__ import annotations

import asyncio
import decimal
import logging
import os
import re
import socket
import ssl
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, TypeVar
from urllib.parse import urlparse

import ccxt.async_support as accxt  # type: ignore[import-untyped]

from gridmaker.core.events import OrderStatus, Side
from gridmaker.core.units import Instrument
from gridmaker.exchange.api import (
    Balance,
    Banned,
    DuplicateClientOrderId,
    ExchangeError,
    ExchangeFill,
    ExchangeOrder,
    FillPage,
    MalformedResponse,
    NotFound,
    OrderRequest,
    RateLimited,
    Rejected,
    Unavailable,
    UnknownOutcome,
)
from gridmaker.exchange.rate_budget import (
    BINANCE_SPOT_WEIGHTS,
    RateBudget,
    parse_retry_after,
    shared_budget,
)

__all__ = [
    "GENERIC_QUIRKS",
    "QUIRKS",
    "CcxtExchange",
    "VenueQuirks",
    "build_ccxt_client",
    "is_our_bug",
    "map_error",
]

log = logging.getLogger("gridmaker.exchange")
T = TypeVar("T")

_CID: Final = re.compile(r"^[A-Za-z0-9]{1,32}$")


@dataclass(frozen=True, slots=True, kw_only=True)
class VenueQuirks:
    """What differs between venues, as data."""

    venue: str
    api_prefix: str = ""
    """URL path prefix of the REST API (``/api/v3/``); "" = no raw-shape checks."""
    weights: Mapping[tuple[str, str], int] = field(default_factory=dict)
    weight_limit: int = 1200
    used_weight_header: str | None = None
    list_endpoints: frozenset[str] = frozenset()
    """Endpoints whose 200 body must be a JSON list."""
    object_endpoints: frozenset[str] = frozenset()
    """Endpoints whose 200 body must be a JSON object."""
    duplicate_messages: tuple[str, ...] = ()
    """Error texts meaning "an order with this client id is open": it EXISTS."""
    lookup_param: str = "clientOrderId"
    """The param naming our client id in a lookup or cancel."""
    fill_cursor_param: str | None = None
    """The param paging fills by trade id (inclusive), or None to page by time."""
    local_options: Mapping[str, Any] = field(default_factory=dict)
    """ccxt options that keep a client on the few endpoints a local base URL serves."""
    lookup_grace_s: float = 60.0
    """How long a fresh order may be missing from lookups by client id (eventual consistency)."""


BINANCE_QUIRKS: Final = VenueQuirks(
    venue="binance",
    api_prefix="/api/v3/",
    weights=BINANCE_SPOT_WEIGHTS,
    weight_limit=6000,
    used_weight_header="X-MBX-USED-WEIGHT-1M",
    list_endpoints=frozenset({"openOrders", "myTrades", "allOrders"}),
    object_endpoints=frozenset({"order", "account", "ticker/24hr", "exchangeInfo", "time"}),
    duplicate_messages=("Duplicate order sent",),
    lookup_param="origClientOrderId",
    fill_cursor_param="fromId",
    local_options={
        "defaultType": "spot",
        "fetchMarkets": {"types": ["spot"]},
        "fetchCurrencies": False,
        "fetchMargins": False,
    },
)
GENERIC_QUIRKS: Final = VenueQuirks(venue="generic")
QUIRKS: Final[Mapping[str, VenueQuirks]] = {"binance": BINANCE_QUIRKS}

_STATUS: Final[Mapping[str, OrderStatus]] = {
    "open": OrderStatus.OPEN,
    "canceling": OrderStatus.OPEN,
    "closed": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELED,
    "expired": OrderStatus.CANCELED,
    "rejected": OrderStatus.REJECTED,
}


class _Throttled(accxt.DDoSProtection):  # type: ignore[misc]
    """A 429 or 418 seen by the response hook, with the response's own ``Retry-After``."""

    def __init__(self, message: str, *, status: int, retry_after_s: float | None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after_s = retry_after_s


class _Junk(accxt.BadResponse):  # type: ignore[misc]
    """A 2xx whose body is not the JSON type its endpoint returns."""


# --- the one error mapping ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Context:
    is_write: bool
    quirks: VenueQuirks
    retry_after_s: float
    ids: Mapping[str, str]


def _throttled(e: Any, c: _Context) -> ExchangeError:
    if e.status == 418:
        return Banned(f"banned by the venue (418): {_text(e)}", **c.ids)
    wait = c.retry_after_s if e.retry_after_s is None else e.retry_after_s
    return RateLimited(f"rate limited (429): {_text(e)}", retry_after_s=wait, **c.ids)


def _ddos(e: Any, c: _Context) -> ExchangeError:
    if " 418" in str(e)[:40]:
        return Banned(f"banned by the venue (418): {_text(e)}", **c.ids)
    return RateLimited(f"rate limited: {_text(e)}", retry_after_s=c.retry_after_s, **c.ids)


def _refused(e: Any, c: _Context) -> ExchangeError:
    if c.is_write and any(m in str(e) for m in c.quirks.duplicate_messages):
        return DuplicateClientOrderId(
            f"client id already open: {_text(e)}", reason="duplicate_client_order_id", **c.ids
        )
    reason = "invalid_order" if c.is_write else "bad_request"
    return Rejected(f"refused: {_text(e)}", reason=reason, **c.ids)


def _transient(e: Any, c: _Context) -> ExchangeError:
    if c.is_write and not _never_sent(e):
        return UnknownOutcome(f"outcome unknown: {_text(e)}", **c.ids)
    return Unavailable(f"venue unavailable: {_text(e)}", **c.ids)


def _simple(kind: type[ExchangeError], what: str) -> Callable[[Any, _Context], ExchangeError]:
    return lambda e, c: kind(f"{what}: {_text(e)}", **c.ids)


def _rejected(reason: str, what: str) -> Callable[[Any, _Context], ExchangeError]:
    return lambda e, c: Rejected(f"{what}: {_text(e)}", reason=reason, **c.ids)


def _text(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}"


_RULES: Final[
    tuple[tuple[type | tuple[type, ...], Callable[[Any, _Context], ExchangeError]], ...]
] = (
    (_Throttled, _throttled),
    (accxt.DDoSProtection, _ddos),
    (accxt.RateLimitExceeded, _ddos),
    (accxt.AuthenticationError, _simple(Banned, "the venue refused the API key")),
    (accxt.InvalidNonce, _simple(Unavailable, "clock outside the venue's window, not executed")),
    (accxt.OrderNotFound, _simple(NotFound, "no such order")),
    (accxt.BadResponse, _simple(MalformedResponse, "malformed response")),
    (accxt.OrderImmediatelyFillable, _rejected("post_only_would_cross", "post-only would cross")),
    (accxt.InsufficientFunds, _rejected("insufficient_balance", "insufficient funds")),
    ((accxt.InvalidOrder, accxt.BadRequest, accxt.NotSupported), _refused),
    ((accxt.NetworkError, accxt.OperationFailed, accxt.ExchangeError), _transient),
)
"""ccxt class -> our error, most specific first (``DDoSProtection`` is a ``NetworkError``,
``OrderNotFound`` an ``InvalidOrder``, ``BadResponse`` an ``OperationFailed``)."""


def map_error(
    e: BaseException,
    *,
    is_write: bool,
    quirks: VenueQuirks = GENERIC_QUIRKS,
    symbol: str = "",
    client_order_id: str = "",
    retry_after_s: float = 1.0,
) -> ExchangeError:
    """The taxonomy error for an exception raised by a ccxt read or write.

    On a write anything that may have reached the matching engine (timeouts, lost connections,
    5xx, unclassified errors) is ``UnknownOutcome``; only a failure to connect at all is
    ``Unavailable``. A 429 is ``RateLimited`` (not executed), a 418 or a refused key ``Banned``.
    """
    if isinstance(e, ExchangeError):
        return e
    context = _Context(
        is_write=is_write,
        quirks=quirks,
        retry_after_s=retry_after_s,
        ids={"symbol": symbol, "client_order_id": client_order_id},
    )
    for kinds, build in _RULES:
        if isinstance(e, kinds):
            return build(e, context)
    return _transient(e, context)


def _library_paths() -> tuple[str, ...]:
    """Files and folders of the code between us and the venue: ccxt, aiohttp, asyncio, ssl."""
    import aiohttp

    ccxt_root = Path(accxt.__file__).parent.parent
    paths = [ccxt_root, Path(aiohttp.__file__).parent, Path(asyncio.__file__).parent]
    folders = tuple(str(p) + os.sep for p in paths)
    return (*folders, str(ssl.__file__), str(socket.__file__))


_LIBRARIES: Final = _library_paths()
"""Where a plain exception (``KeyError``, ``TypeError`` ...) is ccxt, or the I/O beneath it,
failing on what the venue sent: such failures are mapped like any other venue failure."""


def is_our_bug(e: BaseException) -> bool:
    """A plain exception raised in code of ours (or of no library the venue goes through).

    Such an error is a bug, not an outage: mapped to ``Unavailable`` it would be retried for
    ever and look like the venue is down. ccxt's own errors, network errors and exceptions
    raised inside ccxt, aiohttp or asyncio are the venue's doing and are mapped.
    """
    import aiohttp

    if isinstance(
        e, accxt.BaseError | ExchangeError | OSError | TimeoutError | aiohttp.ClientError
    ):
        return False
    tb = e.__traceback__
    if tb is None:
        return True
    while tb.tb_next is not None:
        tb = tb.tb_next
    return not tb.tb_frame.f_code.co_filename.startswith(_LIBRARIES)


def _never_sent(e: BaseException) -> bool:
    """The request certainly did not leave: the connection could not be opened."""
    import aiohttp

    cause = e.__cause__
    return isinstance(cause, aiohttp.ClientConnectorError)


# --- the adapter -------------------------------------------------------------------------------


def _dec(value: Any, what: str, symbol: str = "", cid: str = "") -> Decimal:
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


class CcxtExchange:
    """The ``Exchange`` protocol over one ccxt client (one per venue and API key)."""

    def __init__(
        self,
        client: Any,
        *,
        quirks: VenueQuirks | None = None,
        budget: RateBudget | None = None,
    ) -> None:
        self.client = client
        self.quirks = quirks or QUIRKS.get(str(client.id), GENERIC_QUIRKS)
        self.budget = budget or shared_budget(
            str(client.id), str(client.apiKey or ""), limit=self.quirks.weight_limit
        )
        self.lookup_grace_s = self.quirks.lookup_grace_s
        """Read by the engine: "not found" sooner after sending is not proof of absence."""
        self.account_id = ""
        """The venue's id of the account behind the keys (Binance's ``uid``), once balances were
        read; "" where the venue names none. A data dir is bound to it."""
        self._instruments: dict[str, Instrument] = {}
        self._cids: dict[tuple[str, str], str] = {}
        self._markets_loaded = False
        self._needs_clock_sync = False
        self._vendor_handle_errors = client.handle_errors
        client.handle_errors = self._on_response
        client.options["maxRetriesOnFailure"] = 0

    # --- plumbing ------------------------------------------------------------------------------

    def _on_response(
        self,
        code: int,
        reason: str,
        url: str,
        method: str,
        headers: Mapping[str, str],
        body: str,
        response: Any,
        request_headers: Any,
        request_body: Any,
    ) -> Any:
        """ccxt's per-response hook: feed the budget, classify 429/418, check the raw shape."""
        self.budget.observe(int(code or 0), headers or {})
        if code in (418, 429):
            raise _Throttled(
                f"{self.client.id} {code} {method} {url.split('?')[0]}: {str(body)[:200]}",
                status=int(code),
                retry_after_s=parse_retry_after(headers or {}),
            )
        result = self._vendor_handle_errors(
            code, reason, url, method, headers, body, response, request_headers, request_body
        )
        if code is not None and 200 <= int(code) < 300:
            self._check_shape(method, url, response, body)
        return result

    def _check_shape(self, method: str, url: str, response: Any, body: str) -> None:
        prefix = self.quirks.api_prefix
        path = urlparse(url).path
        if not prefix or prefix not in path:
            return
        endpoint = path.split(prefix, 1)[1].strip("/")
        want: type | None = None
        if endpoint in self.quirks.list_endpoints and not (
            method == "DELETE" and endpoint == "order"
        ):
            want = list
        elif endpoint in self.quirks.object_endpoints:
            want = dict
        if want is not None and not isinstance(response, want):
            raise _Junk(
                f"{self.client.id} {method} {endpoint}: 200 with a {type(response).__name__} "
                f"body where a JSON {want.__name__} is due: {str(body)[:120]!r}"
            )

    async def _call(
        self,
        endpoint: tuple[str, str],
        call: Callable[[], Awaitable[T]],
        *,
        is_write: bool,
        symbol: str = "",
        cid: str = "",
    ) -> T:
        """Spend the weight, make the call, map any failure; never retries or sleeps."""
        what = f"{endpoint[0]} {endpoint[1]}"
        self.budget.spend(
            self.quirks.weights.get(endpoint, 1), f"{self.client.id} {what}", symbol=symbol
        )
        if self._needs_clock_sync:
            if self.client.has.get("fetchTime"):
                await self._sync_clock(symbol)
            else:  # no clock to ask: a nonce error there is not about our clock
                self._needs_clock_sync = False
        try:
            return await call()
        except Exception as e:
            if is_our_bug(e):
                raise  # a bug of ours is not an outage: it must stop the run and be seen
            mapped = map_error(
                e,
                is_write=is_write,
                quirks=self.quirks,
                symbol=symbol,
                client_order_id=cid,
                retry_after_s=self.budget.retry_after_s() or self.budget.default_retry_after_s,
            )
            if isinstance(e, accxt.InvalidNonce):
                self._needs_clock_sync = True
            if is_write and isinstance(mapped, MalformedResponse):
                # The venue answered a write with junk: it may well have executed it.
                mapped = UnknownOutcome(
                    f"write answered with junk: {mapped}", symbol=symbol, client_order_id=cid
                )
            if mapped is e:
                raise
            if isinstance(mapped, Banned | RateLimited | MalformedResponse):
                log.warning("venue call %s symbol=%s cid=%s: %s", what, symbol, cid, mapped)
            raise mapped from e

    async def _sync_clock(self, symbol: str) -> None:
        """Measure the venue's clock again after a ``-1021`` (our timestamps were refused).

        A read, mapped as one: a failure here means the request it precedes was never sent.
        """
        try:
            await self.client.load_time_difference()
        except Exception as e:
            if is_our_bug(e):
                raise
            raise map_error(e, is_write=False, quirks=self.quirks, symbol=symbol) from e
        self._needs_clock_sync = False
        log.info(
            "clock resynchronised with %s: offset %s ms",
            self.client.id,
            self.client.options.get("timeDifference"),
        )

    async def _load_markets(self) -> None:
        if not self._markets_loaded:
            await self._call(("GET", "exchangeInfo"), self.client.load_markets, is_write=False)
            self._markets_loaded = True

    def _market(self, symbol: str) -> Any:
        market = self.client.markets.get(symbol) if self.client.markets else None
        if market is None:
            raise NotFound(f"unknown symbol {symbol!r} at {self.client.id}", symbol=symbol)
        return market

    # --- the Exchange protocol -----------------------------------------------------------------

    async def fetch_instrument(self, symbol: str) -> Instrument:
        """Tick, step, minimums and fees from the venue's markets; ``NotFound`` if not trading."""
        cached = self._instruments.get(symbol)
        if cached is not None:
            return cached
        await self._load_markets()
        market = self._market(symbol)
        if market.get("active") is False:
            raise NotFound(f"{symbol} is not trading at {self.client.id}", symbol=symbol)
        try:
            precision, limits = market["precision"], market["limits"]
            inst = Instrument(
                symbol=symbol,
                base=str(market["base"]),
                quote=str(market["quote"]),
                tick_size=self._precision(precision["price"], "tick size", symbol),
                step_size=self._precision(precision["amount"], "step size", symbol),
                min_qty=_dec(limits["amount"].get("min") or 0, "min qty", symbol),
                min_notional=_dec((limits.get("cost") or {}).get("min") or 0, "min cost", symbol),
                maker_fee=_dec(market.get("maker") or 0, "maker fee", symbol),
                taker_fee=_dec(market.get("taker") or 0, "taker fee", symbol),
            )
        except (KeyError, TypeError, AttributeError, ValueError) as e:
            raise MalformedResponse(f"market {symbol} unreadable: {e}", symbol=symbol) from e
        self._instruments[symbol] = inst
        return inst

    def _precision(self, value: Any, what: str, symbol: str) -> Decimal:
        raw = _dec(value, what, symbol)
        if self.client.precisionMode == accxt.DECIMAL_PLACES:
            return Decimal(1).scaleb(-int(raw))
        if raw <= 0:
            raise MalformedResponse(f"{what} of {symbol} is {raw}", symbol=symbol)
        return raw.normalize()

    async def fetch_balances(self) -> Mapping[str, Balance]:
        raw = await self._call(("GET", "account"), self.client.fetch_balance, is_write=False)
        try:
            info = raw.get("info")
            if isinstance(info, dict) and info.get("uid") not in (None, ""):
                self.account_id = str(info["uid"])
            free, used = raw["free"], raw["used"]
            return {
                str(asset): Balance(
                    asset=str(asset),
                    free=_dec(free.get(asset) or 0, f"free {asset}"),
                    locked=_dec(used.get(asset) or 0, f"locked {asset}"),
                )
                for asset in free
            }
        except (KeyError, TypeError, AttributeError) as e:
            raise MalformedResponse(f"balances unreadable: {e}") from e

    async def fetch_last_price(self, symbol: str) -> Decimal | None:
        """The last trade's price; ``None`` when nothing traded (where raw shapes are checked)."""
        ticker = await self._call(
            ("GET", "ticker/24hr"),
            lambda: self.client.fetch_ticker(symbol),
            is_write=False,
            symbol=symbol,
        )
        return self._ticker_price(ticker, symbol)

    def _ticker_price(self, ticker: Any, symbol: str) -> Decimal | None:
        if not isinstance(ticker, dict) or not isinstance(ticker.get("info"), dict):
            raise MalformedResponse(f"ticker unreadable: {str(ticker)[:120]!r}", symbol=symbol)
        last = ticker.get("last")
        if last is None:
            if self.quirks.api_prefix:  # the raw shape was checked: no trade yet
                return None
            raise MalformedResponse("ticker without a last price", symbol=symbol)
        price = _dec(last, "last price", symbol)
        if price <= 0:
            raise MalformedResponse(f"last price {price}", symbol=symbol)
        return price

    async def fetch_open_orders(self, symbol: str) -> Sequence[ExchangeOrder]:
        raw = await self._call(
            ("GET", "openOrders"),
            lambda: self.client.fetch_open_orders(symbol),
            is_write=False,
            symbol=symbol,
        )
        if not isinstance(raw, list):
            raise MalformedResponse(f"open orders is a {type(raw).__name__}", symbol=symbol)
        orders = [self._order(o, symbol) for o in raw]
        return sorted(orders, key=lambda o: _order_key(o.order_id))

    async def fetch_order(self, symbol: str, client_order_id: str) -> ExchangeOrder:
        params = {self.quirks.lookup_param: client_order_id}
        raw = await self._call(
            ("GET", "order"),
            lambda: self.client.fetch_order(None, symbol, params),
            is_write=False,
            symbol=symbol,
            cid=client_order_id,
        )
        return self._order(raw, symbol, client_order_id)

    async def fetch_fills(self, symbol: str, cursor: str, limit: int = 500) -> FillPage:
        """Fills after ``cursor`` (the last trade id seen, "" = from the first), oldest first."""
        if not (cursor == "" or (cursor.isascii() and cursor.isdigit())) or limit < 1:
            raise Rejected(
                f"invalid fills request: cursor {cursor!r}, limit {limit}",
                reason="invalid_request",
                symbol=symbol,
            )
        param = self.quirks.fill_cursor_param
        since: int | None = None
        params: dict[str, Any] = {}
        if param is not None:
            params[param] = int(cursor) + 1 if cursor else 0
        elif cursor:
            since = int(cursor)
        raw = await self._call(
            ("GET", "myTrades"),
            lambda: self.client.fetch_my_trades(symbol, since, limit, params),
            is_write=False,
            symbol=symbol,
        )
        if not isinstance(raw, list):
            raise MalformedResponse(f"trades is a {type(raw).__name__}", symbol=symbol)
        fills = [await self._fill(t, symbol) for t in raw]
        fills.sort(key=lambda f: (_order_key(f.trade_id), f.ts_event))
        if param is None:
            new_cursor = str(max((f.ts_event for f in fills), default=int(cursor or 0)))
        else:
            new_cursor = fills[-1].trade_id if fills else cursor
        return FillPage(
            fills=tuple(fills),
            cursor=new_cursor,
            has_more=len(raw) >= limit and new_cursor != cursor,
        )

    async def place_order(self, request: OrderRequest) -> ExchangeOrder:
        """A limit order with our client id (post-only when asked); never sent twice here."""
        sym, cid = request.symbol, request.client_order_id
        inst = await self.fetch_instrument(sym)
        problem = _order_problem(inst, request)
        if problem:
            raise Rejected(problem, reason="invalid_order", symbol=sym, client_order_id=cid)
        params: dict[str, Any] = {"clientOrderId": cid}
        if request.post_only:
            params["postOnly"] = True
        raw = await self._call(
            ("POST", "order"),
            lambda: self.client.create_order(
                sym,
                "limit",
                request.side.value,
                format(request.amount, "f"),
                format(request.price, "f"),
                params,
            ),
            is_write=True,
            symbol=sym,
            cid=cid,
        )
        return self._write_answer(raw, sym, cid, "placed")

    async def cancel_order(self, symbol: str, client_order_id: str) -> ExchangeOrder:
        params = {self.quirks.lookup_param: client_order_id}
        raw = await self._call(
            ("DELETE", "order"),
            lambda: self.client.cancel_order(None, symbol, params),
            is_write=True,
            symbol=symbol,
            cid=client_order_id,
        )
        return self._write_answer(raw, symbol, client_order_id, "cancel sent")

    def _write_answer(self, raw: Any, symbol: str, cid: str, what: str) -> ExchangeOrder:
        """The order a write answered with; an unreadable answer to a write the venue took
        leaves its outcome unknown (to be looked up), never a guess."""
        try:
            return self._order(raw, symbol, cid)
        except MalformedResponse as e:
            raise UnknownOutcome(
                f"{what}, answer unreadable: {e}", symbol=symbol, client_order_id=cid
            ) from e

    async def close(self) -> None:
        await self.client.close()

    # --- streams (ccxt.pro): one await each; the caller reconnects or falls back to polling ----

    @property
    def has_streams(self) -> bool:
        return bool(self.client.has.get("watchTicker")) and hasattr(self.client, "watch_ticker")

    async def watch_last_price(self, symbol: str) -> Decimal | None:
        """The next ticker update from the venue's stream (raises the taxonomy on failure)."""
        ticker = await self._call(
            ("WS", "ticker"),
            lambda: self.client.watch_ticker(symbol, {"name": "ticker"}),
            is_write=False,
            symbol=symbol,
        )
        return self._ticker_price(ticker, symbol)

    @property
    def has_order_stream(self) -> bool:
        return bool(self.client.has.get("watchOrders")) and hasattr(self.client, "watch_orders")

    async def watch_orders(self, symbol: str) -> Sequence[ExchangeOrder]:
        """The next batch of order updates from the user-data stream."""
        raw = await self._call(
            ("WS", "orders"),
            lambda: self.client.watch_orders(symbol),
            is_write=False,
            symbol=symbol,
        )
        if not isinstance(raw, list):
            raise MalformedResponse(f"order stream gave a {type(raw).__name__}", symbol=symbol)
        return [self._order(o, symbol) for o in raw]

    # --- venue records -------------------------------------------------------------------------

    def _order(self, raw: Any, symbol: str, cid: str = "") -> ExchangeOrder:
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
        order_id = str(raw["id"])
        self._cids[(symbol, order_id)] = str(got)
        return ExchangeOrder(
            symbol=symbol,
            order_id=order_id,
            client_order_id=str(got),
            side=Side(side),
            price=_dec(raw.get("price"), "order price", symbol, cid),
            amount=_dec(raw.get("amount"), "order amount", symbol, cid),
            filled=_dec(raw.get("filled") or 0, "order filled", symbol, cid),
            status=status,
            ts_event=int(raw.get("lastUpdateTimestamp") or raw.get("timestamp") or 0),
        )

    async def _client_order_id(self, symbol: str, order_id: str) -> str:
        """Our client id of a venue order id (trade histories carry only the order id)."""
        known = self._cids.get((symbol, order_id))
        if known is not None:
            return known
        raw = await self._call(
            ("GET", "order"),
            lambda: self.client.fetch_order(order_id, symbol),
            is_write=False,
            symbol=symbol,
        )
        return self._order(raw, symbol).client_order_id

    async def _fill(self, raw: Any, symbol: str) -> ExchangeFill:
        if not isinstance(raw, dict) or raw.get("symbol") != symbol:
            raise MalformedResponse(f"trade unreadable: {str(raw)[:120]!r}", symbol=symbol)
        if (
            raw.get("id") is None
            or raw.get("order") is None
            or raw.get("side")
            not in (
                "buy",
                "sell",
            )
        ):
            raise MalformedResponse(f"trade without id, order or side: {raw!r}", symbol=symbol)
        order_id = str(raw["order"])
        cid = await self._client_order_id(symbol, order_id)
        price = _dec(raw.get("price"), "trade price", symbol, cid)
        return ExchangeFill(
            symbol=symbol,
            trade_id=str(raw["id"]),
            order_id=order_id,
            client_order_id=cid,
            side=Side(raw["side"]),
            price=price,
            amount=_dec(raw.get("amount"), "trade amount", symbol, cid),
            fee=self._quote_fee(raw.get("fee"), price, symbol, cid),
            is_maker=raw.get("takerOrMaker") == "maker",
            ts_event=int(raw.get("timestamp") or 0),
        )

    def _quote_fee(self, fee: Any, price: Decimal, symbol: str, cid: str) -> Decimal:
        """The fee in quote currency; a base-asset fee is converted at the fill price."""
        if not isinstance(fee, dict) or fee.get("cost") in (None, "0", 0):
            return Decimal(0)
        cost = _dec(fee["cost"], "fee", symbol, cid)
        inst = self._instruments.get(symbol)
        currency = fee.get("currency")
        if inst is None or currency == inst.quote:
            return cost
        if currency == inst.base:
            return (cost * price).quantize(inst.atom, rounding=decimal.ROUND_CEILING)
        raise MalformedResponse(
            f"fee charged in {currency}; gridmaker accounts fees in {inst.quote} "
            "(turn off paying fees in a third asset such as BNB)",
            symbol=symbol,
            client_order_id=cid,
        )


def _order_key(order_id: str) -> tuple[int, str]:
    return (int(order_id), "") if order_id.isdigit() else (0, order_id)


def _order_problem(inst: Instrument, request: OrderRequest) -> str:
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


def build_ccxt_client(
    exchange_id: str,
    *,
    api_key: str,
    api_secret: str,
    sandbox: bool = False,
    base_url: str | None = None,
    streams: bool = True,
) -> Any:
    """A ccxt client for ``exchange_id`` (``ccxt.pro`` when ``streams`` and it has one).

    ``base_url`` points every REST endpoint (and the streams) at another host, e.g. the local
    simulator; ``sandbox`` selects the venue's testnet. ccxt's own limiter is off (the shared
    ``RateBudget`` paces requests) and it never retries. Raises ``ValueError`` for an unknown id.
    """
    import ccxt.pro as ccxtpro  # type: ignore[import-untyped]

    if exchange_id not in accxt.exchanges:
        raise ValueError(f"unknown ccxt exchange id {exchange_id!r}")
    module = ccxtpro if streams and hasattr(ccxtpro, exchange_id) else accxt
    quirks = QUIRKS.get(exchange_id, GENERIC_QUIRKS)
    # adjustForTimeDifference: load_markets measures the venue's clock, so signed requests
    # carry the venue's time (else a drifting host clock gets every request refused, -1021).
    options: dict[str, Any] = {"maxRetriesOnFailure": 0, "adjustForTimeDifference": True}
    if base_url is not None:
        options.update(quirks.local_options)
    client = getattr(module, exchange_id)(
        {"apiKey": api_key, "secret": api_secret, "enableRateLimit": False, "options": options}
    )
    client.number = str
    if sandbox:
        client.set_sandbox_mode(True)
    if base_url is not None:
        _localize(client, base_url.rstrip("/"))
    return client


def _localize(client: Any, base_url: str) -> None:
    """Rewrite every REST base URL (keeping its path) and the stream URLs to ``base_url``."""
    api = client.urls["api"]
    for name, url in list(api.items()):
        if isinstance(url, str):
            api[name] = base_url + urlparse(url).path
    ws = api.get("ws")
    if isinstance(ws, dict):
        ws_base = "ws" + base_url.removeprefix("http")
        if isinstance(ws.get("spot"), str):
            ws["spot"] = ws_base + "/ws"
        if isinstance(ws.get("ws-api"), dict):
            ws["ws-api"]["spot"] = ws_base + "/ws-api/v3"
    local_api = base_url + "/api/"
    vendor = client.get_exceptions_by_url

    def exceptions_by_url(url: str, exact_or_broad: str) -> Any:
        # ccxt picks the per-market error table by the production host; a local URL gets the
        # spot table, so error codes map as they would against the real venue.
        if url and url.startswith(local_api) and "spot" in client.exceptions:
            return client.exceptions["spot"].get(exact_or_broad, {})
        return vendor(url, exact_or_broad)

    if hasattr(client, "get_exceptions_by_url"):
        client.get_exceptions_by_url = exceptions_by_url
