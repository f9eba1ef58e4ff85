"""The control API over a real bot: a ``GridOrchestrator`` on the in-process ``SimExchange``.

Requests go through ``httpx.ASGITransport`` on the bot's own loop (as the server runs it);
commands are applied by calling ``apply_commands`` as a session does at its next turn, and
what reached the venue is read from the simulator itself. The event stream, which the ASGI
transport cannot stream, is read from a real uvicorn server on a loopback port.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from gridmaker.ops.api import create_app
from gridmaker.ops.hub import Hub
from gridmaker.ops.surface import Surface
from tests.kit.cli import gridmaker, last_json
from tests.kit.waiting import eventually_async
from tests.kit.world import SYMBOL, World, open_world

pytestmark = pytest.mark.integration

TOKEN = "t0ken-for-tests-only"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
URL_SYMBOL = "BTC-USDT"


@dataclass
class Bot:
    world: World
    hub: Hub
    surface: Surface
    api: httpx.AsyncClient
    app: Any
    ts: int = 0

    async def trade(self, *prices: int) -> None:
        """The market prints each price; the bot sees it as a session would show it."""
        for price in prices:
            self.ts += 1
            self.world.sim.apply_trade(SYMBOL, Decimal(price), Decimal(1), self.ts)
            await self.world.orchestrator.on_trade(SYMBOL, Decimal(price), self.ts)

    async def command(self, command: str, request_id: str, symbol: str = SYMBOL) -> Any:
        answer = await self.api.post(
            "/api/commands",
            json={"command": command, "symbol": symbol, "reason": "test", "request_id": request_id},
        )
        assert answer.status_code == 202, answer.text
        return answer.json()

    def orders_at_venue(self) -> int:
        """Every order the venue ever accepted from us (open or not)."""
        return len(self.world.sim.all_orders(SYMBOL))


@asynccontextmanager
async def running_bot(tmp_path: Path, *, token: str = TOKEN) -> AsyncIterator[Bot]:
    world = open_world(tmp_path)
    hub = Hub()
    world.orchestrator.notices = hub
    await world.orchestrator.boot()
    surface = Surface(
        orchestrator=world.orchestrator,
        store=world.store,
        hub=hub,
        token=token,
        started_ms=int(time.time() * 1000),
    )
    app = create_app(surface)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://127.0.0.1", headers=AUTH
    ) as api:
        bot = Bot(world, hub, surface, api, app)
        await bot.trade(50000)
        try:
            yield bot
        finally:
            await world.close()


# --- the token ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}, {"Authorization": "Basic x"}],
    ids=["missing", "wrong", "no-scheme", "basic"],
)
def test_api_without_the_token_is_refused_and_journals_nothing(
    tmp_path: Path, headers: dict[str, str]
) -> None:
    async def main() -> None:
        async with running_bot(tmp_path) as bot:
            # Arrange
            anonymous = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=bot.app),
                base_url="http://127.0.0.1",
                headers=headers,
            )
            body = {"command": "trip", "symbol": SYMBOL, "request_id": "r1"}

            # Act
            async with anonymous:
                posted = await anonymous.post("/api/commands", json=body)
                reads = [await anonymous.get(p) for p in ("/api/status", "/docs", "/nope")]
                health = await anonymous.get("/health")

            # Assert
            for answer in (posted, *reads):
                assert answer.status_code == 401
                assert answer.headers["www-authenticate"] == "Bearer"
                assert TOKEN not in answer.text
            assert bot.world.store.recent_commands(10) == []
            assert health.status_code == 200 and health.json()["status"] == "ok"

    asyncio.run(main())


def test_api_refuses_to_build_without_a_token(tmp_path: Path) -> None:
    async def main() -> None:
        with pytest.raises(ValueError, match="needs a token"):
            async with running_bot(tmp_path, token=""):
                pass

    asyncio.run(main())


def test_api_openapi_lists_the_routes_and_the_bearer_scheme(tmp_path: Path) -> None:
    async def main() -> None:
        async with running_bot(tmp_path) as bot:
            schema = (await bot.api.get("/openapi.json")).json()
            docs = await bot.api.get("/docs")

            assert schema["info"]["title"] == "gridmaker"
            assert schema["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
            assert schema["security"] == [{"bearer": []}]
            assert schema["paths"]["/health"]["get"]["security"] == []
            assert {"/api/status", "/api/commands", "/api/events/stream"} <= schema["paths"].keys()
            assert docs.status_code == 200 and "swagger" in docs.text.lower()

    asyncio.run(main())


def test_api_health_is_booting_then_the_watchdogs_verdict(tmp_path: Path) -> None:
    async def main() -> None:
        world = open_world(tmp_path)
        hub = Hub()
        world.orchestrator.notices = hub
        surface = Surface(
            orchestrator=world.orchestrator, store=world.store, hub=hub, token=TOKEN, started_ms=1
        )
        app = create_app(surface)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1"
        ) as anonymous:
            booting = await anonymous.get("/health")
            await world.orchestrator.boot()
            plain = await anonymous.get("/health")
            verdict = {"status": "failing", "markets": {SYMBOL: {"status": "failing"}}}
            surface.health = lambda: verdict
            failing = await anonymous.get("/health")
        await world.close()

        assert booting.status_code == 200 and booting.json()["status"] == "booting"
        assert booting.json()["markets"][SYMBOL]["status"] == "booting"
        assert plain.status_code == 200 and plain.json()["markets"][SYMBOL]["status"] == "ok"
        assert failing.status_code == 503 and failing.json() == verdict

    asyncio.run(main())


# --- reads --------------------------------------------------------------------------------


def test_api_market_summary_equals_status_json_for_the_same_book(tmp_path: Path) -> None:
    async def main() -> dict[str, Any]:
        async with running_bot(tmp_path) as bot:
            await bot.trade(49800, 50200, 49700)
            answer = await bot.api.get("/api/status")
            assert answer.status_code == 200
            return answer.json()  # type: ignore[no-any-return]

    status = asyncio.run(main())
    cli = last_json(gridmaker("status", "--json", "--data-dir", str(tmp_path)))

    market = status["markets"][SYMBOL]
    assert {k: market[k] for k in cli} == cli
    assert cli["fills"] > 0 and cli["control"] == "trading" and "unrealized_pnl" in cli
    assert status["booted"] is True and status["venue"] == "sim"
    assert market["boot_sync_report"]["matched"] == 0
    assert market["last_sync"]["ms"] > 0 and market["last_sync"]["at"].endswith("+00:00")


def test_api_ladder_shows_every_level_of_the_book_and_the_venue_orders(tmp_path: Path) -> None:
    async def main() -> None:
        async with running_bot(tmp_path) as bot:
            await bot.trade(49800)

            answer = await bot.api.get(f"/api/markets/{URL_SYMBOL}/ladder")

            levels = answer.json()["levels"]
            state = bot.world.orchestrator.state(SYMBOL)
            assert state is not None
            assert [r["level"] for r in levels] == [
                state.slots[t].level for t in sorted(state.slots, reverse=True)
            ]
            open_at_venue = {
                o.client_order_id: o for o in await bot.world.sim.fetch_open_orders(SYMBOL)
            }
            working = {r["client_order_id"]: r for r in levels if r["order"] == "open"}
            assert working.keys() == open_at_venue.keys()
            for cid, row in working.items():
                assert Decimal(row["order_price"]) == open_at_venue[cid].price
                assert Decimal(row["size"]) == open_at_venue[cid].amount
            assert any(r["phase"] == "sell" and Decimal(r["held"]) > 0 for r in levels)

    asyncio.run(main())


def test_api_fills_page_newest_first_to_the_venues_fills(tmp_path: Path) -> None:
    async def main() -> None:
        async with running_bot(tmp_path) as bot:
            await bot.trade(49800, 50200, 49700, 50300)
            seen: list[str] = []
            before: int | None = None

            while True:
                params = {"limit": 2} | ({"before": before} if before else {})
                page = (await bot.api.get(f"/api/markets/{URL_SYMBOL}/fills", params=params)).json()
                seen += [f["trade_id"] for f in page["fills"]]
                before = page["next"]
                if before is None:
                    break

            venue = [f.trade_id for f in bot.world.sim.all_fills(SYMBOL)]
            assert len(venue) > 2 and seen == venue[::-1]
            first = (await bot.api.get(f"/api/markets/{URL_SYMBOL}/fills")).json()["fills"][0]
            assert "E" not in first["price"] and Decimal(first["price"]) > 0

    asyncio.run(main())


@pytest.mark.parametrize("limit", ["0", "1001", "x"])
def test_api_fills_bad_limit_is_422_naming_the_field(tmp_path: Path, limit: str) -> None:
    async def main() -> None:
        async with running_bot(tmp_path) as bot:
            answer = await bot.api.get(f"/api/markets/{SYMBOL}/fills", params={"limit": limit})

            assert answer.status_code == 422
            assert answer.json()["detail"][0]["loc"] == ["query", "limit"]

    asyncio.run(main())


def test_api_unknown_market_is_404_naming_it(tmp_path: Path) -> None:
    async def main() -> None:
        async with running_bot(tmp_path) as bot:
            for path in ("/api/markets/DOGE-USDT", "/api/markets/DOGE/USDT/ladder"):
                answer = await bot.api.get(path)
                assert answer.status_code == 404
                assert "DOGE" in answer.json()["detail"] and SYMBOL in answer.json()["detail"]

    asyncio.run(main())


def test_api_events_are_recent_notices_newest_last_with_plain_prices(tmp_path: Path) -> None:
    async def main() -> None:
        async with running_bot(tmp_path) as bot:
            await bot.trade(49800)

            events = (await bot.api.get("/api/events", params={"limit": 500})).json()["events"]

            assert events[0]["type"] == "boot_synced"
            times = [e["at_ms"] for e in events]
            assert times == sorted(times)
            fill = next(e for e in events if e["type"] == "fill_applied")
            assert fill["price"] == "49875" and fill["symbol"] == SYMBOL

    asyncio.run(main())


def test_api_metrics_are_404_when_off_and_the_body_when_on(tmp_path: Path) -> None:
    async def main() -> None:
        async with running_bot(tmp_path) as bot:
            off = await bot.api.get("/metrics")
            bot.surface.metrics = lambda: (b"gm_fills_total 3\n", "text/plain; version=0.0.4")
            on = await bot.api.get("/metrics")

            assert off.status_code == 404
            assert on.status_code == 200 and on.text == "gm_fills_total 3\n"
            assert on.headers["content-type"].startswith("text/plain")

    asyncio.run(main())


# --- commands -----------------------------------------------------------------------------


def test_api_pause_places_nothing_at_the_venue_until_resumed(tmp_path: Path) -> None:
    async def main() -> None:
        async with running_bot(tmp_path) as bot:
            orch = bot.world.orchestrator
            await bot.trade(49800, 50200)
            posted = await bot.command("pause", "pause-1")
            assert posted["status"] == "pending" and orch.commands_waiting

            await orch.apply_commands(bot.ts)
            placed_before = bot.orders_at_venue()
            fills_before = len(bot.world.sim.all_fills(SYMBOL))
            await bot.trade(49700, 50300, 49600)

            assert len(bot.world.sim.all_fills(SYMBOL)) > fills_before  # working orders filled
            assert bot.orders_at_venue() == placed_before  # ... and nothing new was placed
            record = (await bot.api.get(f"/api/commands/{posted['id']}")).json()
            assert record["status"] == "applied" and record["applied_at"]["ms"] > 0
            market = (await bot.api.get(f"/api/markets/{URL_SYMBOL}")).json()
            assert market["control"] == "paused"

            await bot.command("resume", "resume-1")
            await orch.apply_commands(bot.ts)
            await bot.trade(50000)

            assert bot.orders_at_venue() > placed_before
            market = (await bot.api.get(f"/api/markets/{URL_SYMBOL}")).json()
            assert market["control"] == "trading"

    asyncio.run(main())


def test_api_breaker_trip_and_reset_reach_the_book(tmp_path: Path) -> None:
    async def main() -> None:
        async with running_bot(tmp_path) as bot:
            orch = bot.world.orchestrator
            await bot.command("trip", "trip-1")
            await orch.apply_commands(bot.ts)
            tripped = (await bot.api.get(f"/api/markets/{URL_SYMBOL}")).json()

            await bot.command("reset", "reset-1")
            await orch.apply_commands(bot.ts)
            reset = (await bot.api.get(f"/api/markets/{URL_SYMBOL}")).json()

            assert tripped["breaker"] != "active"
            assert tripped["breaker_details"]["reason"] == "test"
            assert tripped["breaker_details"]["trigger"]
            assert reset["breaker"] == "active" and reset["breaker_details"]["cleared_by"]

    asyncio.run(main())


def test_api_repeated_request_id_is_one_command(tmp_path: Path) -> None:
    async def main() -> None:
        async with running_bot(tmp_path) as bot:
            body = {"command": "pause", "symbol": SYMBOL, "request_id": "once"}
            first = await bot.api.post("/api/commands", json=body)
            again = await bot.api.post("/api/commands", json=body)
            await bot.world.orchestrator.apply_commands(bot.ts)
            after = await bot.api.post("/api/commands", json=body)
            other = await bot.api.post("/api/commands", json=body | {"command": "resume"})

            assert first.status_code == 202
            assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
            assert after.status_code == 200 and after.json()["status"] == "applied"
            assert other.status_code == 409 and "once" in other.json()["detail"]
            listed = (await bot.api.get("/api/commands")).json()["commands"]
            assert [c["id"] for c in listed] == [first.json()["id"]]

    asyncio.run(main())


@pytest.mark.parametrize(
    ("body", "status", "names"),
    [
        ({"command": "explode", "symbol": SYMBOL, "request_id": "a"}, 422, "take_profit_only"),
        ({"command": "stop_leave", "symbol": SYMBOL, "request_id": "a"}, 422, "symbol must be"),
        ({"command": "pause", "symbol": "DOGE/USDT", "request_id": "a"}, 404, "DOGE/USDT"),
        ({"command": "pause", "symbol": SYMBOL, "request_id": ""}, 422, "request_id"),
        ({"command": "pause", "symbol": SYMBOL, "request_id": "x" * 65}, 422, "request_id"),
        ({"command": "pause", "symbol": SYMBOL}, 422, "request_id"),
    ],
    ids=["unknown-command", "stop-one-symbol", "unknown-symbol", "empty-id", "long-id", "no-id"],
)
def test_api_bad_command_is_refused_and_journals_nothing(
    tmp_path: Path, body: dict[str, str], status: int, names: str
) -> None:
    async def main() -> None:
        async with running_bot(tmp_path) as bot:
            answer = await bot.api.post("/api/commands", json=body)

            assert answer.status_code == status
            assert names in answer.text
            assert bot.world.store.recent_commands(10) == []
            assert not bot.world.orchestrator.commands_waiting

    asyncio.run(main())


def test_api_command_with_wait_answers_once_the_loop_applied_it(tmp_path: Path) -> None:
    async def main() -> None:
        async with running_bot(tmp_path) as bot:
            orch = bot.world.orchestrator

            async def session_turns() -> None:  # a session applies commands when woken
                await eventually_async(lambda: orch.commands_waiting, what="a woken loop")
                await orch.apply_commands(bot.ts)

            loop_task = asyncio.create_task(session_turns())
            answer = await bot.api.post(
                "/api/commands",
                params={"wait": 10},
                json={"command": "take_profit_only", "symbol": "*", "request_id": "w"},
            )
            await loop_task

            assert answer.status_code == 200 and answer.json()["status"] == "applied"
            state = orch.state(SYMBOL)
            assert state is not None and state.control.value == "take_profit_only"

    asyncio.run(main())


def test_api_command_with_wait_is_pending_when_the_loop_is_busy(tmp_path: Path) -> None:
    async def main() -> None:
        async with running_bot(tmp_path) as bot:
            answer = await bot.api.post(
                "/api/commands",
                params={"wait": 0.05},
                json={"command": "pause", "symbol": SYMBOL, "request_id": "w"},
            )

            assert answer.status_code == 202 and answer.json()["status"] == "pending"

    asyncio.run(main())


def test_api_stop_leave_sets_the_stop_and_leaves_the_orders(tmp_path: Path) -> None:
    async def main() -> None:
        async with running_bot(tmp_path) as bot:
            orch = bot.world.orchestrator
            open_before = len(await bot.world.sim.fetch_open_orders(SYMBOL))
            await bot.command("stop_leave", "bye", symbol="*")

            await orch.apply_commands(bot.ts)

            assert orch.stop.is_set()
            assert len(await bot.world.sim.fetch_open_orders(SYMBOL)) == open_before > 0

    asyncio.run(main())


# --- the event stream ---------------------------------------------------------------------


@asynccontextmanager
async def served(app: Any) -> AsyncIterator[str]:
    """``app`` on a real uvicorn server on a free loopback port, in this loop."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    await eventually_async(lambda: server.started or task.done(), timeout_s=10, what="uvicorn")
    assert server.started, "uvicorn did not start"
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        app.state.events.close()
        server.should_exit = True
        await asyncio.wait_for(task, 10)


