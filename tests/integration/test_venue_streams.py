"""A real venue's streams through ccxt.pro: the simulator's websockets drive the bot.

The market moves on the simulator on its own; the bot hears of it only through the real ccxt
client: the ticker stream for prices, the user-data stream for its orders, REST for records.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from gridmaker.cli.venue import VenueChoice, run_sessions
from gridmaker.config import MarketConfig, book_setup
from gridmaker.core.events import Side
from gridmaker.core.state import GridState
from gridmaker.core.units import Instrument
from gridmaker.engine.orchestrator import GridOrchestrator
from gridmaker.engine.retry import Retrier, RetryPolicy
from gridmaker.engine.sessions.live import run_live_session
from gridmaker.engine.simple import SimpleExecutor
from gridmaker.exchange.api import Banned, OrderRequest, RateLimited
from gridmaker.exchange.ccxt import CcxtExchange, RateBudget
from gridmaker.exchange.faults import FaultKind, FaultPlan
from gridmaker.exchange.sim import SimExchange
from gridmaker.exchange.sim.http import BinanceSimServer
from gridmaker.store import Store
from tests import kit
from tests.kit.http_venue import SYMBOL, new_sim, running_server, venue
from tests.kit.waiting import eventually_async, eventually_coro

pytestmark = pytest.mark.integration

ZIGZAG = (50000, 49800, 49600, 49400, 49600, 49800, 50000, 50200, 50400, 50200, 50000)


@dataclass
class Bot:
    sim: SimExchange
    server: BinanceSimServer
    client: CcxtExchange
    orch: GridOrchestrator
    executor: SimpleExecutor
    instrument: Instrument
    boot_polls: int = 0

    def state(self) -> GridState:
        state = self.orch.state(SYMBOL)
        assert state is not None
        return state

    def sees(self, price: int) -> bool:
        state = self.orch.state(SYMBOL)
        return state is not None and state.last_price_ticks == self.instrument.to_ticks(
            Decimal(price)
        )

    def listens_for_orders(self) -> bool:
        """ccxt.pro waits on the order news, not only subscribed: an event that arrives between
        the subscription's ack and this wait only fills ccxt's cache, and signals no one."""
        clients = self.client.client.clients.values()
        return any(h.startswith("orders") for c in clients for h in c.futures)

    def rest_ticker_polls(self) -> int:
        """REST ticker reads since the boot (whose sync reads one)."""
        return self.server.stats.calls["GET ticker/24hr"] - self.boot_polls

    async def settled(self) -> bool:
        """The grid is placed and the venue agrees with the book."""
        return bool(await self.sim.fetch_open_orders(SYMBOL)) and await self.venue_agrees()

    async def venue_agrees(self) -> bool:
        """The book's live orders and balances are the venue's own."""
        state = self.state()
        live = {s.order_cid for s in state.slots.values() if s.has_live_order}
        open_at_venue = {o.client_order_id for o in await self.sim.fetch_open_orders(SYMBOL)}
        balances = await self.sim.fetch_balances()
        return (
            live == open_at_venue
            and self.instrument.from_steps(state.base_steps) == balances["BTC"].total
            and self.instrument.from_atoms(state.quote_atoms) == balances["USDT"].total
        )


@asynccontextmanager
async def live_bot(tmp_path: Path, **session: Any) -> AsyncIterator[Bot]:
    """A bot trading the simulator through ccxt.pro, its live session running."""
    sim = new_sim()
    sim.apply_trade(SYMBOL, Decimal("50000"), Decimal("0.1"), 0)
    async with running_server(sim) as (server, url):
        client = venue(url, streams=True)
        instrument = await client.fetch_instrument(SYMBOL)
        # A short retry policy: a test of outages should not wait out the real one's backoff.
        retrier = Retrier(RetryPolicy(attempts=3, base_delay_s=0.01, max_delay_s=0.05))
        executor = SimpleExecutor(
            store=Store(tmp_path / "gm.sqlite"), exchange=client, retrier=retrier
        )
        setup = book_setup(MarketConfig(), instrument)
        orch = GridOrchestrator(exchange=client, executor=executor, setups=[setup], retrier=retrier)
        bot = Bot(sim, server, client, orch, executor, instrument)
        try:
            await orch.boot()
            bot.boot_polls = bot.rest_ticker_polls()
            # No periodic catch-up unless a test asks: each test names the path it relies on.
            session.setdefault("reconcile_interval_s", 3600)
            if not session.pop("stream_prices", True):
                # Prices will not come: create the book here, at the venue's last price.
                server.streams.accept_public = False
                await orch.on_trade(SYMBOL, Decimal("50000"), 0)
            task = asyncio.create_task(
                run_live_session(
                    orch,
                    client,
                    [SYMBOL],
                    steps=None,
                    duration_s=120,
                    reconcile_every=session.pop("reconcile_every", 1_000_000),
                    **session,
                )
            )
            try:
                yield bot
                assert not task.done(), f"the session ended early: {task}"
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        finally:
            await executor.close()
            await client.close()


async def _walk(bot: Bot, prices: Sequence[int], start_ts: int = 1) -> None:
    """Print each price on the venue and wait until the bot has seen it."""
    for i, price in enumerate(prices, start=start_ts):
        bot.sim.apply_trade(SYMBOL, Decimal(price), Decimal("0.5"), i)
        await eventually_async(partial(bot.sees, price), what=f"the bot to see {price}")


def test_streamed_prices_drive_the_grid_and_nothing_is_polled(tmp_path: Path) -> None:
    async def main() -> None:
        async with live_bot(tmp_path, poll_interval_s=0.01) as bot:
            await eventually_async(lambda: bot.orch.state(SYMBOL), what="the first price")

            await _walk(bot, ZIGZAG * 2)
            await bot.orch.poll_fills(SYMBOL)

            state = bot.state()
            assert state.buy_fills > 0 and state.sell_fills > 0
            assert bot.rest_ticker_polls() == 0  # every price came over the websocket
            assert bot.server.streams.counts["ticker_events"] >= len(ZIGZAG) * 2
            assert bot.executor.store.fill_count(SYMBOL) == len(bot.sim.all_fills(SYMBOL))
            assert await bot.venue_agrees()

    asyncio.run(main())


def test_a_fill_reaches_the_bot_through_the_order_stream_alone(tmp_path: Path) -> None:
    async def main() -> None:
        # Arrange: no price will reach the bot (ticker stream refused, polls an hour apart)
        # and the periodic reconcile never comes: only the user-data stream can tell.
        async with live_bot(tmp_path, stream_prices=False, poll_interval_s=3600) as bot:
            best_buy = max(
                (o for o in await bot.sim.fetch_open_orders(SYMBOL) if o.side is Side.BUY),
                key=lambda o: o.price,
            )
            await eventually_async(
                lambda: (
                    bot.server.streams.counts["order_events"] == 0
                    and len(bot.server.streams._user) == 1
                    and bot.listens_for_orders()
                ),  # subscribed and listened to, nothing sent yet
                what="the user-data stream to be subscribed and listened to",
            )

            # Act: the market trades through the best buy.
            bot.sim.apply_trade(SYMBOL, best_buy.price, Decimal("1"), 1)

            # Assert: the fill is recorded and answered by a sell one level up.
            await eventually_async(
                lambda: bot.executor.store.fill_count(SYMBOL) == 1, what="the fill recorded"
            )
            await eventually_async(lambda: bot.state().buy_fills == 1, what="the fill applied")
            sells = [o for o in await bot.sim.fetch_open_orders(SYMBOL) if o.side is Side.SELL]
            assert min(o.price for o in sells) > best_buy.price
            assert bot.rest_ticker_polls() == 0 and not bot.sees(int(best_buy.price))
            assert await bot.venue_agrees()

    asyncio.run(main())


def test_an_order_cancelled_at_the_venue_is_noticed_and_replaced(tmp_path: Path) -> None:
    async def main() -> None:
        async with live_bot(tmp_path, poll_interval_s=0.01) as bot:
            await eventually_async(lambda: bot.orch.state(SYMBOL), what="the first price")
            await eventually_async(
                lambda: len(bot.server.streams._user) == 1, what="the user-data stream"
            )
            await eventually_coro(bot.settled, what="the grid placed")
            victim = min(await bot.sim.fetch_open_orders(SYMBOL), key=lambda o: o.price)

            # Act: someone cancels one of the bot's orders by hand on the venue; no price
            # moves and no periodic reconcile is due.
            await bot.sim.cancel_order(SYMBOL, victim.client_order_id)

            # Assert: the bot looked it up and no longer counts on it...
            def forgotten() -> bool:
                slots = bot.state().slots.values()
                return not any(
                    s.order_cid == victim.client_order_id and s.has_live_order for s in slots
                )

            await eventually_async(forgotten, what="the book to drop the cancelled order")
            assert await bot.venue_agrees()
            # ...and works the level again, with a fresh client id, once the price moves on.
            await _walk(bot, [49800])
            await eventually_coro(
                lambda: _has_new_order_at(bot, victim.price, victim.client_order_id),
                what="a new order at the cancelled level",
            )
            assert bot.sim.place_calls[victim.client_order_id] == 1
            assert await bot.venue_agrees()

    asyncio.run(main())


async def _has_new_order_at(bot: Bot, price: Decimal, old_cid: str) -> bool:
    cids = {o.price: o.client_order_id for o in await bot.sim.fetch_open_orders(SYMBOL)}
    return cids.get(price) not in (None, old_cid)


def test_broken_streams_fall_back_to_polling_and_come_back(tmp_path: Path) -> None:
    async def main() -> None:
        async with live_bot(tmp_path, poll_interval_s=0.01, stream_backoff_s=(0.05,)) as bot:
            await eventually_async(lambda: bot.orch.state(SYMBOL), what="the first price")
            streams = bot.server.streams

            # Act 1: both streams go down and stay down; the market moves and fills the bot.
            streams.accept_public = streams.accept_user = False
            assert await streams.drop_all() == 2
            await _walk(bot, ZIGZAG)

            # Assert 1: prices came from REST polls, fills from REST, and the venue agrees.
            assert bot.rest_ticker_polls() > 0
            assert streams.counts["user_refused"] > 0  # the order stream kept trying
            await eventually_async(
                lambda: bot.executor.store.fill_count(SYMBOL) == len(bot.sim.all_fills(SYMBOL)),
                what="every fill recorded",
            )
            assert bot.state().buy_fills > 0 and bot.state().sell_fills > 0

            # Act 2: the venue's streams are back.
            streams.accept_public = streams.accept_user = True
            await eventually_async(
                lambda: len(streams._public) == 1 and len(streams._user) == 1,
                what="both streams reconnected",
            )
            polls = bot.rest_ticker_polls()
            await _walk(bot, ZIGZAG[1:], start_ts=100)

            # Assert 2: prices come from the stream again; nothing was lost on the way.
            assert bot.rest_ticker_polls() == polls
            await bot.orch.poll_fills(SYMBOL)
            assert bot.executor.store.fill_count(SYMBOL) == len(bot.sim.all_fills(SYMBOL))
            assert await bot.venue_agrees()

    asyncio.run(main())


def test_each_market_of_a_live_venue_trades_at_once(tmp_path: Path) -> None:
    async def main() -> None:
        # Arrange: two markets at one venue; the bot runs until stopped.
        eth = kit.instrument(symbol="ETH/USDT", base="ETH")
        sim = SimExchange(
            instruments=[kit.instrument(), eth],
            initial_balances={"BTC": Decimal(1), "ETH": Decimal(10), "USDT": Decimal(200000)},
        )
        sim.apply_trade(SYMBOL, Decimal("50000"), Decimal("0.1"), 0)
        sim.apply_trade("ETH/USDT", Decimal("3000"), Decimal("1"), 0)
        async with running_server(sim, symbols=[SYMBOL, "ETH/USDT"]) as (_, url):
            client = venue(url, streams=True)
            executor = SimpleExecutor(store=Store(tmp_path / "gm.sqlite"), exchange=client)
            setups = [
                book_setup(MarketConfig(symbol=s, order_size=size), inst)
                for s, size, inst in (
                    (SYMBOL, Decimal("0.001"), await client.fetch_instrument(SYMBOL)),
                    ("ETH/USDT", Decimal("0.01"), await client.fetch_instrument("ETH/USDT")),
                )
            ]
            orch = GridOrchestrator(exchange=client, executor=executor, setups=setups)
            choice = VenueChoice(exchange_id="binance", base_url=url, poll_interval_s=0.01)
            try:
                await orch.boot()
                sessions = asyncio.create_task(
                    run_sessions(
                        choice,
                        False,
                        orch,
                        client,
                        {s.symbol: (None, None) for s in setups},
                        steps=None,
                        duration_s=None,
                        reconcile_every=1_000_000,
                    )
                )

                # Act: only the second market moves.
                async def eth_buys_placed() -> bool:
                    orders = await sim.fetch_open_orders("ETH/USDT")
                    return any(o.side is Side.BUY and o.price >= 2950 for o in orders)

                await eventually_coro(eth_buys_placed, what="ETH's grid placed")
                sim.apply_trade("ETH/USDT", Decimal("2950"), Decimal("5"), 1)

                # Assert: its session answered while the first market's runs on, unended.
                await eventually_async(
                    lambda: (s := orch.state("ETH/USDT")) is not None and s.buy_fills > 0,
                    what="ETH's buy filled",
                )
                assert orch.state(SYMBOL) is not None and not sessions.done()
                sessions.cancel()
                await asyncio.gather(sessions, return_exceptions=True)
            finally:
                await executor.close()
                await client.close()

    asyncio.run(main())


def test_a_quiet_market_is_reconciled_on_a_timer(tmp_path: Path) -> None:
    async def main() -> None:
        # Arrange: no prices, no order stream: only the timer can find the fill.
        session = {"poll_interval_s": 3600, "watch_orders": False, "reconcile_interval_s": 0.2}
        async with live_bot(tmp_path, stream_prices=False, **session) as bot:
            best_buy = max(
                (o for o in await bot.sim.fetch_open_orders(SYMBOL) if o.side is Side.BUY),
                key=lambda o: o.price,
            )

            # Act
            bot.sim.apply_trade(SYMBOL, best_buy.price, Decimal("1"), 1)

            # Assert
            await eventually_async(lambda: bot.state().buy_fills == 1, what="the fill applied")
            assert bot.server.streams.counts["user_connections"] == 0
            await eventually_coro(bot.venue_agrees, what="the counter-order placed")

    asyncio.run(main())


def test_an_order_cancelled_while_the_user_stream_is_down_is_found(tmp_path: Path) -> None:
    async def main() -> None:
        async with live_bot(tmp_path, poll_interval_s=0.01, stream_backoff_s=(0.05,)) as bot:
            await eventually_async(lambda: bot.orch.state(SYMBOL), what="the first price")
            await eventually_coro(bot.settled, what="the grid placed")
            streams = bot.server.streams
            streams.accept_user = False
            await streams.drop_all()
            await eventually_async(
                lambda: streams.counts["user_refused"] > 0, what="the stream down"
            )
            victim = min(await bot.sim.fetch_open_orders(SYMBOL), key=lambda o: o.price)

            # Act: the order is cancelled by hand while no stream could tell the bot.
            await bot.sim.cancel_order(SYMBOL, victim.client_order_id)

            # Assert: the catch-ups after the stream's breaks compare open orders and find it.
            def forgotten() -> bool:
                return not any(
                    s.order_cid == victim.client_order_id and s.has_live_order
                    for s in bot.state().slots.values()
                )

            await eventually_async(forgotten, what="the book to drop the cancelled order")
            assert streams.counts["user_refused"] > 0
            assert await bot.venue_agrees()

    asyncio.run(main())


def test_a_venue_outage_is_waited_out_not_fatal(tmp_path: Path) -> None:
    async def main() -> None:
        session = {"poll_interval_s": 0.01, "reconcile_interval_s": 0.1}
        async with live_bot(tmp_path, **session) as bot:
            await eventually_async(lambda: bot.orch.state(SYMBOL), what="the first price")
            await eventually_coro(bot.settled, what="the grid placed")

            # Act 1: every REST request fails (HTML 5xx) for a while; catch-ups keep failing.
            bot.server.set_chaos(FaultPlan.wire(rate=1.0, kinds=(FaultKind.UNAVAILABLE,)))
            await eventually_async(
                lambda: bot.server.stats.faults["5xx"] >= 20, what="failed catch-ups"
            )
            # Act 2: the venue is back; the market trades through the best buy.
            bot.server.set_chaos(None)
            best_buy = max(
                (o for o in await bot.sim.fetch_open_orders(SYMBOL) if o.side is Side.BUY),
                key=lambda o: o.price,
            )
            bot.sim.apply_trade(SYMBOL, best_buy.price, Decimal("1"), 1)

            # Assert: the same session trades on (live_bot checks it has not ended).
            await eventually_async(lambda: bot.state().buy_fills >= 1, what="the fill applied")
            await eventually_coro(bot.venue_agrees, what="the counter-order placed")

    asyncio.run(main())


@asynccontextmanager
async def _streaming(budget: RateBudget) -> AsyncIterator[tuple[BinanceSimServer, CcxtExchange]]:
    """The simulator at 50000 and a streaming client spending from ``budget``."""
    sim = new_sim()
    sim.apply_trade(SYMBOL, Decimal("50000"), Decimal("0.1"), 0)
    async with running_server(sim) as (server, url):
        client = venue(url, streams=True, budget=budget)
        try:
            yield server, client
        finally:
            await client.close()


def test_a_spent_rate_budget_refuses_requests_but_never_breaks_a_stream(tmp_path: Path) -> None:
    async def main() -> None:
        budget = RateBudget(limit=100)
        async with _streaming(budget) as (server, client):
            first = await asyncio.wait_for(client.watch_last_price(SYMBOL), timeout=10)
            budget.spend(budget.limit - budget.used)  # the key's window is full

            # Act: a price prints while nothing may be sent
            server.sim.apply_trade(SYMBOL, Decimal("50100"), Decimal("0.1"), 1)
            streamed = await asyncio.wait_for(client.watch_last_price(SYMBOL), timeout=10)

            # Assert: the stream delivered it; a request is still refused, unsent
            assert (first, streamed) == (Decimal("50000"), Decimal("50100"))
            sent = server.stats.requests
            with pytest.raises(RateLimited):
                await client.fetch_last_price(SYMBOL)
            assert server.stats.requests == sent and budget.used == budget.limit

    asyncio.run(main())


def test_a_banned_key_stops_a_stream_and_a_reserve_still_lets_orders_out(tmp_path: Path) -> None:
    async def main() -> None:
        budget = RateBudget(limit=100, reserve=0.5)
        async with _streaming(budget) as (server, client):
            await client.fetch_instrument(SYMBOL)
            budget.spend(50 - budget.used)  # routine requests have spent their half

            # Act 1: a read is refused, an order (a write) may use the reserve
            with pytest.raises(RateLimited):
                await client.fetch_open_orders(SYMBOL)
            order = OrderRequest(
                symbol=SYMBOL,
                client_order_id="gmreserve1",
                side=Side.BUY,
                price=Decimal("49000"),
                amount=Decimal("0.001"),
            )
            placed = await client.place_order(order)

            # Act 2: the venue bans the key (HTTP 418)
            budget.observe(418, {})
            with pytest.raises(Banned):
                await client.watch_last_price(SYMBOL)

            # Assert
            assert placed.client_order_id == "gmreserve1"
            assert server.sim.place_calls["gmreserve1"] == 1

    asyncio.run(main())
