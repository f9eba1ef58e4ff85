"""Alerts reach a real webhook through apprise; a dead or broken one never holds the bot."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import pytest

from gridmaker.engine.notices import BreakerChanged, Lifecycle
from gridmaker.ops.alerts import Alerter
from tests.kit.waiting import eventually_async
from tests.kit.webhook import webhook_receiver

pytestmark = pytest.mark.integration

SYMBOL = "BTC/USDT"


def trip(state: str = "halted") -> BreakerChanged:
    return BreakerChanged(symbol=SYMBOL, breaker=state, trigger="fast_move", reason="fell 12 %")


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def test_alert_reaches_the_webhook_with_title_body_and_type(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)

    async def main() -> None:
        with webhook_receiver() as receiver:
            alerter = Alerter([receiver.url("alerts-t0ken")])
            sender = asyncio.create_task(alerter.run())

            alerter.observe(trip("halted"))
            alerter.observe(trip("active"))
            await eventually_async(lambda: alerter.sent >= 2, timeout_s=20, what="2 sent")
            await stop(sender)
            alerter.close()

            (path, fired), (_, cleared) = receiver.posts
            assert path == "/alerts-t0ken"
            assert "HTTP" in caplog.text  # the senders did log the request...
            assert "t0ken" not in caplog.text  # ...without the URL's secret part
            assert fired["title"] == f"{SYMBOL}: breaker halted (fast_move)"
            assert "breaker reset --symbol" in fired["message"]
            assert fired["type"] == "failure"
            assert cleared["type"] == "success" and cleared["title"].startswith("Resolved:")
            assert (alerter.sent, alerter.failed, alerter.dropped) == (2, 0, 0)

    asyncio.run(main())


def test_hung_webhook_never_blocks_observe_and_the_queue_stays_bounded() -> None:
    async def main() -> None:
        with webhook_receiver("hang") as receiver:
            alerter = Alerter([receiver.url()], queue_size=4, send_timeout_s=0.3)
            sender = asyncio.create_task(alerter.run())

            alerter.observe(Lifecycle(stage="started"))
            await eventually_async(lambda: receiver.arrived >= 1, what="the first request")
            for n in range(50):  # while the sender waits on the hung request
                alerter.observe(Lifecycle(stage="stopping", detail=f"n{n}"))
                assert alerter.queue.qsize() <= 4
            await eventually_async(lambda: alerter.failed >= 1, what="a timed out send")
            receiver.release()
            await stop(sender)
            alerter.close()

            assert alerter.dropped >= 50 - 4 - 1
            assert alerter.sent == 0

    asyncio.run(main())


def test_failing_webhook_is_counted_and_the_next_alert_still_goes() -> None:
    async def main() -> None:
        with webhook_receiver("fail") as receiver:
            alerter = Alerter([receiver.url()])
            sender = asyncio.create_task(alerter.run())

            alerter.observe(Lifecycle(stage="started"))
            alerter.observe(Lifecycle(stage="stopped"))
            await eventually_async(lambda: alerter.failed >= 2, timeout_s=20, what="2 failures")
            assert alerter.failed == 2
            await stop(sender)
            alerter.close()

            assert len(receiver.posts) == 2 and alerter.sent == 0

    asyncio.run(main())


def test_drain_sends_what_is_queued_at_a_clean_stop() -> None:
    async def main() -> None:
        with webhook_receiver() as receiver:
            alerter = Alerter([receiver.url()])
            alerter.observe(Lifecycle(stage="stopping", detail="stop_leave"))
            alerter.observe(Lifecycle(stage="stopped"))

            sent = await alerter.drain(10.0)
            alerter.close()

            assert sent == 2 and alerter.queue.empty()
            assert [b["title"] for b in receiver.bodies()] == [
                "gridmaker is stopping",
                "gridmaker stopped cleanly",
            ]

    asyncio.run(main())


def test_flapping_condition_ending_on_is_sent_by_the_sender_after_its_window() -> None:
    async def main() -> None:
        with webhook_receiver() as receiver:
            alerter = Alerter([receiver.url()], repeat_after_s=0.3)
            sender = asyncio.create_task(alerter.run())

            for state in ("halted", "active", "halted", "active", "halted"):
                alerter.observe(trip(state))
            await eventually_async(lambda: alerter.sent >= 3, timeout_s=20, what="3 sent")
            await stop(sender)
            alerter.close()

            titles = [b["title"] for b in receiver.bodies()]
            assert titles[0] == titles[2] == f"{SYMBOL}: breaker halted (fast_move)"
            assert titles[1].startswith("Resolved:")
            assert "still on" in receiver.bodies()[2]["message"]
            assert alerter.sent == 3

    asyncio.run(main())