async def _next_event(lines: AsyncIterator[str], wanted: str) -> dict[str, Any]:
    import json

    event = ""
    async for line in lines:
        if line.startswith("event: "):
            event = line.removeprefix("event: ")
        elif line.startswith("data: ") and event == wanted:
            return json.loads(line.removeprefix("data: "))  # type: ignore[no-any-return]
    raise AssertionError(f"the stream ended before a {wanted} event")


def test_api_event_stream_delivers_a_fill(tmp_path: Path) -> None:
    async def main() -> None:
        async with running_bot(tmp_path) as bot:
            async with (
                served(bot.app) as url,
                httpx.AsyncClient(base_url=url, headers=AUTH, timeout=10) as client,
                client.stream("GET", "/api/events/stream") as stream,
            ):
                assert stream.status_code == 200
                assert stream.headers["content-type"].startswith("text/event-stream")
                lines = stream.aiter_lines()
                await bot.trade(49800)

                fill = await asyncio.wait_for(_next_event(lines, "fill_applied"), 10)

            assert fill["symbol"] == SYMBOL and fill["price"] == "49875"

    asyncio.run(main())


def test_api_event_stream_replays_recent_notices(tmp_path: Path) -> None:
    async def main() -> None:
        async with running_bot(tmp_path) as bot:
            async with (
                served(bot.app) as url,
                httpx.AsyncClient(base_url=url, headers=AUTH, timeout=10) as client,
                client.stream("GET", "/api/events/stream", params={"replay": 1}) as stream,
            ):
                # Nothing happens after connecting: what arrives was published before.
                answered = await asyncio.wait_for(
                    _next_event(stream.aiter_lines(), "order_answered"), 10
                )

            assert answered["symbol"] == SYMBOL and answered["outcome"] == "open"

    asyncio.run(main())
