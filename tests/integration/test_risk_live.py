"""The breaker through the orchestrator, the store and the simulated exchange."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest

from gridmaker.config import Config
from tests.kit.world import SYMBOL, open_world, venue_totals

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("engine")]


def test_stop_loss_sale_empties_the_inventory_and_matches_the_venue(tmp_path: Path) -> None:
    async def main() -> None:
        # Arrange: a neutral grid holding inventory, a stop-loss at 49,000 with a 2 % sale.
        cfg = Config.model_validate(
            {"markets": [{"risk": {"stop_loss": "49000", "stop_loss_sell": "2%"}}]}
        )
        world = open_world(tmp_path, cfg)
        await world.orchestrator.boot()
        prices = ["50000", "49800", "49500", "49200", "48900", "48800"]

        # Act: the market falls through the stop.
        for i, price in enumerate(prices):
            world.sim.apply_trade(SYMBOL, Decimal(price), Decimal("0.5"), i)
            await world.orchestrator.on_trade(SYMBOL, Decimal(price), i)
        await world.orchestrator.poll_fills(SYMBOL)

        # Assert
        state = world.orchestrator.state(SYMBOL)
        assert state is not None
        assert state.risk.breaker.value == "halted" and state.risk.trigger == "stop_loss"
        assert sum(s.position_steps for s in state.slots.values()) + state.dust_steps == 0
        assert not [o for o in world.sim.all_orders(SYMBOL) if o.status.value == "open"]
        takers = [f for f in world.sim.all_fills(SYMBOL) if not f.is_maker]
        assert takers and {f.side.value for f in takers} == {"sell"}
        inst = state.instrument
        bot = inst.from_steps(state.base_steps), inst.from_atoms(state.quote_atoms)
        assert bot == await venue_totals(world.sim)
        await world.close()

    asyncio.run(main())
