"""The watchdog over a real orchestrator on the in-process simulator: progress, not process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path

import pytest

from gridmaker.engine.notices import SourceChanged, now_ms
from gridmaker.ops.alerts import Alert, Alerter
from gridmaker.ops.hub import Hub
from gridmaker.ops.watchdog import Watchdog, WatchdogSettings, load_deadman_url
from tests.kit.waiting import eventually_async
from tests.kit.webhook import webhook_receiver
from tests.kit.world import SYMBOL, World, open_world

SETTINGS = WatchdogSettings(price_stale_s=60, price_dead_s=300, empty_grace_s=30)


class Later:
    """The wall clock, pushed forward by the test (the book's times are real)."""

    def __init__(self) -> None:
        self.ahead_s = 0.0

    def __call__(self) -> int:
        return now_ms() + int(self.ahead_s * 1000)


@asynccontextmanager
async def trading(tmp_path: Path, price: str = "50000") -> AsyncIterator[World]:
    """A booted bot whose grid was placed at ``price``."""
    world = open_world(tmp_path)
    try:
        await world.orchestrator.boot()
        await world.orchestrator.on_trade(SYMBOL, Decimal(price), 1)
        yield world
    finally:
        await world.close()


async def cancel_everything_at_the_venue(world: World) -> None:
    for order in await world.sim.fetch_open_orders(SYMBOL):
        await world.sim.cancel_order(SYMBOL, order.client_order_id)


def market(watchdog: Watchdog) -> dict[str, object]:
    verdict = watchdog.verdict()
    entry = verdict["markets"][SYMBOL]
    return {"overall": verdict["status"], **entry}


def queued(alerter: Alerter) -> list[Alert]:
    out = []
    while not alerter.queue.empty():
        out.append(alerter.queue.get_nowait())
    return out


def test_verdict_before_boot_is_booting(tmp_path: Path) -> None:
    async def main() -> None:
        world = open_world(tmp_path)
        try:
            assert market(Watchdog(world.orchestrator, SETTINGS))["status"] == "booting"
        finally:
            await world.close()

    asyncio.run(main())


def test_verdict_fresh_price_and_resting_orders_is_ok(tmp_path: Path) -> None:
    async def main() -> None:
        async with trading(tmp_path) as world:
            verdict = Watchdog(world.orchestrator, SETTINGS).check()

            assert verdict["status"] == "ok" and verdict["progressing"]
            assert verdict["markets"] == {SYMBOL: {"status": "ok", "reasons": []}}

    asyncio.run(main())


def test_verdict_no_price_past_thresholds_degrades_then_fails(tmp_path: Path) -> None:
    async def main() -> None:
        async with trading(tmp_path) as world:
            clock = Later()
            watchdog = Watchdog(world.orchestrator, SETTINGS, clock=clock)

            clock.ahead_s = 59
            assert market(watchdog)["status"] == "ok"
            clock.ahead_s = 61
            degraded = market(watchdog)
            clock.ahead_s = 301
            failing = market(watchdog)
            await world.orchestrator.on_trade(SYMBOL, Decimal("50001"), 2)
            clock.ahead_s = 0
            again = market(watchdog)

            assert (degraded["overall"], degraded["status"]) == ("degraded", "degraded")
            assert "no price for 6" in degraded["reasons"][0]  # type: ignore[index]
            assert failing["status"] == "failing"
            assert again["status"] == "ok"

    asyncio.run(main())


def test_verdict_orders_cancelled_at_venue_with_price_inside_grid_fails(tmp_path: Path) -> None:
    async def main() -> None:
        async with trading(tmp_path) as world:
            clock = Later()
            watchdog = Watchdog(world.orchestrator, SETTINGS, clock=clock)
            await cancel_everything_at_the_venue(world)
            await world.orchestrator.audit_orders(SYMBOL)
            await world.orchestrator.on_trade(SYMBOL, Decimal("50001"), 2)  # same level

            first = market(watchdog)
            clock.ahead_s = 31
            await world.orchestrator.on_trade(SYMBOL, Decimal("50002"), 3)  # prices stay fresh
            later = market(watchdog)

            assert first["status"] == "degraded"
            assert later["status"] == "failing"
            assert "inside the grid and no order resting at the venue" in str(later["reasons"])
            # The next level's price re-places the grid: ok again.
            await world.orchestrator.on_trade(SYMBOL, Decimal("50130"), 4)
            assert market(watchdog)["status"] == "ok"

    asyncio.run(main())


def test_verdict_audit_finding_nothing_at_venue_counts_as_empty(tmp_path: Path) -> None:
    async def main() -> None:
        async with trading(tmp_path) as world:
            watchdog = Watchdog(world.orchestrator, SETTINGS)
            await cancel_everything_at_the_venue(world)
            sim_lookup = world.executor.lookup

            async def unanswered(symbol: str, cid: str) -> object:
                from gridmaker.core.events import OrderStatus, OrderUpdate

                answer = await sim_lookup(symbol, cid)
                assert isinstance(answer, OrderUpdate)
                return OrderUpdate(
                    symbol=symbol,
                    client_order_id=cid,
                    status=OrderStatus.UNKNOWN,
                    filled_steps=answer.filled_steps,
                    ts_event=answer.ts_event,
                )

            world.executor.lookup = unanswered  # type: ignore[method-assign,assignment]
            await world.orchestrator.audit_orders(SYMBOL)  # the book still thinks they rest

            assert market(watchdog)["status"] == "degraded"
            assert "no order resting" in str(market(watchdog)["reasons"])

    asyncio.run(main())


def test_verdict_breaker_degrades_and_pause_is_ok_but_not_progressing(tmp_path: Path) -> None:
    async def main() -> None:
        async with trading(tmp_path) as world:
            watchdog = Watchdog(world.orchestrator, SETTINGS)
            world.store.add_request(SYMBOL, "pause", "test", "r1")
            await world.orchestrator.apply_commands(2)
            paused = watchdog.check()
            world.store.add_request(SYMBOL, "trip", "test", "r2")
            await world.orchestrator.apply_commands(3)
            tripped = watchdog.check()

            assert paused["status"] == "ok" and not paused["progressing"]
            assert paused["markets"][SYMBOL]["reasons"] == ["paused by the operator"]
            assert tripped["status"] == "degraded"
            assert any("breaker" in r for r in tripped["markets"][SYMBOL]["reasons"])

    asyncio.run(main())


def test_verdict_halted_market_fails_with_its_reason(tmp_path: Path) -> None:
    async def main() -> None:
        async with trading(tmp_path) as world:
            watchdog = Watchdog(world.orchestrator, SETTINGS)
            await world.orchestrator.halt_all("banned by the exchange: 418", 2)

            assert market(watchdog)["status"] == "failing"
            assert "banned by the exchange" in str(market(watchdog)["reasons"])

    asyncio.run(main())


def test_verdict_stream_fallen_back_to_polling_degrades_until_it_returns(tmp_path: Path) -> None:
    async def main() -> None:
        async with trading(tmp_path) as world:
            watchdog = Watchdog(world.orchestrator, SETTINGS)
            watchdog.observe(SourceChanged(symbol=SYMBOL, source="stream", reason="connected"))
            watchdog.observe(
                SourceChanged(symbol=SYMBOL, source="polling", reason="stalled for 30 s")
            )
            stalled = market(watchdog)
            watchdog.observe(SourceChanged(symbol=SYMBOL, source="stream", reason="recovered"))

            assert stalled["status"] == "degraded"
            assert "stalled for 30 s" in str(stalled["reasons"])
            assert market(watchdog)["status"] == "ok"

    asyncio.run(main())


def test_verdict_polling_from_the_start_is_ok(tmp_path: Path) -> None:
    async def main() -> None:
        async with trading(tmp_path) as world:
            watchdog = Watchdog(world.orchestrator, SETTINGS)
            watchdog.observe(SourceChanged(symbol=SYMBOL, source="polling", reason="no stream"))

            assert market(watchdog)["status"] == "ok"

    asyncio.run(main())


def test_check_fires_liveness_escalates_and_recovers_once(tmp_path: Path) -> None:
    async def main() -> None:
        async with trading(tmp_path) as world:
            clock, alerter = Later(), Alerter([])
            watchdog = Watchdog(world.orchestrator, SETTINGS, alerter, clock=clock)

            for ahead in (61, 62, 301, 302):
                clock.ahead_s = ahead
                watchdog.check()
            clock.ahead_s = 0
            await world.orchestrator.on_trade(SYMBOL, Decimal("50001"), 2)
            watchdog.check()
            watchdog.check()

            sent = queued(alerter)
            assert [(a.key, a.severity, a.resolved) for a in sent] == [
                (f"liveness:{SYMBOL}", "warning", False),
                (f"liveness:{SYMBOL}", "critical", False),
                (f"liveness:{SYMBOL}", "info", True),
            ]
            assert "no price for" in sent[0].title

    asyncio.run(main())


def test_run_pings_deadman_while_ok_and_not_while_failing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    async def main() -> None:
        async with trading(tmp_path) as world:
            with webhook_receiver() as receiver:
                clock = Later()
                settings = WatchdogSettings(
                    check_every_s=0.02,
                    deadman_url=receiver.http_url("ping/abc-s3cret"),
                    deadman_every_s=0.05,
                )
                watchdog = Watchdog(world.orchestrator, settings, clock=clock)
                task = asyncio.create_task(watchdog.run())
                try:
                    await eventually_async(lambda: len(receiver.gets) >= 2, what="2 pings")
                    clock.ahead_s = 400  # no price for 400 s: failing
                    checks = watchdog.checks
                    await eventually_async(lambda: watchdog.checks >= checks + 2, what="checks")
                    pinged = len(receiver.gets)
                    await eventually_async(lambda: watchdog.checks >= checks + 12, what="checks")
                finally:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task

                watchdog.close()
                assert receiver.gets[0] == "/ping/abc-s3cret"
                assert "abc-s3cret" not in caplog.text
                assert len(receiver.gets) == pinged
                assert watchdog.ping_failures == 0

    asyncio.run(main())


def test_settings_bad_thresholds_are_refused_naming_the_field() -> None:
    with pytest.raises(ValueError, match=r"watchdog\.price_stale_s must be"):
        WatchdogSettings(price_stale_s=0)
    with pytest.raises(ValueError, match=r"price_dead_s must be >= watchdog\.price_stale_s"):
        WatchdogSettings(price_stale_s=60, price_dead_s=30)
    with pytest.raises(ValueError, match=r"decision_stale_s must be >= 0"):
        WatchdogSettings(decision_stale_s=-1)


def test_load_deadman_url_from_env_or_file_and_refused_without_echo(tmp_path: Path) -> None:
    file = tmp_path / "deadman.txt"
    file.write_text("# hc-ping\n\nhttps://hc.example/secret-uuid\n", encoding="utf-8")

    assert load_deadman_url(" https://a.example/x ", file) == "https://a.example/x"
    assert load_deadman_url(None, file) == "https://hc.example/secret-uuid"
    assert load_deadman_url(None, None) == ""
    with pytest.raises(ValueError) as error:
        load_deadman_url("ftp://secret-uuid", None)
    assert "GRIDMAKER_DEADMAN_URL must start with http" in str(error.value)
    assert "secret-uuid" not in str(error.value)


def test_check_breaker_or_halt_sends_no_liveness_alert_of_its_own(tmp_path: Path) -> None:
    async def main() -> None:
        async with trading(tmp_path) as world:
            alerter = Alerter([])
            watchdog = Watchdog(world.orchestrator, SETTINGS, alerter)
            world.store.add_request(SYMBOL, "trip", "test", "r1")
            await world.orchestrator.apply_commands(2)
            tripped = watchdog.check()
            await world.orchestrator.halt_all("banned by the exchange: 418", 3)
            halted = watchdog.check()

            assert (tripped["status"], halted["status"]) == ("degraded", "failing")
            assert [a.key for a in queued(alerter)] == []  # the alert rules tell these

    asyncio.run(main())


def test_verdict_reads_the_source_from_the_book_when_notices_were_missed(
    tmp_path: Path,
) -> None:
    async def main() -> None:
        async with trading(tmp_path) as world:
            watchdog = Watchdog(world.orchestrator, SETTINGS)  # subscribed to nothing
            world.orchestrator.note_source(SYMBOL, "stream", "connected")
            streaming = market(watchdog)
            world.orchestrator.note_source(SYMBOL, "polling", "silent for 30 s")
            polled = market(watchdog)

            assert streaming["status"] == "ok"
            assert polled["status"] == "degraded"
            assert "prices are polled" in str(polled["reasons"])

    asyncio.run(main())


def test_run_checks_at_once_when_the_price_source_changes(tmp_path: Path) -> None:
    async def main() -> None:
        async with trading(tmp_path) as world:
            alerter = Alerter([])
            settings = WatchdogSettings(check_every_s=600)
            watchdog = Watchdog(world.orchestrator, settings, alerter)
            task = asyncio.create_task(watchdog.run())
            try:
                await eventually_async(lambda: watchdog.checks >= 1, what="the first check")
                hub = Hub()
                hub.subscribe(watchdog.observe)
                world.orchestrator.notices = hub
                world.orchestrator.note_source(SYMBOL, "stream", "up")
                world.orchestrator.note_source(SYMBOL, "polling", "silent for 30 s")
                await eventually_async(lambda: not alerter.queue.empty(), what="an alert")
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

            alert = alerter.queue.get_nowait()
            assert alert.key == f"liveness:{SYMBOL}" and alert.severity == "warning"
            assert "silent for 30 s" in alert.title

    asyncio.run(main())


def test_verdict_polling_on_a_venue_with_streams_degrades_from_the_start(
    tmp_path: Path,
) -> None:
    async def main() -> None:
        async with trading(tmp_path) as world:
            watchdog = Watchdog(world.orchestrator, SETTINGS)
            hub = Hub()
            hub.subscribe(watchdog.observe)
            world.orchestrator.notices = hub
            world.sim.has_streams = True  # type: ignore[attr-defined]
            world.orchestrator.note_source(SYMBOL, "polling", "the stream failed: refused")

            assert market(watchdog)["status"] == "degraded"
            assert "the stream failed: refused" in str(market(watchdog)["reasons"])

    asyncio.run(main())


def test_verdict_no_decision_for_long_degrades(tmp_path: Path) -> None:
    async def main() -> None:
        async with trading(tmp_path) as world:
            clock = Later()
            settings = WatchdogSettings(price_stale_s=1000, price_dead_s=2000, decision_stale_s=100)
            watchdog = Watchdog(world.orchestrator, settings, clock=clock)

            clock.ahead_s = 99
            before = market(watchdog)
            clock.ahead_s = 101
            after = market(watchdog)

            assert before["status"] == "ok"
            assert after["status"] == "degraded"
            reasons = after["reasons"]
            assert isinstance(reasons, list) and len(reasons) == 1
            assert reasons[0].startswith("no decision for 10")

    asyncio.run(main())
