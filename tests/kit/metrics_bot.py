"""A bot on the in-process SimExchange with its notices fanned to a ``Metrics``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from gridmaker.ops.hub import Hub
from gridmaker.ops.metrics import Metrics
from tests.kit.prometheus import Samples, samples
from tests.kit.world import SYMBOL, World, open_world

ZIGZAG = (50000, 49800, 49600, 49400, 49600, 49800, 50000, 50200, 50400, 50200, 50000)
"""Prices that cross several levels both ways: buys fill, then their counter-sells."""


@dataclass
class MetricsBot:
    world: World
    hub: Hub
    metrics: Metrics

    def scrape(self) -> Samples:
        body, _ = self.metrics.render()
        return samples(body)

    async def trade(self, prices: tuple[int, ...] = ZIGZAG, start_ts: int = 1) -> int:
        """Print each price on the venue and hand it to the bot; returns the next ts."""
        ts = start_ts
        for price in prices:
            self.world.sim.apply_trade(SYMBOL, Decimal(price), Decimal("0.5"), ts)
            await self.world.orchestrator.on_trade(SYMBOL, Decimal(price), ts)
            ts += 1
        await self.world.orchestrator.poll_fills(SYMBOL)
        return ts


@asynccontextmanager
async def metrics_bot(
    data_dir: Path, before_boot: Callable[[World], None] | None = None
) -> AsyncIterator[MetricsBot]:
    """A booted bot whose every notice reaches a fresh ``Metrics`` (its own registry);
    ``before_boot`` acts on the venue while the bot is still down."""
    world = open_world(data_dir)
    if before_boot is not None:
        before_boot(world)
    hub = Hub()
    world.orchestrator.notices = hub
    metrics = Metrics(world.orchestrator, retrier=world.orchestrator.retrier, exchange=world.sim)
    hub.subscribe(metrics.observe)
    try:
        await world.orchestrator.boot()
        yield MetricsBot(world, hub, metrics)
    finally:
        await world.close()
