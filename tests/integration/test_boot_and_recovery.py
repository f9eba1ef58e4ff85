"""Orchestrator + SimExchange + the store: sessions, restarts, fills while down, crashes.

The store is SQLite; ``both_stores`` runs a test on PostgreSQL too (a fresh database each).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from gridmaker.config import Config
from gridmaker.core.events import Side
from gridmaker.engine.retry import Retrier, RetryPolicy
from gridmaker.engine.sessions.market import run_market_session
from gridmaker.exchange.api import Exchange, ExchangeOrder, MalformedResponse, OrderRequest
from gridmaker.exchange.sim import SimExchange
from gridmaker.store import StateCorrupt, Store
from tests.kit.world import (
    SYMBOL,
    World,
    both_stores,
    config,
    drop_store,
    feed,
    open_levels_sides,
    open_world,
    venue_totals,
)

pytestmark = pytest.mark.integration
parity = pytest.mark.usefixtures("engine")
"""Runs the test once per engine (``simple``, ``durable``): see conftest.py."""


async def _session(world: World, steps: int, seed: int = 1) -> None:
    await world.orchestrator.boot()
    await run_market_session(
        world.orchestrator, world.sim, feed(world.config, seed), SYMBOL, steps=steps
    )


def _bot_totals(world: World) -> tuple[Decimal, Decimal]:
    state = world.orchestrator.state(SYMBOL)
    assert state is not None
    inst = state.instrument
    return inst.from_steps(state.base_steps), inst.from_atoms(state.quote_atoms)


def _assert_book_matches_venue(world: World) -> None:
    state = world.orchestrator.state(SYMBOL)
    assert state is not None
    live = {s.order_cid for s in state.slots.values() if s.has_live_order}
    venue_open = {
        o.client_order_id for o in world.sim.all_orders(SYMBOL) if o.status.value == "open"
    }
    assert live == venue_open
    counts = Counter(open_levels_sides(world.sim))
    assert all(n == 1 for n in counts.values()), counts


def test_session_trades_both_sides_and_balances_match_the_venue(tmp_path: Path) -> None:
    async def main() -> None:
        # Arrange
        world = open_world(tmp_path)

        # Act
        await _session(world, 3000)

        # Assert
        state = world.orchestrator.state(SYMBOL)
        assert state is not None and state.buy_fills > 0 and state.sell_fills > 0
        assert _bot_totals(world) == await venue_totals(world.sim)
        assert world.store.fill_count(SYMBOL) == state.fills == len(world.sim.all_fills(SYMBOL))
        _assert_book_matches_venue(world)
        await world.close()

    asyncio.run(main())


@both_stores
def test_restart_resumes_without_duplicate_orders_and_counts_continue(tmp_path: Path) -> None:
    async def main() -> None:
        # Arrange
        first = open_world(tmp_path)
        await _session(first, 2000)
        fills_before = first.orchestrator.state(SYMBOL).fills  # type: ignore[union-attr]
        await first.close()

        # Act
        second = open_world(tmp_path)
        await _session(second, 2000)

        # Assert
        state = second.orchestrator.state(SYMBOL)
        assert state is not None and state.fills > fills_before
        assert second.sim.feed_position(SYMBOL) == 4000
        assert second.orchestrator.report(SYMBOL).counts()["zombies"] == 0
        _assert_book_matches_venue(second)
        assert _bot_totals(second) == await venue_totals(second.sim)
        await second.close()

    asyncio.run(main())


class _CountsBalanceReads:
    """The simulator, counting the balance reads made through it."""

    def __init__(self, sim: SimExchange) -> None:
        self.sim = sim
        self.reads = 0

    async def fetch_balances(self) -> object:
        self.reads += 1
        return await self.sim.fetch_balances()

    def __getattr__(self, name: str) -> object:
        return getattr(self.sim, name)


def test_restart_of_a_stored_book_does_not_read_balances(tmp_path: Path) -> None:
    async def main() -> None:
        # Arrange: a new book is sized on the balances it reads
        counted: list[_CountsBalanceReads] = []

        def counting(sim: SimExchange) -> Exchange:
            counted.append(_CountsBalanceReads(sim))
            return counted[-1]  # type: ignore[return-value]

        first = open_world(tmp_path, wrap=counting)
        await _session(first, 500)
        await first.close()

        # Act: the restart continues the stored book
        second = open_world(tmp_path, wrap=counting)
        await _session(second, 500)

        # Assert
        assert [c.reads for c in counted] == [1, 0]
        _assert_book_matches_venue(second)
        assert _bot_totals(second) == await venue_totals(second.sim)
        await second.close()

    asyncio.run(main())


@parity
@both_stores
def test_fills_while_down_are_applied_at_boot_and_answered(tmp_path: Path) -> None:
    async def main() -> None:
        # Arrange: the bot stops; the market keeps printing through its orders.
        first = open_world(tmp_path)
        await _session(first, 500)
        state = first.orchestrator.state(SYMBOL)
        assert state is not None
        best_buy = max(
            s.order_price_ticks for s in state.slots.values() if s.order_side is Side.BUY
        )
        fills_before = state.fills
        await first.close()
        venue = SimExchange(
            instruments=[state.instrument], initial_balances={}, path=tmp_path / "exchange.sqlite"
        )
        price = state.instrument.from_ticks(best_buy - 1)
        offline = venue.apply_trade(SYMBOL, price, Decimal("1"), 1)
        venue.close_sync()
        assert offline

        # Act
        second = open_world(tmp_path)
        await second.orchestrator.boot()

        # Assert
        after = second.orchestrator.state(SYMBOL)
        assert after is not None
        assert after.fills == fills_before + len(offline)
        assert second.orchestrator.report(SYMBOL).counts()["ghost_fills"] == len(offline)
        sells = {
            s.order_price_ticks
            for s in after.slots.values()
            if s.has_live_order and s.order_side is Side.SELL
        }
        assert best_buy + state.grid.spacing_ticks in sells  # the counter-order went out
        _assert_book_matches_venue(second)
        assert _bot_totals(second) == await venue_totals(second.sim)
        await second.close()

    asyncio.run(main())


class Crash(BaseException):
    """The process dies here (not an Exception: nothing may catch it)."""


class CrashingVenue:
    """Delegates to the real venue and dies around the n-th order placement."""

    def __init__(self, inner: SimExchange, *, at: int, after_send: bool) -> None:
        self.inner = inner
        self.at = at
        self.after_send = after_send
        self.places = 0

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    async def place_order(self, request: OrderRequest) -> ExchangeOrder:
        self.places += 1
        if self.places == self.at and not self.after_send:
            raise Crash
        order = await self.inner.place_order(request)
        if self.places == self.at:
            raise Crash
        return order


CRASHES = [
    pytest.param(at, after, store, id=f"{at}-{'after' if after else 'before'}-send-{store}")
    for at, after, store in [
        *((at, after, "sqlite") for at in (1, 7, 25, 41) for after in (False, True)),
        (25, True, "postgresql"),
    ]
]
"""Where the process dies: every point on SQLite; on PostgreSQL, once after a send (the
order is at the venue, its answer lost: the store's intent is what finds it again)."""


@parity
@pytest.mark.usefixtures("store_backend")
@pytest.mark.parametrize(("at", "after_send", "store_backend"), CRASHES, indirect=["store_backend"])
def test_crash_around_a_send_places_each_order_once(tmp_path: Path, at: int, after_send: bool):
    async def main() -> None:
        # Arrange
        def wrap(sim: SimExchange) -> Exchange:
            return CrashingVenue(sim, at=at, after_send=after_send)  # type: ignore[return-value]

        crashed = open_world(tmp_path, wrap=wrap)
        with pytest.raises(Crash):
            await _session(crashed, 1500)
        drop_store(crashed.store)  # a dead process closes nothing cleanly
        crashed.sim.close_sync()

        # Act: the boot is what re-finds the crashed intent; a few hundred trades after it
        # re-place filled levels too (the rest of the crashed session's feed proves no more).
        revived = open_world(tmp_path)
        await _session(revived, 400)

        # Assert: every id reached the venue once; the book and the venue agree.
        placed = Counter(o.client_order_id for o in revived.sim.all_orders(SYMBOL))
        assert placed and max(placed.values()) == 1
        _assert_book_matches_venue(revived)
        assert _bot_totals(revived) == await venue_totals(revived.sim)
        await revived.close()

    asyncio.run(main())


@parity
def test_flipped_byte_in_stored_state_is_refused(tmp_path: Path) -> None:
    async def main() -> None:
        world = open_world(tmp_path)
        await _session(world, 200)
        await world.close()

    asyncio.run(main())
    # Arrange: flip one character of the stored JSON inside the database file.
    path = tmp_path / "gridmaker.sqlite"
    raw = bytearray(path.read_bytes())
    at = raw.find(b'"realized_pnl_atoms":')
    assert at > 0
    digit = at + len(b'"realized_pnl_atoms":')
    raw[digit] = ord("7") if raw[digit] != ord("7") else ord("8")
    path.write_bytes(bytes(raw))

    # Act / Assert
    store = Store(path)
    with pytest.raises(StateCorrupt, match="fails its checksum"):
        store.load_book(SYMBOL)
    store.close()


@parity
@both_stores
def test_changed_grid_config_is_refused_at_boot(tmp_path: Path) -> None:
    from gridmaker.engine.orchestrator import BootRefused

    async def main() -> None:
        world = open_world(tmp_path)
        await _session(world, 100)
        await world.close()
        changed = open_world(tmp_path, config(order_size=Decimal("0.002")))
        with pytest.raises(BootRefused, match="does not match"):
            await changed.orchestrator.boot()
        await changed.close()

    asyncio.run(main())


def test_changed_trigger_of_a_grid_still_waiting_is_refused_at_boot(tmp_path: Path) -> None:
    from gridmaker.engine.orchestrator import BootRefused

    async def main() -> None:
        world = open_world(tmp_path, config(trigger_price=Decimal("60000")))
        await _session(world, 100)
        assert world.orchestrator.state("BTC/USDT") is not None
        assert not world.orchestrator.state("BTC/USDT").is_started  # type: ignore[union-attr]
        await world.close()
        changed = open_world(tmp_path, config(trigger_price=Decimal("61000")))
        with pytest.raises(BootRefused, match="trigger_price"):
            await changed.orchestrator.boot()
        await changed.close()

    asyncio.run(main())


@parity
def test_book_without_state_refuses_a_venue_with_our_open_orders(tmp_path: Path) -> None:
    from gridmaker.engine.orchestrator import BootRefused

    async def main() -> None:
        world = open_world(tmp_path)
        await _session(world, 100)
        await world.close()
        (tmp_path / "gridmaker.sqlite").unlink()
        fresh = open_world(tmp_path)
        with pytest.raises(BootRefused, match="no stored state"):
            await fresh.orchestrator.boot()
        await fresh.close()

    asyncio.run(main())


class JunkOrdersFor:
    """The real venue, except that one symbol's open orders always come back as junk."""

    def __init__(self, inner: SimExchange, symbol: str) -> None:
        self.inner = inner
        self.symbol = symbol
        self.junk_answers = 0

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    async def fetch_open_orders(self, symbol: str) -> list[ExchangeOrder]:
        if symbol == self.symbol:
            self.junk_answers += 1
            raise MalformedResponse("200 with an HTML body", symbol=symbol)
        return list(await self.inner.fetch_open_orders(symbol))


@parity
def test_symbol_with_malformed_snapshot_does_not_trade_and_others_do(tmp_path: Path) -> None:
    async def main() -> None:
        # Arrange
        cfg = Config.model_validate(
            {
                "sim": {
                    "balances": {"BTC": "1", "ETH": "10", "USDT": "100000"},
                    "instruments": {"BTC/USDT": {}, "ETH/USDT": {"min_notional": "1"}},
                },
                "markets": [{"symbol": "BTC/USDT"}, {"symbol": "ETH/USDT", "order_size": "0.01"}],
            }
        )
        junk: list[JunkOrdersFor] = []

        def wrap(sim: SimExchange) -> Exchange:
            junk.append(JunkOrdersFor(sim, "ETH/USDT"))
            return junk[0]  # type: ignore[return-value]

        world = open_world(tmp_path, cfg, wrap=wrap)
        world.orchestrator.retrier = Retrier(RetryPolicy(attempts=3, base_delay_s=0.0))

        # Act
        await world.orchestrator.boot()
        for symbol, price in (("BTC/USDT", "50000"), ("ETH/USDT", "3000")):
            world.sim.apply_trade(symbol, Decimal(price), Decimal("0.1"), 1)
            await world.orchestrator.on_trade(symbol, Decimal(price), 1)

        # Assert: ETH never read as "no orders", never traded; BTC trades.
        assert "boot sync failed" in world.orchestrator.halted("ETH/USDT")
        assert junk[0].junk_answers == 3
        assert world.sim.all_orders("ETH/USDT") == []
        assert len(world.sim.all_orders("BTC/USDT")) == 40
        boot = world.store.last_boot("ETH/USDT")
        assert boot is not None and "200 with an HTML body" in boot.halted
        await world.close()

    asyncio.run(main())
