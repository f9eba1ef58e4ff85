"""``CcxtExchange``: real venues through ccxt (``ccxt.async_support`` REST, ``ccxt.pro`` streams).

Every ccxt exception is mapped by one function, ``map_error`` (``errors.py``), into the
taxonomy of ``exchange/api.py``; nothing above ``exchange/`` sees ccxt. The adapter neither
retries nor sleeps (the engine's ``Retrier`` does). Each request spends its weight from the
shared ``RateBudget`` of the API key first, and each response is shown to it (``client.py``'s
response hook, which also refuses a body of the wrong JSON type for its endpoint). Records are
read by ``records.py``; per-venue differences are data in ``quirks.py``.

Besides ``Exchange`` it offers ``VenueStreams`` (ticker and user-data streams), ``LookupGrace``
and ``VenueAccount`` of ``exchange/api.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import nullcontext
from decimal import Decimal
from typing import Any, TypeVar

import ccxt.async_support as accxt  # type: ignore[import-untyped]

from gridmaker.core.units import Instrument
from gridmaker.exchange.api import (
    Balance,
    Banned,
    ExchangeFill,
    ExchangeOrder,
    FillPage,
    MalformedResponse,
    NotFound,
    OrderRequest,
    RateLimited,
    Rejected,
    UnknownOutcome,
)
from gridmaker.exchange.ccxt import records, venue_share
from gridmaker.exchange.ccxt.client import hook_responses
from gridmaker.exchange.ccxt.errors import is_our_bug, map_error
from gridmaker.exchange.ccxt.quirks import VenueQuirks, quirks_of
from gridmaker.exchange.ccxt.rate_budget import RateBudget, recovering, shared_budget

__all__ = ["CcxtExchange"]

log = logging.getLogger("gridmaker.exchange")
T = TypeVar("T")
STREAM = "WS"
"""The "method" of a stream read in ``_call``'s endpoint: weighs nothing unless the quirks say."""


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
        self.quirks = quirks or quirks_of(str(client.id))
        self.budget = budget or shared_budget(
            str(client.id), str(client.apiKey or ""), limit=self.quirks.weight_limit
        )
        self.lookup_grace_s = self.quirks.lookup_grace_s
        """``LookupGrace``: "not found" sooner after sending is not proof of absence."""
        self.account_id = ""
        """``VenueAccount``: the venue's id of the account behind the keys (Binance's ``uid``),
        once balances were read; "" where the venue names none. A data dir is bound to it."""
        self._instruments: dict[str, Instrument] = {}
        self._cids: dict[tuple[str, str], str] = {}
        self._markets_loaded = False
        self._needs_clock_sync = False
        hook_responses(self)

    # --- plumbing ------------------------------------------------------------------------------

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
        # A stream's next message is no request: the venue counts no weight for it, so a full
        # window must not break a stream (whose catch-up over REST would cost far more); only
        # a ban stops it. Orders and cancels (weight 1) may use the budget's reserve: a grid
        # must be able to act on its fills and its breaker while its polls wait.
        weight = self.quirks.weights.get(endpoint, 0 if endpoint[0] == STREAM else 1)
        if weight:
            with recovering() if is_write else nullcontext():
                self.budget.spend(weight, f"{self.client.id} {what}", symbol=symbol)
        elif self.budget.banned:
            raise Banned(f"{self.client.id} {what}: {self.budget.banned}", symbol=symbol)
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
            share = venue_share.shared()
            if share is None:
                await self._call(("GET", "exchangeInfo"), self.client.load_markets, is_write=False)
            else:
                await share.markets_for(
                    self.client,
                    lambda: self._call(
                        ("GET", "exchangeInfo"), self.client.load_markets, is_write=False
                    ),
                )
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
        inst = records.instrument_of(market, symbol, self.client.precisionMode)
        self._instruments[symbol] = inst
        return inst

    async def prove_keys(self) -> None:
        """Show that the keys work and learn their account (a balance read) before a start;
        where the process shares venue facts, once per key for all its clients lately."""
        share = venue_share.shared()
        known = None if share is None else share.proven_account(self.client)
        if known is None:
            await self.fetch_balances()
        else:
            self.account_id = known

    async def fetch_balances(self) -> Mapping[str, Balance]:
        raw = await self._call(("GET", "account"), self.client.fetch_balance, is_write=False)
        try:
            info = raw.get("info")
            if isinstance(info, dict) and info.get("uid") not in (None, ""):
                self.account_id = str(info["uid"])
            if (share := venue_share.shared()) is not None:
                share.proved(self.client, self.account_id)
            free, used = raw["free"], raw["used"]
            return {
                str(asset): Balance(
                    asset=str(asset),
                    free=records.dec(free.get(asset) or 0, f"free {asset}"),
                    locked=records.dec(used.get(asset) or 0, f"locked {asset}"),
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
        return records.ticker_price(ticker, symbol, shapes_checked=bool(self.quirks.api_prefix))

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
        return sorted(orders, key=lambda o: records.order_key(o.order_id))

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
        fills.sort(key=lambda f: (records.order_key(f.trade_id), f.ts_event))
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
        problem = records.order_problem(inst, request)
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

    # --- VenueStreams (ccxt.pro): one await each; the caller reconnects or falls back to polls --

    @property
    def has_streams(self) -> bool:
        return bool(self.client.has.get("watchTicker")) and hasattr(self.client, "watch_ticker")

    async def watch_last_price(self, symbol: str) -> Decimal | None:
        """The next ticker update from the venue's stream (raises the taxonomy on failure)."""
        ticker = await self._call(
            (STREAM, "ticker"),
            lambda: self.client.watch_ticker(symbol, {"name": "ticker"}),
            is_write=False,
            symbol=symbol,
        )
        return records.ticker_price(ticker, symbol, shapes_checked=bool(self.quirks.api_prefix))

    @property
    def has_order_stream(self) -> bool:
        return bool(self.client.has.get("watchOrders")) and hasattr(self.client, "watch_orders")

    async def watch_orders(self, symbol: str) -> Sequence[ExchangeOrder]:
        """The next batch of order updates from the user-data stream."""
        raw = await self._call(
            (STREAM, "orders"),
            lambda: self.client.watch_orders(symbol),
            is_write=False,
            symbol=symbol,
        )
        if not isinstance(raw, list):
            raise MalformedResponse(f"order stream gave a {type(raw).__name__}", symbol=symbol)
        return [self._order(o, symbol) for o in raw]

    # --- venue records -------------------------------------------------------------------------

    def _order(self, raw: Any, symbol: str, cid: str = "") -> ExchangeOrder:
        """Read an order and remember its client id (trade histories carry only order ids)."""
        order = records.order_of(raw, symbol, cid)
        self._cids[(symbol, order.order_id)] = order.client_order_id
        return order

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
        order_id = records.trade_order_id(raw, symbol)
        cid = await self._client_order_id(symbol, order_id)
        return records.trade_of(raw, symbol, cid, self._instruments.get(symbol))
