"""A venue whose lookups lag behind its writes: "not found" right after sending is no proof.

The danger: a placement times out after the venue took it; the lookup by client id does not
see the order yet; the order fills; sending the id again would then create a second order (a
closed id is accepted anew). With the venue's ``lookup_grace_s`` the order stays UNKNOWN and
is asked again later, when the venue shows it, filled.
"""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from pathlib import Path

import pytest

from gridmaker.config import MarketConfig, book_setup
from gridmaker.core.slots import OrderState
from gridmaker.engine.orchestrator import GridOrchestrator
from gridmaker.engine.simple import SimpleExecutor
from gridmaker.exchange.api import ExchangeOrder, NotFound, OrderRequest, UnknownOutcome
from gridmaker.exchange.sim import SimExchange
from gridmaker.store import Store
from tests.kit.http_venue import SYMBOL, new_sim
from tests.kit.waiting import eventually_coro

pytestmark = pytest.mark.integration

LAG_S = 0.4
"""How long the venue hides a new order from lookups."""


class LaggingVenue(SimExchange):
    """The first placement executes but its answer is lost; lookups miss new orders for LAG_S."""

    lookup_grace_s = 1.0

    def __init__(self) -> None:
        base = new_sim()
        super().__init__(
            instruments=[base.instrument(SYMBOL)],
            initial_balances={"BTC": Decimal(1), "USDT": Decimal(100000)},
        )
        self.ambiguous_cid = ""
        self._placed_at: dict[str, float] = {}

    async def place_order(self, request: OrderRequest) -> ExchangeOrder:
        order = await super().place_order(request)
        self._placed_at.setdefault(request.client_order_id, time.monotonic())
        if not self.ambiguous_cid:
            self.ambiguous_cid = request.client_order_id
            raise UnknownOutcome("timed out after executing", symbol=request.symbol)
        return order

    async def fetch_order(self, symbol: str, client_order_id: str) -> ExchangeOrder:
        placed = self._placed_at.get(client_order_id)
        if placed is not None and time.monotonic() - placed < LAG_S:
            raise NotFound("Order does not exist.", symbol=symbol)
        return await super().fetch_order(symbol, client_order_id)


def test_an_order_not_visible_yet_is_not_sent_twice_even_once_it_filled(tmp_path: Path) -> None:
    async def main() -> None:
        # Arrange: the grid goes out; one placement's answer is lost, its order invisible.
        venue = LaggingVenue()
        venue.apply_trade(SYMBOL, Decimal("50000"), Decimal("0.1"), 0)
        executor = SimpleExecutor(store=Store(tmp_path / "gm.sqlite"), exchange=venue)
        setup = book_setup(MarketConfig(), venue.instrument(SYMBOL))
        orch = GridOrchestrator(exchange=venue, executor=executor, setups=[setup])
        await orch.boot()
        await orch.on_trade(SYMBOL, Decimal("50000"), 0)  # the immediate lookups miss it
        cid = venue.ambiguous_cid
        slot = next(s for s in orch.state(SYMBOL).slots.values() if s.order_cid == cid)  # type: ignore[union-attr]
        assert slot.order is OrderState.UNKNOWN

        # Act: the hidden order fills; the bot asks again while it is still hidden, then later.
        order = next(o for o in venue.all_orders(SYMBOL) if o.client_order_id == cid)
        venue.apply_trade(SYMBOL, order.price, Decimal("1"), 1)
        await orch.resolve_unknown(SYMBOL)

        async def resolved() -> bool:
            await orch.resolve_unknown(SYMBOL)
            await orch.poll_fills(SYMBOL)
            state = orch.state(SYMBOL)
            assert state is not None
            return all(s.order is not OrderState.UNKNOWN for s in state.slots.values())

        await eventually_coro(resolved, timeout_s=10, what="the hidden order to be resolved")

        # Assert: sent once, its fill applied once, and the book agrees with the venue.
        assert venue.place_calls[cid] == 1
        assert [o.client_order_id for o in venue.all_orders(SYMBOL)].count(cid) == 1
        assert executor.store.fill_count(SYMBOL) == len(venue.all_fills(SYMBOL))
        state = orch.state(SYMBOL)
        assert state is not None
        live = {s.order_cid for s in state.slots.values() if s.has_live_order}
        assert live == {o.client_order_id for o in await venue.fetch_open_orders(SYMBOL)}
        await executor.close()

    asyncio.run(main())
