"""A real venue's path: prices polled from the venue (no stream) drive the bot.

The market moves on its own at the HTTP simulator (trades printed on its exchange, not by
the bot); the bot only sees what the real ccxt client fetches.
"""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from pathlib import Path

import pytest

from gridmaker.config import MarketConfig, book_setup
from gridmaker.engine.orchestrator import GridOrchestrator
from gridmaker.engine.sessions.live import run_live_session
from gridmaker.engine.simple import SimpleExecutor
from gridmaker.store import Store
from tests.kit.http_venue import SYMBOL, new_sim, running_server, venue

pytestmark = pytest.mark.integration


async def _until(probe: object, deadline_s: float = 20.0) -> None:
    stop = time.monotonic() + deadline_s
    while not probe():  # type: ignore[operator]
        if time.monotonic() > stop:
            raise AssertionError("timed out waiting for the bot to see the price")
        await asyncio.sleep(0.01)


def test_polled_prices_drive_the_grid_and_fills_match_the_venue(tmp_path: Path) -> None:
    async def main() -> None:
        # Arrange
        sim = new_sim()
        sim.apply_trade(SYMBOL, Decimal("50000"), Decimal("0.1"), 0)
        async with running_server(sim) as (_, url):
            client = venue(url)
            assert not client.has_streams  # the simulator has no websocket: REST polling
            instrument = await client.fetch_instrument(SYMBOL)
            executor = SimpleExecutor(store=Store(tmp_path / "gm.sqlite"), exchange=client)
            setup = book_setup(MarketConfig(), instrument)
            orch = GridOrchestrator(exchange=client, executor=executor, setups=[setup])
            await orch.boot()
            session = asyncio.create_task(
                run_live_session(
                    orch,
                    client,
                    [SYMBOL],
                    steps=None,
                    duration_s=120,
                    reconcile_every=5,
                    poll_interval_s=0.01,
                )
            )

            # Act: the market zig-zags across several levels, one print at a time.
            prices = [50000, 49800, 49600, 49400, 49600, 49800, 50000, 50200, 50400, 50200, 50000]
            for i, price in enumerate(prices * 2, start=1):
                sim.apply_trade(SYMBOL, Decimal(price), Decimal("0.5"), i)
                ticks = instrument.to_ticks(Decimal(price))
                await _until(
                    lambda t=ticks: (
                        (s := orch.state(SYMBOL)) is not None and s.last_price_ticks == t
                    )
                )
            session.cancel()
            with pytest.raises(asyncio.CancelledError):
                await session
            await orch.poll_fills(SYMBOL)

            # Assert: the bot traded both ways and agrees with the venue's own records.
            state = orch.state(SYMBOL)
            assert state is not None and state.buy_fills > 0 and state.sell_fills > 0
            assert executor.store.fill_count(SYMBOL) == len(sim.all_fills(SYMBOL))
            balances = await sim.fetch_balances()
            assert instrument.from_steps(state.base_steps) == balances["BTC"].total
            assert instrument.from_atoms(state.quote_atoms) == balances["USDT"].total
            live = {s.order_cid for s in state.slots.values() if s.has_live_order}
            assert live == {o.client_order_id for o in await sim.fetch_open_orders(SYMBOL)}
            await executor.close()
            await client.close()

    asyncio.run(main())
