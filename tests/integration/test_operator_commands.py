"""Operator commands through the store and the one loop, across restarts: a stop that
cancelled ends that run only; a stop queued while no bot ran is spent without effect; one
queued through the API while the bot boots waits for the loop."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest

from gridmaker.core.state import Control
from tests.kit.world import SYMBOL, open_levels_sides, open_world

pytestmark = pytest.mark.integration


async def _booted_and_trading(data_dir: Path) -> None:
    world = open_world(data_dir)
    try:
        await world.orchestrator.boot()
        await world.orchestrator.on_trade(SYMBOL, Decimal(50000), 1)
        assert open_levels_sides(world.sim)
    finally:
        await world.close()


def test_a_stop_that_cancelled_ends_that_run_only(tmp_path: Path) -> None:
    async def main() -> tuple[int, int, Control | None, int]:
        await _booted_and_trading(tmp_path)
        world = open_world(tmp_path)
        try:
            orch = world.orchestrator
            await orch.boot()
            world.store.add_request("*", "stop_cancel", "going away", "req-stop")
            await orch.apply_commands(2)
            stopped = len(open_levels_sides(world.sim))
            assert orch.stop.is_set()
        finally:
            await world.close()
        again = open_world(tmp_path)  # the next run
        try:
            await again.orchestrator.boot()
            state = again.orchestrator.state(SYMBOL)
            working = len(open_levels_sides(again.sim))
            pending = len(again.store.pending_commands())
            return stopped, working, None if state is None else state.control, pending
        finally:
            await again.close()

    stopped, working, control, pending = asyncio.run(main())

    assert stopped == 0  # every order of ours cancelled at the venue
    assert control is Control.TRADING
    assert working > 0  # the next run placed its grid again
    assert pending == 0


def test_a_stop_queued_while_no_bot_ran_is_spent_and_the_bot_trades(tmp_path: Path) -> None:
    async def main() -> tuple[bool, int, int]:
        await _booted_and_trading(tmp_path)
        world = open_world(tmp_path)
        try:
            world.store.add_request("*", "stop_cancel", "stale", "req-old")
            orch = world.orchestrator
            await orch.boot()
            await orch.apply_commands(2)
            return (
                orch.stop.is_set(),
                len(open_levels_sides(world.sim)),
                len(world.store.pending_commands()),
            )
        finally:
            await world.close()

    stopped, working, pending = asyncio.run(main())

    assert not stopped
    assert working > 0
    assert pending == 0


def test_a_stop_sent_while_the_bot_boots_is_applied_by_the_loop(tmp_path: Path) -> None:
    async def main() -> tuple[int, bool, int]:
        await _booted_and_trading(tmp_path)
        world = open_world(tmp_path)
        try:
            orch = world.orchestrator
            orch.take_commands_at_rest()  # the API comes up here, before the boot
            command_id = world.store.add_request("*", "stop_leave", "", "req-during-boot")
            await orch.boot()
            still_pending = len(world.store.pending_commands())
            await orch.apply_commands(2)
            record = world.store.command(command_id)
            assert record is not None
            return still_pending, orch.stop.is_set(), len(open_levels_sides(world.sim))
        finally:
            await world.close()

    still_pending, stopped, working = asyncio.run(main())

    assert still_pending == 1  # the boot left it to the loop
    assert stopped
    assert working > 0  # stop_leave left the orders working
