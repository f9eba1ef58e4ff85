"""The simulator's Binance market-data endpoints through the real ccxt ``binance`` client.

Shapes, limits and paging of ``trades``, ``historicalTrades``, ``aggTrades`` and ``klines`` as
ccxt sends and parses them, over prints the simulator matched.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import aiohttp
import ccxt.async_support as accxt  # type: ignore[import-untyped]
import pytest

from gridmaker.cli.venue import SIM_API_KEY, SIM_API_SECRET
from gridmaker.exchange.ccxt import build_ccxt_client
from gridmaker.exchange.sim.http import BinanceSimServer
from tests.kit.http_venue import SYMBOL, running_server

pytestmark = pytest.mark.integration

T0 = 1_700_000_000_000
"""2023-11-14T22:13:20Z."""
STEP_MS = 1_000


def _price(i: int) -> Decimal:
    """A zigzag of 0, 1, 2, 2, 1 ticks, so both makers (and a zero tick) appear."""
    return Decimal("40000.00") + Decimal("0.01") * (i % 5 if i % 5 < 3 else 5 - i % 5)


async def _print(server: BinanceSimServer, n: int, *, step_ms: int = STEP_MS) -> None:
    for i in range(n):
        amount = Decimal("0.00010") + Decimal("0.00001") * i
        await server.print_trade(SYMBOL, _price(i), amount, T0 + i * step_ms)


def _with_client(
    n: int, body: Callable[[BinanceSimServer, Any], Awaitable[None]], *, key: bool = False
) -> None:
    async def main() -> None:
        async with running_server() as (server, url):
            await _print(server, n)
            client = build_ccxt_client(
                "binance",
                api_key=SIM_API_KEY if key else "",
                api_secret=SIM_API_SECRET if key else "",
                base_url=url,
                streams=False,
            )
            try:
                await body(server, client)
            finally:
                await client.close()

    asyncio.run(main())


def test_agg_trades_since_returns_the_hour_from_it_with_exact_decimals() -> None:
    async def body(server: BinanceSimServer, client: Any) -> None:
        trades = await client.fetch_trades(SYMBOL, since=T0 + 10 * STEP_MS, limit=5)
        assert [t["info"]["a"] for t in trades] == [11, 12, 13, 14, 15]
        first = trades[0]["info"]
        assert set(first) == {"a", "p", "q", "f", "l", "T", "m", "M"}
        assert (first["p"], first["q"], first["T"]) == ("40000.00", "0.00020", T0 + 10_000)
        assert first["f"] == first["l"] == 11
        assert [t["info"]["m"] for t in trades] == [True, False, False, False, True]  # tick rule

    _with_client(30, body)


def test_agg_trades_from_id_pages_through_every_print_once() -> None:
    async def body(server: BinanceSimServer, client: Any) -> None:
        seen: list[int] = []
        while True:
            page = await client.fetch_trades(SYMBOL, limit=1000, params={"fromId": len(seen) + 1})
            if not page:
                break
            seen += [t["info"]["a"] for t in page]
        assert seen == list(range(1, 2501))
        prints = server.sim.tape.all(SYMBOL)
        assert [p.id for p in prints] == seen

    _with_client(2500, body)


def test_agg_trades_limit_defaults_to_500_and_is_cut_to_1000() -> None:
    async def body(server: BinanceSimServer, client: Any) -> None:
        recent = await client.fetch_trades(SYMBOL)
        assert [t["info"]["a"] for t in recent] == list(range(701, 1201))
        cut = await client.fetch_trades(SYMBOL, params={"fromId": 1, "limit": 5000})
        assert len(cut) == 1000

    _with_client(1200, body)


def test_agg_trades_window_over_an_hour_or_with_from_id_is_refused_as_binance_does() -> None:
    async def body(server: BinanceSimServer, client: Any) -> None:
        with pytest.raises(accxt.BadRequest, match="-1127"):
            await client.fetch_trades(SYMBOL, since=T0, params={"until": T0 + 3_600_001})
        with pytest.raises(accxt.BadRequest, match="-1128"):
            await client.fetch_trades(SYMBOL, since=T0, params={"fromId": 3})
        exactly_an_hour = await client.fetch_trades(
            SYMBOL, since=T0, params={"until": T0 + 3_600_000}
        )
        assert len(exactly_an_hour) == 10

    _with_client(10, body)


def test_trades_returns_the_most_recent_in_binance_shape() -> None:
    async def body(server: BinanceSimServer, client: Any) -> None:
        trades = await client.fetch_trades(
            SYMBOL, limit=3, params={"fetchTradesMethod": "publicGetTrades"}
        )
        assert [t["info"]["id"] for t in trades] == [8, 9, 10]
        row = trades[-1]["info"]
        assert set(row) == {"id", "price", "qty", "quoteQty", "time", "isBuyerMaker", "isBestMatch"}
        assert (row["price"], row["qty"], row["quoteQty"]) == ("40000.01", "0.00019", "7.6000019")

    _with_client(10, body)


def test_historical_trades_from_id_needs_the_api_key() -> None:
    async def body(server: BinanceSimServer, client: Any) -> None:
        params = {"fetchTradesMethod": "publicGetHistoricalTrades", "fromId": 4}
        trades = await client.fetch_trades(SYMBOL, limit=3, params=params)
        assert [t["info"]["id"] for t in trades] == [4, 5, 6]
        url = client.urls["api"]["public"] + "/historicalTrades?symbol=BTCUSDT"
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            assert response.status == 401
            assert (await response.json())["code"] == -2015

    _with_client(10, body, key=True)


def test_klines_are_twelve_field_rows_with_empty_minutes_at_the_last_close() -> None:
    async def main() -> None:
        async with running_server() as (server, url):
            await _print(server, 3, step_ms=150_000)  # at 0 s, 150 s, 300 s past T0
            client = build_ccxt_client(
                "binance", api_key="", api_secret="", base_url=url, streams=False
            )
            try:
                rows = await client.publicGetKlines(
                    {"symbol": "BTCUSDT", "interval": "1m", "startTime": T0 - 60_000}
                )
                candles = await client.fetch_ohlcv(SYMBOL, "1m", since=T0 - 60_000, limit=3)
                with pytest.raises(accxt.BadRequest, match="-1120"):
                    await client.publicGetKlines({"symbol": "BTCUSDT", "interval": "7m"})
            finally:
                await client.close()
        start = T0 // 60_000 * 60_000
        assert [r[0] for r in rows] == [start + k * 60_000 for k in range(6)]
        assert all(len(r) == 12 for r in rows)
        assert rows[0][1:9] == [
            "40000.00",
            "40000.00",
            "40000.00",
            "40000.00",
            "0.00010",
            start + 59_999,
            "4.0000000",
            1,
        ]
        assert rows[1][1:6] == ["40000.00", "40000.00", "40000.00", "40000.00", "0"]  # no trade
        assert rows[1][8] == 0
        assert [c[4] for c in candles] == ["40000.00", "40000.00", "40000.01"]

    asyncio.run(main())


def test_the_tape_survives_a_restart_of_the_state_file(tmp_path: Any) -> None:
    from gridmaker.exchange.sim import SimExchange
    from tests import kit

    def opened() -> SimExchange:
        return SimExchange(
            instruments=[kit.instrument()],
            initial_balances={"USDT": Decimal(1000)},
            path=tmp_path / "exchange.sqlite",
        )

    sim = opened()
    for i in range(3):
        sim.apply_trade(SYMBOL, _price(i), Decimal("0.5"), T0 + i)
    before = list(sim.tape.all(SYMBOL))
    sim.close_sync()
    again = opened()
    again.apply_trade(SYMBOL, Decimal("39999.99"), Decimal("1"), T0 - 5)  # clock never goes back
    after = again.tape.all(SYMBOL)
    again.close_sync()
    assert list(after[:3]) == before
    assert (after[3].id, after[3].ts_event, after[3].buyer_maker) == (4, T0 + 2, True)
