"""Bad requests to the HTTP simulator get the answers Binance gives, never a plain-text 500.

Raw HTTP against a served ``BinanceSimServer``, signed as ccxt signs. The Binance answers
asserted here (codes and messages) are Binance's own, as documented in its ``errors.md`` and
as observed from ``api.binance.com``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import ccxt.async_support as accxt  # type: ignore[import-untyped]
import pytest
from yarl import URL

from gridmaker.cli.venue import SIM_API_KEY, SIM_API_SECRET
from gridmaker.exchange.api import ExchangeError, Rejected
from gridmaker.exchange.ccxt import map_error
from gridmaker.exchange.sim.http import BinanceSimServer, serve
from tests.kit.http_venue import SYMBOL, new_sim, running_server, venue

pytestmark = pytest.mark.integration

DECIMAL_RANGE = r"'^([0-9]{1,20})(\.[0-9]{1,20})?$'"
LONG_RANGE = "'^[0-9]{1,20}$'"
CID_RANGE = r"'^[\.A-Z\:/a-z0-9_-]{1,36}$'"


def _illegal(name: str, legal: str) -> dict[str, Any]:
    return {
        "code": -1100,
        "msg": f"Illegal characters found in parameter '{name}'; legal range is {legal}.",
    }


class Answer:
    """One HTTP answer: status, content type and the JSON body (``None`` if not JSON)."""

    def __init__(self, status: int, content_type: str, text: str, headers: Any) -> None:
        self.status, self.content_type, self.text, self.headers = (
            status,
            content_type,
            text,
            headers,
        )
        try:
            self.body: Any = json.loads(text)
        except ValueError:
            self.body = None

    def __repr__(self) -> str:
        return f"Answer({self.status}, {self.content_type}, {self.text[:200]!r})"


async def _api(
    http: aiohttp.ClientSession,
    server: BinanceSimServer,
    url: str,
    method: str,
    path: str,
    params: Sequence[tuple[str, str]],
    *,
    signed: bool = True,
) -> Answer:
    """A Binance REST call as ccxt makes it: signed query (GET/DELETE) or form body (POST)."""
    pairs = [*params, ("timestamp", str(server._clock_ms()))] if signed else list(params)
    query = "&".join(f"{k}={v}" for k, v in pairs)
    if signed:
        signature = hmac.new(SIM_API_SECRET.encode(), query.encode(), hashlib.sha256).hexdigest()
        query += f"&signature={signature}"
    headers = {"X-MBX-APIKEY": SIM_API_KEY}
    target = f"{url}/api/v3/{path}"
    if method == "POST":
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        request = http.request(method, URL(target, encoded=True), data=query, headers=headers)
    else:
        request = http.request(method, URL(f"{target}?{query}", encoded=True), headers=headers)
    async with request as raw:
        return Answer(raw.status, raw.content_type, await raw.text(), raw.headers)


def _order(**changes: str) -> list[tuple[str, str]]:
    fields = {
        "symbol": "BTCUSDT",
        "side": "BUY",
        "type": "LIMIT",
        "timeInForce": "GTC",
        "quantity": "0.001",
        "price": "49000",
        "newClientOrderId": "gmtestBP1C0",
    }
    fields.update(changes)
    return list(fields.items())


def _answers(calls: Sequence[tuple[str, str, Sequence[tuple[str, str]], bool]]) -> list[Answer]:
    """Serve a fresh simulator and make each (method, path, params, signed) call; also checks
    that none of them placed an order or moved a balance."""

    async def main() -> list[Answer]:
        sim = new_sim()
        before = await sim.fetch_balances()
        async with running_server(sim) as (server, url), aiohttp.ClientSession() as http:
            answers = [
                await _api(http, server, url, method, path, params, signed=signed)
                for method, path, params, signed in calls
            ]
        assert sim.all_orders(SYMBOL) == []
        assert await sim.fetch_balances() == before
        return answers

    return asyncio.run(main())


# --- order parameters ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"price": "NaN"}, _illegal("price", DECIMAL_RANGE)),
        ({"price": "Infinity"}, _illegal("price", DECIMAL_RANGE)),
        ({"price": "-100"}, _illegal("price", DECIMAL_RANGE)),
        ({"price": "4.9e4"}, _illegal("price", DECIMAL_RANGE)),
        ({"quantity": "1e999999"}, _illegal("quantity", DECIMAL_RANGE)),
        ({"quantity": "-0.001"}, _illegal("quantity", DECIMAL_RANGE)),
        ({"quantity": "1" * 21}, _illegal("quantity", DECIMAL_RANGE)),
        ({"newClientOrderId": "a" * 5000}, _illegal("newClientOrderId", CID_RANGE)),
        ({"newClientOrderId": "a" * 37}, _illegal("newClientOrderId", CID_RANGE)),
        ({"newClientOrderId": "gm%20BP1"}, _illegal("newClientOrderId", CID_RANGE)),
        ({"symbol": "btcusdt"}, _illegal("symbol", "'^[A-Z0-9-_.]{1,20}$'")),
        (
            {"price": ""},
            {
                "code": -1102,
                "msg": "Mandatory parameter 'price' was not sent, was empty/null, or malformed.",
            },
        ),
        ({"side": "HOLD"}, {"code": -1117, "msg": "Invalid side."}),
        ({"price": "0"}, {"code": -1013, "msg": "Invalid price."}),
        ({"quantity": "0"}, {"code": -1013, "msg": "Invalid quantity."}),
        ({"price": "49000.001"}, {"code": -1013, "msg": "Filter failure: PRICE_FILTER"}),
        ({"price": "20000000"}, {"code": -1013, "msg": "Filter failure: PRICE_FILTER"}),
        (
            {"price": "49000.000000001"},
            {"code": -1111, "msg": "Parameter 'price' has too much precision."},
        ),
        ({"quantity": "0.000001"}, {"code": -1013, "msg": "Filter failure: LOT_SIZE"}),
        ({"quantity": "100000"}, {"code": -1013, "msg": "Filter failure: LOT_SIZE"}),
        ({"quantity": "0.00001"}, {"code": -1013, "msg": "Filter failure: NOTIONAL"}),
    ],
    ids=lambda v: str(v)[:40] if isinstance(v, dict) else None,
)
def test_order_with_a_bad_parameter_is_refused_as_binance_refuses_it(
    changes: dict[str, str], expected: dict[str, Any]
) -> None:
    (answer,) = _answers([("POST", "order", _order(**changes), True)])

    assert (answer.status, answer.content_type, answer.body) == (400, "application/json", expected)


def test_order_with_a_36_character_client_id_is_accepted() -> None:
    async def main() -> Answer:
        async with running_server() as (server, url), aiohttp.ClientSession() as http:
            cid = "gm.:/_-" + "x" * 29
            return await _api(http, server, url, "POST", "order", _order(newClientOrderId=cid))

    answer = asyncio.run(main())

    assert answer.status == 200 and answer.body["clientOrderId"] == "gm.:/_-" + "x" * 29


def test_order_with_a_duplicated_parameter_is_minus_1101() -> None:
    (answer,) = _answers([("POST", "order", [*_order(), ("price", "48000")], True)])

    assert (answer.status, answer.body) == (
        400,
        {"code": -1101, "msg": "Duplicate values for a parameter detected."},
    )


# --- lookups -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "params", "signed", "expected"),
    [
        ("GET", "myTrades", [("limit", "abc")], True, _illegal("limit", LONG_RANGE)),
        ("GET", "myTrades", [("limit", "-5")], True, _illegal("limit", LONG_RANGE)),
        ("GET", "myTrades", [("fromId", "abc")], True, _illegal("fromId", LONG_RANGE)),
        ("GET", "myTrades", [("fromId", "-1")], True, _illegal("fromId", LONG_RANGE)),
        ("GET", "myTrades", [("fromId", "9" * 21)], True, _illegal("fromId", LONG_RANGE)),
        ("GET", "allOrders", [("limit", "abc")], True, _illegal("limit", LONG_RANGE)),
        ("GET", "allOrders", [("limit", "-5")], True, _illegal("limit", LONG_RANGE)),
        ("GET", "depth", [("limit", "abc")], False, _illegal("limit", LONG_RANGE)),
        ("GET", "depth", [("limit", "-5")], False, _illegal("limit", LONG_RANGE)),
        ("GET", "order", [("orderId", "abc")], True, _illegal("orderId", LONG_RANGE)),
        (
            "GET",
            "order",
            [("origClientOrderId", "z" * 40)],
            True,
            _illegal("origClientOrderId", CID_RANGE),
        ),
        (
            "DELETE",
            "order",
            [],
            True,
            {
                "code": -1102,
                "msg": "Param 'origClientOrderId' or 'orderId' must be sent, "
                "but both were empty/null!",
            },
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_lookup_with_a_malformed_parameter_is_minus_1100_json_400(
    method: str, path: str, params: list[tuple[str, str]], signed: bool, expected: dict[str, Any]
) -> None:
    (answer,) = _answers([(method, path, [("symbol", "BTCUSDT"), *params], signed)])

    assert (answer.status, answer.content_type, answer.body) == (400, "application/json", expected)


def test_limit_above_the_maximum_is_cut_to_the_maximum() -> None:
    async def main() -> list[Answer]:
        sim = new_sim()
        async with running_server(sim) as (server, url), aiohttp.ClientSession() as http:
            for n in range(3):
                placed = await _api(
                    http, server, url, "POST", "order", _order(newClientOrderId=f"c{n}")
                )
                assert placed.status == 200, placed
            return [
                await _api(http, server, url, "GET", path, [("symbol", "BTCUSDT"), *extra])
                for path, extra in (
                    ("allOrders", [("limit", "99999999")]),
                    ("myTrades", [("limit", "99999999"), ("fromId", "0")]),
                )
            ]

    orders, trades = asyncio.run(main())

    assert orders.status == 200 and len(orders.body) == 3
    assert trades.status == 200 and trades.body == []


def test_a_handler_that_fails_answers_binance_json_not_plain_text() -> None:
    async def main() -> Answer:
        sim = new_sim()

        async def broken(symbol: str) -> Any:
            raise RuntimeError("a bug in the simulator")

        sim.fetch_open_orders = broken  # type: ignore[method-assign]
        async with running_server(sim) as (server, url), aiohttp.ClientSession() as http:
            return await _api(http, server, url, "GET", "openOrders", [("symbol", "BTCUSDT")])

    answer = asyncio.run(main())

    assert (answer.status, answer.content_type, answer.body) == (
        500,
        "application/json",
        {"code": -1000, "msg": "An unknown error occurred while processing the request."},
    )


# --- what ccxt makes of these answers ------------------------------------------------------------


def test_ccxt_maps_the_refusals_to_bad_request_and_the_adapter_to_rejected() -> None:
    async def main() -> list[tuple[type[Exception], ExchangeError]]:
        async with running_server() as (_, url):
            ex = venue(url)
            try:
                await ex.fetch_instrument(SYMBOL)
                base = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC"}
                writes = [
                    {**base, "quantity": "0.001", "price": "NaN", "newClientOrderId": "a1"},
                    {**base, "quantity": "0.001", "price": "0", "newClientOrderId": "a2"},
                    {**base, "quantity": "1e999999", "price": "49000", "newClientOrderId": "a3"},
                    {**base, "quantity": "0.001", "price": "49000", "newClientOrderId": "a" * 37},
                    {**base, "quantity": "0.00001", "price": "49000", "newClientOrderId": "a4"},
                ]
                out = []
                for params in writes:
                    with pytest.raises(accxt.BadRequest) as raised:
                        await ex.client.private_post_order(params)
                    out.append((type(raised.value), map_error(raised.value, is_write=True)))
                for params2 in ({"limit": -5}, {"limit": "abc"}, {"fromId": "abc"}):
                    with pytest.raises(accxt.BadRequest) as raised:
                        await ex.client.private_get_mytrades({"symbol": "BTCUSDT", **params2})
                    out.append((type(raised.value), map_error(raised.value, is_write=False)))
                return out
            finally:
                await ex.close()

    mapped = asyncio.run(main())

    assert [type(error) for _, error in mapped] == [Rejected] * 8
    reasons = [error.reason for _, error in mapped if isinstance(error, Rejected)]
    assert reasons == ["invalid_order"] * 5 + ["bad_request"] * 3


# --- control endpoints ---------------------------------------------------------------------------


@asynccontextmanager
async def _serving(server: BinanceSimServer) -> AsyncIterator[str]:
    """``server`` on a free loopback port; yields its base URL."""
    stop = asyncio.Event()
    ports: asyncio.Queue[int] = asyncio.Queue()
    task = asyncio.create_task(serve(server, port=0, stop=stop, on_ready=ports.put_nowait))
    try:
        yield f"http://127.0.0.1:{await asyncio.wait_for(ports.get(), timeout=10)}"
    finally:
        stop.set()
        await task


async def _control(
    http: aiohttp.ClientSession,
    url: str,
    path: str,
    body: str | bytes | None,
    headers: dict[str, str] | None = None,
    method: str = "POST",
) -> Answer:
    send = {"Content-Type": "application/json"} if headers is None else headers
    async with http.request(method, url + path, data=body, headers=send) as raw:
        return Answer(raw.status, raw.content_type, await raw.text(), raw.headers)


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/__sim/bind", "not json", "body"),
        ("/__sim/bind", "[]", "body"),
        ("/__sim/bind", '{"symbol": "BTC/USDT"}', "key"),
        ("/__sim/bind", '{"symbol": "NOPE/USDT", "key": "k"}', "symbol"),
        ("/__sim/bind", '{"symbol": 5, "key": "k"}', "symbol"),
        ("/__sim/bind", '{"symbol": "BTC/USDT", "key": ""}', "key"),
        (
            "/__sim/trade",
            '{"symbol": "BTC/USDT", "price": "x", "amount": "1", "ts_event": 1}',
            "price",
        ),
        (
            "/__sim/trade",
            '{"symbol": "BTC/USDT", "price": "NaN", "amount": "1", "ts_event": 1}',
            "price",
        ),
        (
            "/__sim/trade",
            '{"symbol": "BTC/USDT", "price": 1.5, "amount": "1", "ts_event": 1}',
            "price",
        ),
        (
            "/__sim/trade",
            '{"symbol": "BTC/USDT", "price": "1", "amount": "-1", "ts_event": 1}',
            "amount",
        ),
        (
            "/__sim/trade",
            '{"symbol": "BTC/USDT", "price": "1", "amount": "1", "ts_event": "x"}',
            "ts_event",
        ),
        ("/__sim/trade", '{"symbol": "BTC/USDT", "price": "1", "amount": "1"}', "ts_event"),
        (
            "/__sim/trade",
            '{"symbol": "ETH/USDT", "price": "1", "amount": "1", "ts_event": 1}',
            "symbol",
        ),
        (
            "/__sim/trade",
            '{"symbol": "BTC/USDT", "price": "1", "amount": "1", "ts_event": 1, "amout": "2"}',
            "amout",
        ),
        ("/__sim/chaos", "[1]", "body"),
        ("/__sim/chaos", '{"rate": "x"}', "rate"),
        ("/__sim/chaos", '{"rate": 2}', "rate"),
        ("/__sim/chaos", '{"rate": 0.5, "kinds": ["nope"]}', "kinds"),
        ("/__sim/chaos", '{"rate": 0.5, "kinds": "429"}', "kinds"),
        ("/__sim/chaos", '{"rate": 0.5, "seed": "x"}', "seed"),
        ("/__sim/chaos", '{"rate": 0.5, "retry_after_s": NaN}', "retry_after_s"),
        ("/__sim/chaos", '{"rate": 0.5, "delay_s": -1}', "delay_s"),
        ("/__sim/clock", "{}", "offset_ms"),
        ("/__sim/clock", '{"offset_ms": "x"}', "offset_ms"),
        ("/__sim/clock", '{"offset_ms": true}', "offset_ms"),
        ("/__sim/streams", "[]", "body"),
        ("/__sim/streams", '{"drop": "yes"}', "drop"),
        ("/__sim/streams", '{"public": 1}', "public"),
    ],
)
def test_control_endpoint_with_a_bad_body_is_400_naming_the_field(
    path: str, body: str, field: str
) -> None:
    async def main() -> tuple[Answer, dict[str, Any]]:
        sim = new_sim()
        async with running_server(sim) as (server, url), aiohttp.ClientSession() as http:
            answer = await _control(http, url, path, body)
            state = {
                "chaos": server.chaos,
                "clock": server.clock_offset_ms,
                "streams": (server.streams.accept_public, server.streams.accept_user),
                "position": sim.feed_position(SYMBOL),
                "last": sim.last_price(SYMBOL),
            }
        return answer, state

    answer, state = asyncio.run(main())

    assert (answer.status, answer.content_type) == (400, "application/json"), answer
    assert answer.body["field"] == field and field in answer.body["error"]
    assert state == {
        "chaos": None,
        "clock": 0,
        "streams": (True, True),
        "position": 0,
        "last": None,
    }


def test_control_post_without_json_content_type_is_415_and_changes_nothing() -> None:
    async def main() -> tuple[list[Answer], int]:
        async with running_server() as (server, url), aiohttp.ClientSession() as http:
            body = '{"offset_ms": 5000}'
            answers = [
                await _control(http, url, "/__sim/clock", body, {"Content-Type": kind})
                for kind in ("text/plain", "application/x-www-form-urlencoded")
            ]
            return answers, server.clock_offset_ms

    answers, offset = asyncio.run(main())

    assert [(a.status, a.content_type) for a in answers] == [(415, "application/json")] * 2
    assert "Content-Type" in answers[0].body["error"]
    assert offset == 0


def test_control_endpoints_send_no_cors_headers_and_refuse_preflight() -> None:
    async def main() -> list[Answer]:
        async with running_server() as (_, url), aiohttp.ClientSession() as http:
            origin = {"Origin": "http://evil.example"}
            return [
                await _control(http, url, "/__sim/dump", None, origin, method="GET"),
                await _control(
                    http,
                    url,
                    "/__sim/clock",
                    None,
                    {**origin, "Access-Control-Request-Method": "POST"},
                    method="OPTIONS",
                ),
                await _control(
                    http, url, "/__sim/clock", "{}", {**origin, "Content-Type": "application/json"}
                ),
            ]

    answers = asyncio.run(main())

    for answer in answers:
        assert not [h for h in answer.headers if h.lower().startswith("access-control-")]
    assert answers[1].status >= 400


def test_control_request_naming_a_foreign_host_is_refused_on_loopback() -> None:
    async def main() -> tuple[Answer, int]:
        async with running_server() as (server, url), aiohttp.ClientSession() as http:
            answer = await _control(
                http,
                url,
                "/__sim/clock",
                '{"offset_ms": 5000}',
                {"Content-Type": "application/json", "Host": "rebound.example:80"},
            )
            return answer, server.clock_offset_ms

    answer, offset = asyncio.run(main())

    assert (answer.status, answer.content_type) == (403, "application/json")
    assert "Host" in answer.body["error"] and offset == 0


def test_control_token_is_required_when_the_server_has_one() -> None:
    async def main() -> tuple[list[Answer], int]:
        server = BinanceSimServer(
            new_sim(),
            symbols=[SYMBOL],
            api_key=SIM_API_KEY,
            api_secret=SIM_API_SECRET,
            control_token="s3cret",
        )
        async with _serving(server) as url, aiohttp.ClientSession() as http:
            json_type = {"Content-Type": "application/json"}
            answers = [
                await _control(http, url, "/__sim/dump", None, {}, method="GET"),
                await _control(http, url, "/__sim/clock", '{"offset_ms": 7}', json_type),
                await _control(
                    http,
                    url,
                    "/__sim/clock",
                    '{"offset_ms": 7}',
                    {**json_type, "X-Sim-Token": "no"},
                ),
                await _control(
                    http,
                    url,
                    "/__sim/clock",
                    '{"offset_ms": 9}',
                    {**json_type, "X-Sim-Token": "s3cret", "Host": "sim.lan:1"},
                ),
            ]
            return answers, server.clock_offset_ms

    (dump, missing, wrong, right), offset = asyncio.run(main())

    assert [a.status for a in (dump, missing, wrong)] == [401, 401, 401]
    assert "X-Sim-Token" in missing.body["error"]
    assert right.status == 200 and offset == 9
