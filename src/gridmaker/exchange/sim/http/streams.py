"""Binance-shaped websockets of the HTTP simulator: the ticker stream and the user-data stream.

Public streams, at ``/ws`` and ``/ws/{anything}`` (ccxt appends a connection index), take
``{"method": "SUBSCRIBE", "params": ["btcusdt@ticker"], "id": n}``, answer
``{"result": null, "id": n}`` and push a ``24hrTicker`` event (``24hrMiniTicker`` for
``@miniTicker``) for every trade the market prints. The current ticker is sent at once on
subscription, as Binance's own stream does within a second.

The user-data stream lives on the websocket API, ``/ws-api/v3``: the request
``userDataStream.subscribe.signature`` (HMAC over the key-sorted params, timestamp inside
``recvWindow``) is answered ``{"id", "status": 200, "result": {"subscriptionId"}}``; then every
order change comes as ``{"subscriptionId", "event": executionReport}``: ``NEW`` when an order
rests, ``TRADE`` per fill (with the trade id ``t``), ``CANCELED`` (whose ``c`` is the cancel
request's id and ``C`` the order's, as on Binance).

Faults, for testing a bot's reconnects and polling fallback (``POST /__sim/streams``, JSON,
each field ``true``/``false``): ``{"drop": true}`` closes every open stream; ``{"public":
false}`` / ``{"user": false}`` refuse new connections of that kind (HTTP 503 at the upgrade)
until set true again; ``{"stall": true}`` silences the ticker streams until ``{"stall":
false}``: connections stay open, subscriptions and pings are answered, but no ticker event is
sent (the failure a bot cannot see as a closed socket). Clearing it sends every subscriber the
current ticker at once, as a live stream resumes within its second.
``GET /__sim/streams`` gives the state and the counts.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from aiohttp import WSMsgType, web

from gridmaker.core.events import OrderStatus
from gridmaker.exchange.api import ExchangeFill, ExchangeOrder
from gridmaker.exchange.sim.http.control import bool_field, read_object
from gridmaker.exchange.sim.matching import SimExchange, SimUpdate

__all__ = ["SimStreams"]

log = logging.getLogger("gridmaker.sim")

_TICKER_FIELDS: Final[Mapping[str, str]] = {
    "p": "priceChange",
    "P": "priceChangePercent",
    "w": "weightedAvgPrice",
    "x": "prevClosePrice",
    "c": "lastPrice",
    "Q": "lastQty",
    "b": "bidPrice",
    "B": "bidQty",
    "a": "askPrice",
    "A": "askQty",
    "o": "openPrice",
    "h": "highPrice",
    "l": "lowPrice",
    "v": "volume",
    "q": "quoteVolume",
    "O": "openTime",
    "C": "closeTime",
    "F": "firstId",
    "L": "lastId",
    "n": "count",
}
"""Stream field → the REST ``ticker/24hr`` field it repeats."""
_MINI_FIELDS: Final = ("c", "o", "h", "l", "v", "q")
_OUTBOX: Final = 10_000
"""Events queued for one slow client before it is disconnected (Binance drops slow readers)."""


@dataclass(eq=False, slots=True)
class _Conn:
    ws: web.WebSocketResponse
    outbox: asyncio.Queue[str | None] = field(default_factory=lambda: asyncio.Queue(_OUTBOX))
    topics: set[str] = field(default_factory=set)
    subscription_id: int | None = None

    def send(self, payload: Mapping[str, Any]) -> None:
        try:
            self.outbox.put_nowait(json.dumps(payload))
        except asyncio.QueueFull:
            log.warning("stream client too slow, disconnecting")
            while not self.outbox.empty():
                self.outbox.get_nowait()
            self.outbox.put_nowait(None)


class SimStreams:
    """The websocket side of ``BinanceSimServer``; watches ``sim`` for what to push."""

    def __init__(
        self,
        sim: SimExchange,
        *,
        symbols: Mapping[str, str],
        ticker: Callable[[str], Mapping[str, Any]],
        authorize: Callable[[Mapping[str, Any]], tuple[int, int, str] | None],
        clock_ms: Callable[[], int],
    ) -> None:
        """``symbols`` maps venue ids (``BTCUSDT``) to ours; ``ticker`` gives the REST ticker
        of one of ours; ``authorize`` checks signed params: ``None`` or (status, code, msg)."""
        self._symbols = dict(symbols)
        self._ticker = ticker
        self._authorize = authorize
        self._clock_ms = clock_ms
        self._public: set[_Conn] = set()
        self._user: set[_Conn] = set()
        self._next_subscription = 0
        self.accept_public = True
        self.accept_user = True
        self.stalled = False
        """The ticker streams are open but silent (``stall``); events are withheld, not queued."""
        self.counts: Counter[str] = Counter()
        sim.observers.append(self._on_update)

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/ws", self._public_ws)
        app.router.add_get("/ws/{tail:.*}", self._public_ws)
        app.router.add_get("/ws-api/v3", self._user_ws)
        app.router.add_post("/__sim/streams", self._control)
        app.router.add_get("/__sim/streams", self._status)
        app.on_shutdown.append(self._on_shutdown)

    async def _on_shutdown(self, app: web.Application) -> None:
        # Open websockets would hold the server's shutdown for its whole grace period.
        for conn in list(self._public | self._user):
            await conn.ws.close(code=1001, message=b"simulator shutting down")

    async def drop_all(self) -> int:
        """Close every open stream (the client sees the connection go); returns how many."""
        conns = list(self._public | self._user)
        for conn in conns:
            await conn.ws.close(code=1001, message=b"simulator dropped the stream")
        self.counts["dropped"] += len(conns)
        return len(conns)

    # --- control -------------------------------------------------------------------------------

    async def _control(self, request: web.Request) -> web.Response:
        """Checked whole before anything changes; ``ControlError`` names a bad field."""
        body = await read_object(request, ("drop", "public", "user", "stall"))
        public, user = bool_field(body, "public"), bool_field(body, "user")
        drop, stall = bool_field(body, "drop"), bool_field(body, "stall")
        if stall is not None:
            self.set_stalled(stall)
        if public is not None:
            self.accept_public = public
        if user is not None:
            self.accept_user = user
        dropped = await self.drop_all() if drop else 0
        return web.json_response({"dropped": dropped, **self._state()})

    def set_stalled(self, stalled: bool) -> None:
        """Silence the ticker streams, or let them speak again (with the current ticker)."""
        was, self.stalled = self.stalled, stalled
        if was and not stalled:
            for conn in list(self._public):
                for topic in conn.topics:
                    self._publish(conn, topic)

    async def _status(self, request: web.Request) -> web.Response:
        return web.json_response(self._state())

    def _state(self) -> dict[str, Any]:
        return {
            "public": self.accept_public,
            "user": self.accept_user,
            "stall": self.stalled,
            "open_public": len(self._public),
            "open_user": len(self._user),
            "counts": dict(self.counts),
        }

    # --- connections ---------------------------------------------------------------------------

    async def _public_ws(self, request: web.Request) -> web.StreamResponse:
        if not self.accept_public:
            self.counts["public_refused"] += 1
            return web.Response(status=503, text="public streams refused by the simulator")
        return await self._serve(request, self._public, self._on_public_message, "public")

    async def _user_ws(self, request: web.Request) -> web.StreamResponse:
        if not self.accept_user:
            self.counts["user_refused"] += 1
            return web.Response(status=503, text="user streams refused by the simulator")
        return await self._serve(request, self._user, self._on_user_message, "user")

    async def _serve(
        self,
        request: web.Request,
        pool: set[_Conn],
        on_message: Callable[[_Conn, Any], None],
        kind: str,
    ) -> web.StreamResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        conn = _Conn(ws)
        pool.add(conn)
        self.counts[f"{kind}_connections"] += 1
        pump = asyncio.create_task(self._pump(conn))
        try:
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    continue
                try:
                    payload = json.loads(msg.data)
                except ValueError:
                    conn.send({"error": {"code": -1100, "msg": "Illegal characters"}, "id": None})
                    continue
                try:
                    on_message(conn, payload)
                except Exception:  # a bug here must not end the client's stream unanswered
                    log.exception("simulator failed on a %s stream message", kind)
                    error = {"code": -1000, "msg": "An unknown error occurred while processing"}
                    conn.send({"error": error, "id": None})
        finally:
            pool.discard(conn)
            pump.cancel()
            await asyncio.gather(pump, return_exceptions=True)
        return ws

    async def _pump(self, conn: _Conn) -> None:
        """The only writer of ``conn``: answers and events leave in the order they were queued."""
        while True:
            text = await conn.outbox.get()
            if text is None or conn.ws.closed:
                await conn.ws.close()
                return
            try:
                await conn.ws.send_str(text)
            except (ConnectionError, RuntimeError):
                return

    def _on_public_message(self, conn: _Conn, payload: Any) -> None:
        request_id = payload.get("id") if isinstance(payload, dict) else None
        method = payload.get("method") if isinstance(payload, dict) else None
        params = payload.get("params") if isinstance(payload, dict) else None
        if method not in ("SUBSCRIBE", "UNSUBSCRIBE") or not isinstance(params, list):
            conn.send({"error": {"code": 2, "msg": "Invalid request"}, "id": request_id})
            return
        topics = [str(p) for p in params]
        unknown = [t for t in topics if self._topic_symbol(t) is None]
        if unknown:
            conn.send(
                {"error": {"code": 2, "msg": f"Invalid stream {unknown[0]}"}, "id": request_id}
            )
            return
        if method == "UNSUBSCRIBE":
            conn.topics.difference_update(topics)
            conn.send({"result": None, "id": request_id})
            return
        conn.topics.update(topics)
        conn.send({"result": None, "id": request_id})
        for topic in topics:
            self._publish(conn, topic)

    def _on_user_message(self, conn: _Conn, payload: Any) -> None:
        if not isinstance(payload, dict):
            conn.send({"id": None, "status": 400, "error": {"code": -1100, "msg": "bad request"}})
            return
        request_id = payload.get("id")
        params = payload.get("params")
        if payload.get("method") != "userDataStream.subscribe.signature" or not isinstance(
            params, dict
        ):
            error = {"code": -1100, "msg": f"simulator: unsupported {payload.get('method')!r}"}
            conn.send({"id": request_id, "status": 400, "error": error})
            return
        refused = self._authorize(params)
        if refused is not None:
            self.counts["user_auth_refused"] += 1
            status, code, msg = refused
            conn.send({"id": request_id, "status": status, "error": {"code": code, "msg": msg}})
            return
        conn.subscription_id = self._next_subscription
        self._next_subscription += 1
        conn.send(
            {"id": request_id, "status": 200, "result": {"subscriptionId": conn.subscription_id}}
        )

    # --- what the venue did --------------------------------------------------------------------

    def _topic_symbol(self, topic: str) -> str | None:
        market, _, channel = topic.partition("@")
        if channel not in ("ticker", "miniTicker"):
            return None
        return self._symbols.get(market.upper())

    def _ticker_event(self, topic: str) -> dict[str, Any] | None:
        symbol = self._topic_symbol(topic)
        if symbol is None:
            return None
        rest = self._ticker(symbol)
        if rest["lastPrice"] in ("0", ""):
            return None  # nothing traded yet
        mini = topic.endswith("@miniTicker")
        event: dict[str, Any] = {
            "e": "24hrMiniTicker" if mini else "24hrTicker",
            "E": self._clock_ms(),
            "s": rest["symbol"],
        }
        for key, rest_key in _TICKER_FIELDS.items():
            if not mini or key in _MINI_FIELDS:
                event[key] = rest[rest_key]
        return event

    def _publish(self, conn: _Conn, topic: str) -> None:
        """Send ``conn`` the current ticker of ``topic`` (nothing while stalled)."""
        event = self._ticker_event(topic)
        if event is None:
            return
        if self.stalled:
            self.counts["ticker_events_stalled"] += 1
            return
        conn.send(event)
        self.counts["ticker_events"] += 1

    def _on_update(self, update: SimUpdate) -> None:
        if self._public:
            for symbol in update.markets:
                topic_market = symbol.replace("/", "").lower()
                for conn in list(self._public):
                    for topic in conn.topics:
                        if topic.partition("@")[0] == topic_market:
                            self._publish(conn, topic)
        users = [c for c in self._user if c.subscription_id is not None]
        if not users:
            return
        filled = {f.order_id for f in update.fills}
        reports = [
            _report(o, None, self._clock_ms()) for o in update.orders if o.order_id not in filled
        ]
        by_order = {o.order_id: o for o in update.orders}
        reports += [_report(by_order[f.order_id], f, self._clock_ms()) for f in update.fills]
        for conn in users:
            for report in reports:
                conn.send({"subscriptionId": conn.subscription_id, "event": report})
                self.counts["order_events"] += 1


def _report(order: ExchangeOrder, fill: ExchangeFill | None, now_ms: int) -> dict[str, Any]:
    """An ``executionReport`` for ``order`` (after ``fill``, when it is about a fill)."""
    quote = order.symbol.split("/")[1]
    canceled = order.status is OrderStatus.CANCELED
    if fill is not None:
        execution = "TRADE"
    elif canceled:
        execution = "CANCELED"
    elif order.status is OrderStatus.OPEN:
        execution = "NEW"
    else:
        execution = "EXPIRED"
    if order.status is OrderStatus.OPEN:
        status = "PARTIALLY_FILLED" if order.filled > 0 else "NEW"
    else:
        status = {OrderStatus.FILLED: "FILLED", OrderStatus.CANCELED: "CANCELED"}.get(
            order.status, "EXPIRED"
        )
    return {
        "e": "executionReport",
        "E": now_ms,
        "s": order.symbol.replace("/", ""),
        "c": f"cancel{order.order_id}" if canceled else order.client_order_id,
        "S": order.side.value.upper(),
        "o": "LIMIT",
        "f": "GTC",
        "q": format(order.amount, "f"),
        "p": format(order.price, "f"),
        "P": "0",
        "F": "0",
        "g": -1,
        "C": order.client_order_id if canceled else "",
        "x": execution,
        "X": status,
        "r": "NONE",
        "i": int(order.order_id),
        "l": format(fill.amount, "f") if fill else "0",
        "z": format(order.filled, "f"),
        "L": format(fill.price, "f") if fill else "0",
        "n": format(fill.fee, "f") if fill else "0",
        "N": quote if fill else None,
        "T": order.ts_event,
        "t": int(fill.trade_id) if fill else -1,
        "w": order.status is OrderStatus.OPEN,
        "m": bool(fill and fill.is_maker),
        "O": order.ts_event,
        "Z": format(order.filled * order.price, "f"),
        "Y": format(fill.amount * fill.price, "f") if fill else "0",
        "Q": "0",
    }
