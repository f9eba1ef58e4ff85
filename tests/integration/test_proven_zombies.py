"""A zombie is proven by a lookup, never assumed; queued commands are spent with their book;
fills repeated at a page boundary count once."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from gridmaker.core.events import Side
from gridmaker.core.risk import BreakerState
from gridmaker.core.slots import OrderState
from gridmaker.engine.sessions.market import run_market_session
from gridmaker.exchange.api import Exchange, FillPage, Unavailable
from gridmaker.exchange.sim import SimExchange
from gridmaker.store import Store
from tests.kit.world import SYMBOL, World, feed, open_world, venue_totals

pytestmark = pytest.mark.integration


async def _traded(tmp_path: Path, steps: int = 500) -> tuple[World, int]:
    """A session that stopped; returns it (closed) and its best buy's price in ticks."""
    world = open_world(tmp_path)
    await world.orchestrator.boot()
    await run_market_session(world.orchestrator, world.sim, feed(world.config), SYMBOL, steps=steps)
    state = world.orchestrator.state(SYMBOL)
    assert state is not None
    best_buy = max(s.order_price_ticks for s in state.slots.values() if s.order_side is Side.BUY)
    await world.close()
    return world, best_buy


def _fill_offline(tmp_path: Path, world: World, price_ticks: int) -> int:
    """The market prints through our best buy while the bot is down; returns the fills made."""
    state = world.orchestrator.state(SYMBOL)
    assert state is not None
    venue = SimExchange(
        instruments=[state.instrument], initial_balances={}, path=tmp_path / "exchange.sqlite"
    )
    fills = venue.apply_trade(SYMBOL, state.instrument.from_ticks(price_ticks - 1), Decimal(1), 1)
    venue.close_sync()
    return len(fills)


def _move_cursor_past_everything(tmp_path: Path) -> None:
    """The book's fill cursor runs ahead of the venue's history (a cursor of another venue)."""
    store = Store(tmp_path / "gridmaker.sqlite")
    state = store.load_book(SYMBOL)
    assert state is not None
    store.commit(replace(state, fill_cursor="999999999"))
    store.close()


def test_boot_order_gone_that_filled_behind_a_stale_cursor_is_a_ghost_fill(tmp_path: Path) -> None:
    async def main() -> None:
        # Arrange
        first, best_buy = await _traded(tmp_path)
        fills_before = first.orchestrator.state(SYMBOL).fills  # type: ignore[union-attr]
        offline = _fill_offline(tmp_path, first, best_buy)
        _move_cursor_past_everything(tmp_path)

        # Act
        second = open_world(tmp_path)
        await second.orchestrator.boot()

        # Assert: applied from the venue's trades, not called a zombie; books agree.
        report = second.orchestrator.report(SYMBOL).counts()
        state = second.orchestrator.state(SYMBOL)
        assert state is not None
        assert (report["zombies"], report["ghost_fills"]) == (0, offline)
        assert state.fills == fills_before + offline
        base = state.instrument.from_steps(state.base_steps)
        assert (base, state.instrument.from_atoms(state.quote_atoms)) == await venue_totals(
            second.sim
        )
        await second.close()

    asyncio.run(main())


class _Through:
    """The venue as it is, but for the methods a subclass overrides."""

    def __init__(self, inner: Exchange) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)


class _HistoryHidden(_Through):
    """A venue whose trade history lacks every fill (a venue that lost it, or the wrong one)."""

    async def fetch_fills(self, symbol: str, cursor: str, limit: int = 500) -> FillPage:
        return FillPage(fills=(), cursor=cursor)


def test_boot_order_filled_whose_trades_cannot_be_found_stops_the_symbol(tmp_path: Path) -> None:
    async def main() -> None:
        # Arrange
        first, best_buy = await _traded(tmp_path)
        stored = first.orchestrator.state(SYMBOL)
        assert stored is not None
        _fill_offline(tmp_path, first, best_buy)

        # Act
        second = open_world(tmp_path, wrap=_HistoryHidden)  # type: ignore[arg-type]
        await second.orchestrator.boot()

        # Assert: not trading, nothing re-placed, the book as it was.
        assert "history does not show" in second.orchestrator.halted(SYMBOL)
        assert second.store.load_book(SYMBOL) == stored
        placed = second.sim.place_calls
        await second.orchestrator.on_trade(SYMBOL, Decimal("40000"), 1)
        assert second.sim.place_calls == placed
        await second.close()

    asyncio.run(main())


