"""A ticker stream that stays open and goes silent, on ``gridmaker sim-exchange``.

The simulator runs as a user starts it (a subprocess whose market moves by itself); the bot's
prices come through the real ccxt.pro client. ``POST /__sim/streams {"stall": true}`` keeps
the socket open and answered but sends no ticker: the bot must notice the silence, poll, and
take the stream back when it speaks again (through the same ccxt client, whose watch it
abandoned at the stall).
"""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from gridmaker.feeds.live_prices import POLLING, STREAM, price_stream
from tests.e2e.test_http_venue import sim_exchange
from tests.kit.http_venue import SYMBOL, control, new_sim, running_server, venue
from tests.kit.waiting import eventually_async

pytestmark = pytest.mark.integration

STALL_S = 1.0
POLL_S = 0.05


async def _control(url: str, path: str, body: dict[str, Any] | None = None) -> Any:
    return await asyncio.to_thread(control, url, path, body)


async def _rest_ticker_reads(url: str) -> int:
    calls = (await _control(url, "/__sim/chaos"))["calls"]
    return int(calls.get("GET ticker/24hr", 0))


def test_stream_stall_on_sim_exchange_is_polled_through_until_the_stream_speaks_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    prices: list[Decimal] = []
    sources: list[tuple[str, str]] = []

    def kinds() -> list[str]:
        return [source for source, _ in sources]

    async def more_prices(n: int) -> None:
        target = len(prices) + n
        await eventually_async(lambda: len(prices) >= target, timeout_s=20, what="prices")

    async def main(url: str) -> dict[str, Any]:
        client = venue(url, streams=True)
        stream = price_stream(
            client,
            SYMBOL,
            poll_interval_s=POLL_S,
            retry_ws_after=5,
            stall_after_s=STALL_S,
            on_source=lambda source, reason: sources.append((source, reason)),
        )

        async def consume() -> None:
            async for price in stream:
                prices.append(price)

        reader = asyncio.create_task(consume())
        try:
            await eventually_async(lambda: kinds() == [STREAM], timeout_s=20, what="the stream")
            await more_prices(3)
            assert await _rest_ticker_reads(url) == 0

            # Act: the stall.
            answer = await _control(url, "/__sim/streams", {"stall": True})
            assert answer["stall"] is True and answer["open_public"] == 1

            # Assert: polled within the threshold, and the prices keep coming meanwhile,
            # through a retry of the stream that is still silent.
            await eventually_async(lambda: POLLING in kinds(), timeout_s=20, what="the polls")
            await more_prices(3)
            await eventually_async(
                lambda: "price stream retry silent" in caplog.text,
                timeout_s=20,
                what="a silent retry",
            )
            await more_prices(3)
            assert kinds() == [STREAM, POLLING]
            assert await _rest_ticker_reads(url) >= 6

            # Act: the stream speaks again.
            await _control(url, "/__sim/streams", {"stall": False})

            # Assert: the stream is the source again, and nothing more is polled.
            await eventually_async(lambda: kinds().count(STREAM) == 2, timeout_s=20, what="back")
            reads = await _rest_ticker_reads(url)
            await more_prices(5)
            assert await _rest_ticker_reads(url) == reads
            return dict(await _control(url, "/__sim/streams"))
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
            await stream.aclose()
            await client.close()

    caplog.set_level(logging.INFO, logger="gridmaker.venue")
    with sim_exchange(tmp_path / "sim", "--walk-ms", "20") as url:
        streams = asyncio.run(main(url))

    assert kinds() == [STREAM, POLLING, STREAM]
    assert f"no price for {STALL_S:g} s" in sources[1][1]
    assert streams["stall"] is False and streams["open_public"] == 1
    assert streams["counts"]["ticker_events_stalled"] > 0
    assert streams["counts"]["public_connections"] == 1  # one socket throughout


def test_stalled_ticker_stream_answers_requests_and_sends_no_ticker_until_cleared() -> None:
    async def main() -> list[dict[str, Any]]:
        sim = new_sim()
        sim.apply_trade(SYMBOL, Decimal("50000"), Decimal("0.1"), 0)
        async with running_server(sim) as (server, url), aiohttp.ClientSession() as http:
            server.streams.set_stalled(True)
            async with http.ws_connect(url.replace("http", "ws") + "/ws") as ws:
                got: list[dict[str, Any]] = []
                for request_id, topic in ((1, "btcusdt@ticker"), (2, "btcusdt@miniTicker")):
                    await ws.send_json({"method": "SUBSCRIBE", "params": [topic], "id": request_id})
                    got.append(await ws.receive_json(timeout=10))
                sim.apply_trade(SYMBOL, Decimal("50100"), Decimal("0.1"), 1)
                await ws.send_json({"method": "UNSUBSCRIBE", "params": ["x@ticker"], "id": 3})
                got.append(await ws.receive_json(timeout=10))

                server.streams.set_stalled(False)
                got.append(await ws.receive_json(timeout=10))
                got.append(await ws.receive_json(timeout=10))
        return got

    got = asyncio.run(main())

    # Answered in order with nothing between (events leave in the order they are queued):
    # neither the subscription's ticker nor the print's was sent while stalled.
    assert got[:2] == [{"result": None, "id": 1}, {"result": None, "id": 2}]
    assert got[2]["id"] == 3 and "error" in got[2]
    # Cleared: each subscription hears the current ticker at once.
    assert sorted(event["e"] for event in got[3:]) == ["24hrMiniTicker", "24hrTicker"]
    assert {event["c"] for event in got[3:]} == {"50100"}


def test_sim_exchange_stall_flag_silences_the_stream_from_its_start_until_cleared(
    tmp_path: Path,
) -> None:
    sources: list[str] = []
    prices: list[Decimal] = []

    async def main(url: str) -> None:
        client = venue(url, streams=True)
        stream = price_stream(
            client,
            SYMBOL,
            poll_interval_s=POLL_S,
            stall_after_s=STALL_S,
            on_source=lambda source, _: sources.append(source),
        )

        async def consume() -> None:
            async for price in stream:
                prices.append(price)

        reader = asyncio.create_task(consume())
        try:
            # The stream subscribes and hears nothing: polled.
            await eventually_async(lambda: sources == [POLLING], timeout_s=20, what="the polls")
            await eventually_async(lambda: len(prices) >= 3, timeout_s=20, what="polled prices")
            assert (await _control(url, "/__sim/streams"))["stall"] is True

            await _control(url, "/__sim/streams", {"stall": False})

            await eventually_async(
                lambda: sources == [POLLING, STREAM], timeout_s=20, what="the stream"
            )
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
            await stream.aclose()
            await client.close()

    with sim_exchange(tmp_path / "sim", "--walk-ms", "20", "--stall-after-s", "0") as url:
        asyncio.run(main(url))


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('{"stall": "yes"}', "stall"),
        ('{"stall": 1}', "stall"),
        ('{"stall": true, "drop": 2}', "drop"),
    ],
)
def test_stall_control_with_a_bad_body_is_400_naming_the_field_and_changes_nothing(
    body: str, field: str
) -> None:
    async def main() -> tuple[int, dict[str, Any], bool]:
        async with running_server() as (server, url), aiohttp.ClientSession() as http:
            headers = {"Content-Type": "application/json"}
            async with http.post(url + "/__sim/streams", data=body, headers=headers) as answer:
                return answer.status, await answer.json(), server.streams.stalled

    status, answer, stalled = asyncio.run(main())

    assert status == 400
    assert answer["field"] == field and field in answer["error"]
    assert not stalled
