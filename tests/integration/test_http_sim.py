"""The HTTP simulator driven by the real ccxt binance client through ``CcxtExchange``."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from gridmaker.cli.venue import SIM_API_KEY, SIM_API_SECRET
from gridmaker.core.events import OrderStatus, Side
from gridmaker.exchange.api import (
    Banned,
    DuplicateClientOrderId,
    ExchangeError,
    MalformedResponse,
    NotFound,
    OrderRequest,
    RateLimited,
    Rejected,
    Unavailable,
    UnknownOutcome,
)
from gridmaker.exchange.ccxt import CcxtExchange, RateBudget
from gridmaker.exchange.faults import FaultKind, FaultPlan
from gridmaker.exchange.sim import SimExchange
from tests.kit.http_venue import SYMBOL, new_sim, running_server, venue

pytestmark = pytest.mark.integration


def _request(cid: str = "gmbtcBP1C0", price: str = "49000", side: Side = Side.BUY) -> OrderRequest:
    return OrderRequest(
        symbol=SYMBOL, client_order_id=cid, side=side, price=Decimal(price), amount=Decimal("0.001")
    )


def _with_venue(
    body: Callable[[CcxtExchange, SimExchange, str], Awaitable[Any]],
    *,
    chaos: FaultPlan | None = None,
    sim: SimExchange | None = None,
) -> Any:
    async def main() -> Any:
        inner = sim or new_sim()
        async with running_server(inner, chaos=chaos) as (_, url):
            ex = venue(url)
            try:
                await ex.fetch_instrument(SYMBOL)
                return await body(ex, inner, url)
            finally:
                await ex.close()

    return asyncio.run(main())


def test_instrument_comes_from_exchange_info_exactly() -> None:
    async def body(ex: CcxtExchange, sim: SimExchange, url: str) -> None:
        assert await ex.fetch_instrument(SYMBOL) == await sim.fetch_instrument(SYMBOL)

    _with_venue(body)


def test_order_lifecycle_place_lookup_fill_cancel() -> None:
    async def body(ex: CcxtExchange, sim: SimExchange, url: str) -> None:
        # Act
        placed = await ex.place_order(_request())
        await ex.place_order(_request("gmbtcBP2C0", "48000"))
        listed = await ex.fetch_open_orders(SYMBOL)
        sim.apply_trade(SYMBOL, Decimal("48999"), Decimal("1"), 7)
        looked_up = await ex.fetch_order(SYMBOL, "gmbtcBP1C0")
        page = await ex.fetch_fills(SYMBOL, "")
        canceled = await ex.cancel_order(SYMBOL, "gmbtcBP2C0")
        later = await ex.fetch_fills(SYMBOL, page.cursor)

        # Assert
        assert placed.status is OrderStatus.OPEN and placed.client_order_id == "gmbtcBP1C0"
        assert [o.client_order_id for o in listed] == ["gmbtcBP1C0", "gmbtcBP2C0"]
        assert looked_up.status is OrderStatus.FILLED and looked_up.filled == Decimal("0.001")
        assert [(f.client_order_id, f.price, f.fee) for f in page.fills] == [
            ("gmbtcBP1C0", Decimal("49000"), Decimal("0.049"))
        ]
        assert page.fills[0].ts_event == 7 and page.fills[0].is_maker
        assert canceled.status is OrderStatus.CANCELED
        assert canceled.client_order_id == "gmbtcBP2C0"  # not the cancel request's id
        assert later.fills == () and later.cursor == page.cursor
        balances = await ex.fetch_balances()
        assert balances == await sim.fetch_balances()

    _with_venue(body)


def test_duplicate_open_client_id_means_it_exists_and_unknown_id_is_not_found() -> None:
    async def body(ex: CcxtExchange, sim: SimExchange, url: str) -> None:
        await ex.place_order(_request())

        with pytest.raises(DuplicateClientOrderId):
            await ex.place_order(_request())
        with pytest.raises(NotFound):
            await ex.fetch_order(SYMBOL, "gmbtcBP9C0")
        with pytest.raises(NotFound):
            await ex.cancel_order(SYMBOL, "gmbtcBP9C0")
        with pytest.raises(Rejected) as crossing:
            sim.apply_trade(SYMBOL, Decimal("50000"), Decimal("0.0001"), 1)
            await ex.place_order(_request("gmbtcBP3C0", "50001"))
        assert crossing.value.reason == "post_only_would_cross"
        with pytest.raises(Rejected) as poor:
            await ex.place_order(
                OrderRequest(
                    symbol=SYMBOL,
                    client_order_id="gmbtcBP4C0",
                    side=Side.BUY,
                    price=Decimal("40000"),
                    amount=Decimal("100"),
                )
            )
        assert poor.value.reason == "insufficient_balance"

    _with_venue(body)


def test_wrong_signature_gets_binance_error_body_and_stops() -> None:
    async def main() -> tuple[int, dict[str, Any], type[Exception]]:
        async with running_server() as (_, url):
            async with (
                aiohttp.ClientSession() as http,
                http.get(
                    f"{url}/api/v3/account?timestamp=1&signature=00",
                    headers={"X-MBX-APIKEY": "gridmaker-sim-key"},
                ) as raw,
            ):
                status, body = raw.status, await raw.json()
            ex = venue(url, secret="not-the-secret")
            try:
                with pytest.raises(Banned) as raised:
                    await ex.fetch_balances()
            finally:
                await ex.close()
            return status, body, type(raised.value)

    status, body, error = asyncio.run(main())

    assert (status, body) == (
        400,
        {"code": -1022, "msg": "Signature for this request is not valid."},
    )
    assert error is Banned


@pytest.mark.parametrize(
    ("kind", "read_error", "write_error", "write_executes"),
    [
        (FaultKind.RATE_LIMITED, RateLimited, RateLimited, False),
        (FaultKind.BANNED, Banned, Banned, False),
        (FaultKind.UNAVAILABLE, Unavailable, UnknownOutcome, False),
        (FaultKind.GATEWAY_TIMEOUT, Unavailable, UnknownOutcome, True),
        (FaultKind.TIMEOUT_AFTER, Unavailable, UnknownOutcome, True),
        (FaultKind.MALFORMED, MalformedResponse, UnknownOutcome, True),
    ],
)
def test_chaos_on_the_wire_maps_into_the_taxonomy(
    kind: FaultKind,
    read_error: type[Exception],
    write_error: type[Exception],
    write_executes: bool,
) -> None:
    async def body(ex: CcxtExchange, sim: SimExchange, url: str) -> None:
        server_chaos = FaultPlan.wire(rate=1.0, kinds=(kind,), retry_after_s=0.25)
        ex.budget = RateBudget(limit=1_000_000)
        _servers[url].set_chaos(server_chaos)

        with pytest.raises(read_error) as read:
            await ex.fetch_open_orders(SYMBOL)
        ex.budget = RateBudget(limit=1_000_000)
        with pytest.raises(write_error):
            await ex.place_order(_request())

        executed = [o.client_order_id for o in sim.all_orders(SYMBOL)]
        assert executed == (["gmbtcBP1C0"] if write_executes else [])
        if kind is FaultKind.RATE_LIMITED:
            assert isinstance(read.value, RateLimited) and read.value.retry_after_s == 0.25

    _servers.clear()
    _with_servers(body)


_servers: dict[str, Any] = {}


def _with_servers(body: Callable[[CcxtExchange, SimExchange, str], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        sim = new_sim()
        async with running_server(sim) as (server, url):
            _servers[url] = server
            ex = venue(url)
            try:
                await ex.fetch_instrument(SYMBOL)
                return await body(ex, sim, url)
            finally:
                await ex.close()

    return asyncio.run(main())


def test_unknown_status_write_is_unknown_and_lookup_tells_the_truth() -> None:
    async def body(ex: CcxtExchange, sim: SimExchange, url: str) -> None:
        server = _servers[url]
        outcomes = []
        for n in range(6):
            server.set_chaos(FaultPlan.wire(rate=1.0, kinds=(FaultKind.UNKNOWN_STATUS,), seed=n))
            cid = f"gmbtcBP{n}C0"
            with pytest.raises(UnknownOutcome):
                await ex.place_order(_request(cid, str(49000 - n)))
            server.set_chaos(None)
            try:
                outcomes.append((await ex.fetch_order(SYMBOL, cid)).status)
            except NotFound:
                outcomes.append(OrderStatus.NOT_FOUND)

        assert set(outcomes) == {OrderStatus.OPEN, OrderStatus.NOT_FOUND}

    _servers.clear()
    _with_servers(body)


def test_rate_budget_reads_the_used_weight_header_and_honours_retry_after() -> None:
    async def body(ex: CcxtExchange, sim: SimExchange, url: str) -> None:
        budget = RateBudget(limit=1_000_000)
        ex.budget = budget
        await ex.fetch_open_orders(SYMBOL)
        assert budget.used >= 20 + 6  # exchangeInfo (header) + openOrders

        _servers[url].set_chaos(FaultPlan.wire(rate=1.0, kinds=(FaultKind.RATE_LIMITED,)))
        with pytest.raises(RateLimited):
            await ex.fetch_open_orders(SYMBOL)
        calls_before = _servers[url].stats.requests
        with pytest.raises(RateLimited, match="not sent"):
            await ex.fetch_open_orders(SYMBOL)  # refused locally during Retry-After
        assert _servers[url].stats.requests == calls_before
        assert budget.effective_limit == 500_000  # slowed down after the 429

        _servers[url].set_chaos(FaultPlan.wire(rate=1.0, kinds=(FaultKind.BANNED,)))
        await asyncio.sleep(0)  # nothing to wait for: 418 needs no Retry-After to pass
        budget._blocked_until = 0.0
        with pytest.raises(Banned):
            await ex.fetch_balances()
        with pytest.raises(Banned, match="not sent"):
            await ex.place_order(_request())

    _servers.clear()
    _with_servers(body)


def test_ticker_stream_speaks_binance_shapes() -> None:
    async def main() -> list[Any]:
        sim = new_sim()
        sim.apply_trade(SYMBOL, Decimal("50000"), Decimal("0.1"), 0)
        async with (
            running_server(sim) as (_, url),
            aiohttp.ClientSession() as http,
            http.ws_connect(url.replace("http", "ws") + "/ws/0") as ws,
        ):
            streams = ["btcusdt@ticker", "btcusdt@miniTicker"]
            await ws.send_json({"method": "SUBSCRIBE", "params": streams, "id": 7})
            got = [await ws.receive_json(timeout=5) for _ in range(3)]  # ack + 2 snapshots
            sim.apply_trade(SYMBOL, Decimal("49990.5"), Decimal("0.1"), 1)
            got += [await ws.receive_json(timeout=5) for _ in range(2)]
            await ws.send_json({"method": "SUBSCRIBE", "params": ["ethusdt@ticker"], "id": 8})
            got.append(await ws.receive_json(timeout=5))
            return got

    ack, ticker, mini, ticker2, mini2, refused = asyncio.run(main())

    assert ack == {"result": None, "id": 7}
    assert (ticker["e"], ticker["s"], ticker["c"]) == ("24hrTicker", "BTCUSDT", "50000")
    assert Decimal(ticker["b"]) < Decimal(ticker["c"]) < Decimal(ticker["a"])
    assert (mini["e"], mini["c"]) == ("24hrMiniTicker", "50000") and "b" not in mini
    assert (ticker2["c"], mini2["c"]) == ("49990.5", "49990.5")
    assert refused["id"] == 8 and refused["error"]["code"] == 2


def test_user_stream_with_a_wrong_signature_is_refused() -> None:
    async def main() -> dict[str, Any]:
        async with running_server() as (server, url):
            ex = venue(url, secret="not-the-secret", streams=True)
            try:
                await ex.fetch_instrument(SYMBOL)  # public: fine
                # ccxt 4.5.90 loses the -1022 on the websocket API (a KeyError while it
                # unwinds the subscription), so it arrives as a plain failure, not a ban.
                with pytest.raises(ExchangeError):
                    await asyncio.wait_for(ex.watch_orders(SYMBOL), 10)
            finally:
                await ex.close()
            return dict(server.streams.counts)

    counts = asyncio.run(main())

    assert counts.get("user_auth_refused") == 1 and "order_events" not in counts


def test_signed_request_outside_the_time_window_is_minus_1021() -> None:
    async def main() -> list[tuple[int, dict[str, Any]]]:
        async with running_server() as (server, url), aiohttp.ClientSession() as http:
            now = server._clock_ms()
            answers = []
            for timestamp, window in ((now + 5000, 5000), (now - 7000, 5000), (now - 7000, 9000)):
                query = f"timestamp={timestamp}&recvWindow={window}"
                signature = hmac.new(
                    SIM_API_SECRET.encode(), query.encode(), hashlib.sha256
                ).hexdigest()
                async with http.get(
                    f"{url}/api/v3/account?{query}&signature={signature}",
                    headers={"X-MBX-APIKEY": SIM_API_KEY},
                ) as raw:
                    answers.append((raw.status, await raw.json()))
            return answers

    ahead, behind, inside = asyncio.run(main())

    assert ahead[0] == 400 and ahead[1]["code"] == -1021 and "ahead" in ahead[1]["msg"]
    assert behind[0] == 400 and behind[1]["code"] == -1021 and "recvWindow" in behind[1]["msg"]
    assert inside[0] == 200 and "balances" in inside[1]