def test_boot_order_cancelled_behind_our_back_is_a_proven_zombie(tmp_path: Path) -> None:
    async def main() -> None:
        # Arrange
        first, best_buy = await _traded(tmp_path)
        state = first.orchestrator.state(SYMBOL)
        assert state is not None
        slot = next(s for s in state.slots.values() if s.order_price_ticks == best_buy)
        venue = SimExchange(
            instruments=[state.instrument], initial_balances={}, path=tmp_path / "exchange.sqlite"
        )
        await venue.cancel_order(SYMBOL, slot.order_cid)
        venue.close_sync()

        # Act
        second = open_world(tmp_path)
        await second.orchestrator.boot()

        # Assert
        report = second.orchestrator.report(SYMBOL)
        assert report.zombies == (slot.order_cid,)
        after = second.orchestrator.state(SYMBOL)
        assert after is not None
        assert after.slots[slot.buy_ticks].cycle == slot.cycle + 1
        await second.close()

    asyncio.run(main())


class _LookupsDown(_Through):
    """A venue whose order lookups fail while everything else answers."""

    async def fetch_order(self, symbol: str, client_order_id: str) -> object:
        raise Unavailable("lookups are down", symbol=symbol)


def test_boot_order_gone_whose_lookup_fails_is_left_unknown_not_freed(tmp_path: Path) -> None:
    async def main() -> None:
        # Arrange: an order vanished while down, and the venue cannot say what became of it.
        first, best_buy = await _traded(tmp_path)
        state = first.orchestrator.state(SYMBOL)
        assert state is not None
        slot = next(s for s in state.slots.values() if s.order_price_ticks == best_buy)
        venue = SimExchange(
            instruments=[state.instrument], initial_balances={}, path=tmp_path / "exchange.sqlite"
        )
        await venue.cancel_order(SYMBOL, slot.order_cid)
        venue.close_sync()

        # Act
        from gridmaker.engine.retry import Retrier, RetryPolicy

        second = open_world(tmp_path, wrap=_LookupsDown)  # type: ignore[arg-type]
        quick = Retrier(policy=RetryPolicy(attempts=2, base_delay_s=0.0, max_delay_s=0.0))
        second.orchestrator.retrier = quick
        second.executor.sender.retrier = quick  # type: ignore[attr-defined]
        await second.orchestrator.boot()

        # Assert: not a zombie, no fresh order on that level.
        report = second.orchestrator.report(SYMBOL)
        assert report.unproven == (slot.order_cid,) and report.zombies == ()
        after = second.orchestrator.state(SYMBOL)
        assert after is not None
        kept = after.slots[slot.buy_ticks]
        assert (kept.order, kept.order_cid) == (OrderState.UNKNOWN, slot.order_cid)
        await second.close()

    asyncio.run(main())


class _TimePagedHistory(_Through):
    """Trade history paged by time with ``since`` inclusive: each page repeats the last fill."""

    async def fetch_fills(self, symbol: str, cursor: str, limit: int = 500) -> FillPage:
        start = "" if cursor in ("", "0") else str(int(cursor) - 1)  # the boundary, again
        page = await self._inner.fetch_fills(symbol, start, limit)
        has_more = len(page.fills) == limit and page.cursor != cursor
        return FillPage(fills=page.fills, cursor=page.cursor, has_more=has_more)


def test_boot_with_more_than_a_page_of_fills_on_a_time_paged_venue_applies_each_once(
    tmp_path: Path,
) -> None:
    async def main() -> None:
        # Arrange: many fills while down, read back in small overlapping pages.
        first, best_buy = await _traded(tmp_path)
        before = first.orchestrator.state(SYMBOL)
        assert before is not None
        venue = SimExchange(
            instruments=[before.instrument], initial_balances={}, path=tmp_path / "exchange.sqlite"
        )
        low = before.instrument.from_ticks(best_buy - 20 * before.grid.spacing_ticks)
        offline = len(venue.apply_trade(SYMBOL, low, Decimal(100), 1))
        venue.close_sync()
        assert offline > 3

        # Act
        second = open_world(tmp_path, wrap=_TimePagedHistory)  # type: ignore[arg-type]
        second.orchestrator.fill_page_limit = 2
        await second.orchestrator.boot()

        # Assert
        state = second.orchestrator.state(SYMBOL)
        assert state is not None
        assert state.fills == before.fills + offline
        assert second.store.fill_count(SYMBOL) == state.fills
        await second.close()

    asyncio.run(main())


