"""The audit against the venue counts what really diverges: an order the venue filled since
the last fill poll is not missing (its fill is on its way), one cancelled behind the bot's
back is."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest

from gridmaker.core.events import Side
from gridmaker.core.slots import OrderState
from gridmaker.engine.notices import Audited, Notice
from gridmaker.ops.hub import Hub
from tests.kit.world import SYMBOL, open_world

pytestmark = pytest.mark.integration


def _audits(hub: Hub) -> list[Audited]:
    return [n for n in hub.recent if isinstance(n, Audited)]


def test_an_order_filled_since_the_last_poll_is_not_missing_at_the_audit(
    tmp_path: Path,
) -> None:
    async def main() -> tuple[list[Audited], int, int]:
        world = open_world(tmp_path)
        hub = Hub()
        world.orchestrator.notices = hub
        try:
            orch = world.orchestrator
            await orch.boot()
            await orch.on_trade(SYMBOL, Decimal(50000), 1)
            state = orch.state(SYMBOL)
            assert state is not None
            best_buy = max(
                s.order_price_ticks
                for s in state.slots.values()
                if s.order is OrderState.OPEN and s.order_side is Side.BUY
            )
            price = state.instrument.tick_size * best_buy
            fills_before = state.buy_fills

            # Act: the venue fills the best buy; the bot has not heard of it when it audits
            world.sim.apply_trade(SYMBOL, price, Decimal("0.5"), 2)
            await orch.audit_orders(SYMBOL)
            after = orch.state(SYMBOL)
            assert after is not None
            return _audits(hub), fills_before, after.buy_fills
        finally:
            await world.close()

    audits, fills_before, fills_after = asyncio.run(main())

    # Assert: nothing diverged, and the audit's lookup brought the fill in
    assert [a.missing for a in audits] == [0]
    assert fills_after == fills_before + 1


def test_an_order_cancelled_behind_the_bots_back_is_missing_at_the_audit(tmp_path: Path) -> None:
    seen: list[Notice] = []

    async def main() -> None:
        world = open_world(tmp_path)
        hub = Hub()
        hub.subscribe(seen.append)
        world.orchestrator.notices = hub
        try:
            orch = world.orchestrator
            await orch.boot()
            await orch.on_trade(SYMBOL, Decimal(50000), 1)
            state = orch.state(SYMBOL)
            assert state is not None
            victim = next(s.order_cid for s in state.slots.values() if s.order is OrderState.OPEN)

            # Act
            await world.sim.cancel_order(SYMBOL, victim)
            await orch.audit_orders(SYMBOL)
        finally:
            await world.close()

    asyncio.run(main())

    # Assert
    audits = [n for n in seen if isinstance(n, Audited)]
    assert [a.missing for a in audits] == [1]
    assert audits[0].open_at_venue == audits[0].expected - 1
