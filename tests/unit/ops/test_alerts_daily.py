"""The daily summary: once a day at its UTC time, with the fills since the last one."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from gridmaker.ops.alert_daily import DailySummary, parse_daily_time
from gridmaker.ops.alerts import Alerter
from tests.kit.world import SYMBOL, open_world


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 7, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.mark.parametrize("value", ["8:00", "24:00", "08:60", "0800", "", "08:00:00"])
def test_parse_daily_time_bad_value_names_the_field(value: str) -> None:
    with pytest.raises(ValueError, match=r"alerts\.daily_summary_utc must be HH:MM"):
        parse_daily_time(value)


def test_parse_daily_time_reads_utc_hours_and_minutes() -> None:
    at = parse_daily_time(" 23:05 ")

    assert (at.hour, at.minute, at.tzinfo) == (23, 5, UTC)


def test_summary_sent_once_a_day_at_its_time_with_new_fills(tmp_path: Path) -> None:
    async def main() -> None:
        world = open_world(tmp_path)
        try:
            await world.orchestrator.boot()
            await world.orchestrator.on_trade(SYMBOL, Decimal("50000"), 1)
            clock, alerter = Clock(), Alerter([])
            daily = DailySummary(world.orchestrator, alerter, "08:00", clock=clock)

            assert not daily.tick()  # 07:00: not yet (and never at start)
            world.sim.apply_trade(SYMBOL, Decimal("49800"), Decimal("1"), 2)  # fills buys
            await world.orchestrator.on_trade(SYMBOL, Decimal("49800"), 2)
            clock.now += timedelta(hours=1)
            first = daily.tick()
            second = daily.tick()
            clock.now += timedelta(days=1)
            next_day = daily.tick()

            assert (first, second, next_day) == (True, False, True)
            notes = [alerter.queue.get_nowait() for _ in range(alerter.queue.qsize())]
            assert [n.title for n in notes] == [
                "gridmaker daily summary 2026-03-01",
                "gridmaker daily summary 2026-03-02",
            ]
            fills = world.orchestrator.state(SYMBOL).fills  # type: ignore[union-attr]
            assert fills > 0
            assert notes[0].body.startswith(f"{SYMBOL}: {fills} new fills ({fills} in all")
            assert notes[1].body.startswith(f"{SYMBOL}: 0 new fills ({fills} in all")
            assert "realized PnL" in notes[0].body and "E+" not in notes[0].body
        finally:
            await world.close()

    asyncio.run(main())