def test_boot_queued_trip_survives_a_boot_that_fails_before_saving(tmp_path: Path) -> None:
    async def main() -> None:
        # Arrange: a trip is queued while the bot is down; the next boot dies in its sync.
        await _traded(tmp_path)
        store = Store(tmp_path / "gridmaker.sqlite")
        store.add_command(SYMBOL, "trip", "operator: stop now")
        store.close()

        class _SyncDies(_HistoryHidden):
            async def fetch_open_orders(self, symbol: str) -> object:
                raise RuntimeError("the process dies here")

        failing = open_world(tmp_path, wrap=_SyncDies)  # type: ignore[arg-type]
        with pytest.raises(Exception, match="dies here"):
            await failing.orchestrator.boot()
        await failing.close()

        # Act
        second = open_world(tmp_path)
        await second.orchestrator.boot()

        # Assert: the trip was not lost with the failed boot.
        state = second.orchestrator.state(SYMBOL)
        assert state is not None and state.risk.breaker is not BreakerState.ACTIVE
        assert second.store.pending_commands() == []
        await second.close()

    asyncio.run(main())


def test_commands_a_trip_for_a_symbol_that_cannot_trade_is_kept_with_its_book(
    tmp_path: Path,
) -> None:
    async def main() -> None:
        # Arrange: a fill the history does not show stops the symbol at boot; then a trip is
        # queued for it while the bot runs.
        first, best_buy = await _traded(tmp_path)
        _fill_offline(tmp_path, first, best_buy)
        second = open_world(tmp_path, wrap=_HistoryHidden)  # type: ignore[arg-type]
        await second.orchestrator.boot()
        assert second.orchestrator.halted(SYMBOL)
        second.store.add_command(SYMBOL, "trip", "operator: stop now")

        # Act
        await second.orchestrator.apply_commands(1)

        # Assert: spent only because the saved book carries the trip.
        stored = second.store.load_book(SYMBOL)
        assert stored is not None and stored.risk.breaker is not BreakerState.ACTIVE
        assert second.store.pending_commands() == []
        await second.close()

    asyncio.run(main())


def test_boot_full_history_read_applies_only_the_hidden_orders_fills(tmp_path: Path) -> None:
    async def main() -> None:
        # Arrange: an earlier book traded this account (its fills carry our prefix); it was
        # stopped, its orders cancelled, and a new book started after that history.
        earlier, _ = await _traded(tmp_path)
        assert earlier.orchestrator.state(SYMBOL).fills > 0  # type: ignore[union-attr]
        venue = SimExchange(
            instruments=[earlier.orchestrator.state(SYMBOL).instrument],  # type: ignore[union-attr]
            initial_balances={},
            path=tmp_path / "exchange.sqlite",
        )
        for order in await venue.fetch_open_orders(SYMBOL):
            await venue.cancel_order(SYMBOL, order.client_order_id)
        venue.close_sync()
        (tmp_path / "gridmaker.sqlite").unlink()
        first, best_buy = await _traded(tmp_path, steps=300)
        before = first.orchestrator.state(SYMBOL)
        assert before is not None
        offline = _fill_offline(tmp_path, first, best_buy)
        _move_cursor_past_everything(tmp_path)

        # Act
        second = open_world(tmp_path)
        await second.orchestrator.boot()

        # Assert: the hidden fill is applied; the earlier book's fills are not this book's.
        state = second.orchestrator.state(SYMBOL)
        assert state is not None and not second.orchestrator.halted(SYMBOL)
        assert state.fills == before.fills + offline
        assert second.store.fill_count(SYMBOL) == state.fills
        await second.close()

    asyncio.run(main())


class _LaggingLookups(_Through):
    """A venue whose lookups may lag its writes (as Binance's do for tens of seconds)."""

    lookup_grace_s = 60.0


class _Died(BaseException):
    """The process dies here (as a SIGKILL would, but inside the test)."""


class _DiesOnPlace(_Through):
    """The first order is recorded, then the process dies before anything is sent."""

    async def place_order(self, request: object) -> object:
        raise _Died


def test_boot_order_being_placed_at_a_crash_is_not_resent_within_the_grace(
    tmp_path: Path,
) -> None:
    async def main() -> None:
        # Arrange: the grid's intents are recorded; the process dies before they are sent.
        world = open_world(tmp_path, wrap=_DiesOnPlace)  # type: ignore[arg-type]
        await world.orchestrator.boot()
        with pytest.raises(_Died):
            await world.orchestrator.on_trade(SYMBOL, Decimal("50000"), 0)
        placing = {
            s.order_cid
            for s in (world.store.load_book(SYMBOL) or pytest.fail("no book")).slots.values()
            if s.order is OrderState.PLACING
        }
        assert placing
        await world.close()

        # Act: a restart at once, on a venue whose lookups may lag.
        second = open_world(tmp_path, wrap=_LaggingLookups)  # type: ignore[arg-type]
        await second.orchestrator.boot()

        # Assert: "not found" so soon is no proof: nothing is sent again yet.
        report = second.orchestrator.report(SYMBOL)
        assert report.resolved == ()
        assert placing <= set(report.unproven)
        assert sum(second.sim.place_calls.values()) == 0
        await second.close()

    asyncio.run(main())
