"""The live view shows what the books hold, read from a real bot on the in-process SimExchange."""

from __future__ import annotations

import asyncio
import io
import logging
import sys
from collections import Counter
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from rich.console import Console

from gridmaker.config import Config
from gridmaker.core.events import Side
from gridmaker.core.slots import Phase
from gridmaker.core.state import GridState
from gridmaker.core.units import Atoms, Steps, Ticks, notional_atoms
from gridmaker.engine.retry import Retrier, RetryPolicy
from gridmaker.engine.sessions.market import run_market_session
from gridmaker.engine.summary import summarize
from gridmaker.exchange.api import Exchange, ExchangeOrder, MalformedResponse
from gridmaker.exchange.sim import SimExchange
from gridmaker.ops.console import COLUMNS, LiveView, age_text, unrealized_pnl_atoms
from gridmaker.ops.watchdog import Watchdog, WatchdogSettings
from tests.kit.waiting import eventually_async
from tests.kit.world import SYMBOL, World, feed, open_world

WIDTH = 260


def _console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=WIDTH, color_system=None), out


def _rows(text: str, headers: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """The table's body rows by market, each cell by its header (box-drawn lines split)."""
    rows = {}
    for line in text.splitlines():
        if "│" not in line:
            continue
        cells = [c.strip() for c in line.strip().strip("│┃").split("│")]
        if len(cells) == len(headers) and cells[0] not in ("", "market"):
            rows[cells[0]] = dict(zip(headers, cells, strict=True))
    return rows


def _shown(view: LiveView, headers: tuple[str, ...] = COLUMNS) -> dict[str, dict[str, str]]:
    view.console.print(view.render())
    file = view.console.file
    assert isinstance(file, io.StringIO)
    return _rows(file.getvalue(), headers)


async def _traded(tmp_path: Path, trades: int = 3000) -> World:
    world = open_world(tmp_path)
    await world.orchestrator.boot()
    await run_market_session(
        world.orchestrator, world.sim, feed(world.config), SYMBOL, steps=trades
    )
    return world


def test_render_after_a_session_shows_the_books_numbers(tmp_path: Path) -> None:
    async def main() -> None:
        # Arrange
        world = await _traded(tmp_path)
        state = world.orchestrator.state(SYMBOL)
        assert state is not None and state.buy_fills > 0 and state.sell_fills > 0
        console, _ = _console()

        # Act
        row = _shown(LiveView(world.orchestrator, console=console))[SYMBOL]

        # Assert: the numbers `gridmaker status` prints, and the venue's open orders by side.
        s = summarize(state)
        venue_sides = Counter(
            o.side for o in world.sim.all_orders(SYMBOL) if o.status.value == "open"
        )
        assert row["price"] == s["last_price"]
        assert row["control"] == "trading"
        assert row["breaker"] == "active"
        assert row["buys"] == str(s["open_buys"]) == str(venue_sides[Side.BUY])
        assert row["sells"] == str(s["open_sells"]) == str(venue_sides[Side.SELL])
        assert row["fills"] == str(state.fills) == str(len(world.sim.all_fills(SYMBOL)))
        assert row["realized"] == s["realized_pnl"]
        assert row["fees"] == s["fees"]
        assert row["inventory"] == s["inventory"]
        inst = state.instrument
        unrealized = inst.from_atoms(unrealized_pnl_atoms(state))
        assert Decimal(row["unrealized"]) == unrealized
        assert "E" not in row["realized"] + row["unrealized"] + row["fees"]
        await world.close()

    asyncio.run(main())


def _holding(state: GridState) -> GridState:
    """``state`` with one slot holding 2 steps that cost 100 atoms and brought 7, one step of
    dust, the others flat, at a price of 60 ticks."""
    slots = {
        k: replace(v, position_steps=Steps(0), cost_atoms=Atoms(0), proceeds_atoms=Atoms(0))
        for k, v in state.slots.items()
    }
    level = next(iter(slots))
    slots[level] = replace(
        slots[level],
        phase=Phase.SELL,
        position_steps=Steps(2),
        cost_atoms=Atoms(100),
        proceeds_atoms=Atoms(7),
    )
    return replace(state, slots=slots, last_price_ticks=Ticks(60), dust_steps=Steps(1))


def test_unrealized_pnl_marks_held_levels_and_dust_at_the_last_price(tmp_path: Path) -> None:
    async def main() -> None:
        # Arrange
        world = await _traded(tmp_path, trades=50)
        state = world.orchestrator.state(SYMBOL)
        assert state is not None
        held = _holding(state)
        # Act
        got = unrealized_pnl_atoms(held)

        # Assert: (2 + 1 dust) steps at 60 ticks, plus 7 proceeds, less 100 cost.
        assert got == notional_atoms(60, 3) + 7 - 100
        await world.close()

    asyncio.run(main())


def test_render_with_a_watchdog_shows_each_markets_health_and_reasons(tmp_path: Path) -> None:
    async def main() -> None:
        # Arrange: the real watchdog, 20 s after the last price (degraded after 10 s).
        world = await _traded(tmp_path, trades=50)
        seen = world.orchestrator.view(SYMBOL).last_price_ms

        def clock() -> int:
            return seen + 20_000

        settings = WatchdogSettings(price_stale_s=10, price_dead_s=100)
        watchdog = Watchdog(world.orchestrator, settings, clock=clock)
        console, out = _console()
        view = LiveView(world.orchestrator, watchdog=watchdog, console=console, clock=clock)

        # Act
        row = _shown(view, (*COLUMNS, "health"))[SYMBOL]

        # Assert
        reasons = watchdog.verdict()["markets"][SYMBOL]["reasons"]
        assert reasons and reasons[0].startswith("no price for 20 s")
        assert row["health"] == "degraded: " + "; ".join(reasons)
        assert "health degraded" in out.getvalue()
        await world.close()

    asyncio.run(main())


def test_render_price_age_counts_from_the_last_price_seen(tmp_path: Path) -> None:
    async def main() -> None:
        # Arrange
        world = await _traded(tmp_path, trades=50)
        seen = world.orchestrator.view(SYMBOL).last_price_ms
        assert seen > 0
        console, _ = _console()
        view = LiveView(world.orchestrator, console=console, clock=lambda: seen + 2549)

        # Act
        row = _shown(view)[SYMBOL]

        # Assert
        assert row["price age"] == "2.5s"
        await world.close()

    asyncio.run(main())


def test_age_text_without_a_price_reads_never() -> None:
    assert age_text(10_000, 0) == "never"
    assert age_text(10_000, 9_000) == "1s"
    assert age_text(10_000, 10_050) == "0s"


class JunkOrdersFor:
    """The real venue, except that one symbol's open orders always come back as junk."""

    def __init__(self, inner: SimExchange, symbol: str) -> None:
        self.inner = inner
        self.symbol = symbol

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    async def fetch_open_orders(self, symbol: str) -> list[ExchangeOrder]:
        if symbol == self.symbol:
            raise MalformedResponse("200 with an HTML body", symbol=symbol)
        return list(await self.inner.fetch_open_orders(symbol))


def test_render_halted_market_says_it_does_not_trade_and_why(tmp_path: Path) -> None:
    async def main() -> None:
        # Arrange: two markets; ETH's boot sync cannot read its open orders.
        cfg = Config.model_validate(
            {
                "sim": {
                    "balances": {"BTC": "1", "ETH": "10", "USDT": "100000"},
                    "instruments": {"BTC/USDT": {}, "ETH/USDT": {"min_notional": "1"}},
                },
                "markets": [{"symbol": "BTC/USDT"}, {"symbol": "ETH/USDT", "order_size": "0.01"}],
            }
        )

        def wrap(sim: SimExchange) -> Exchange:
            return JunkOrdersFor(sim, "ETH/USDT")  # type: ignore[return-value]

        world = open_world(tmp_path, cfg, wrap=wrap)
        world.orchestrator.retrier = Retrier(RetryPolicy(attempts=2, base_delay_s=0.0))
        await world.orchestrator.boot()
        world.sim.apply_trade(SYMBOL, Decimal("50000"), Decimal("0.1"), 1)
        await world.orchestrator.on_trade(SYMBOL, Decimal("50000"), 1)
        console, out = _console()

        # Act
        rows = _shown(LiveView(world.orchestrator, console=console))

        # Assert
        assert rows["ETH/USDT"]["control"] == "halted"
        assert rows[SYMBOL]["control"] == "trading"
        assert rows[SYMBOL]["buys"] == str(summarize(world.orchestrator.state(SYMBOL))["open_buys"])  # type: ignore[arg-type]
        assert "ETH/USDT does not trade: " in out.getvalue()
        assert "boot sync failed" in out.getvalue()
        await world.close()

    asyncio.run(main())


def test_run_redraws_while_the_session_trades_and_stops_when_cancelled(tmp_path: Path) -> None:
    async def main() -> None:
        # Arrange
        world = open_world(tmp_path)
        await world.orchestrator.boot()
        out = io.StringIO()
        console = Console(file=out, width=WIDTH, force_terminal=True, color_system=None)
        view = LiveView(world.orchestrator, console=console)

        # Act: the view redraws on the loop while a session trades on it.
        task = asyncio.create_task(view.run(refresh_s=0.001))
        result = await run_market_session(
            world.orchestrator, world.sim, feed(world.config), SYMBOL, steps=2000
        )
        await eventually_async(lambda: view.redraws >= 3, timeout_s=10, what="redraws")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

        # Assert: the session ran to its end, and the last frame shows its last price.
        assert result.trades == 2000
        state = world.orchestrator.state(SYMBOL)
        assert state is not None
        last_frame = out.getvalue().rsplit("gridmaker ·", 1)[-1]
        assert str(summarize(state)["last_price"]) in last_frame
        await world.close()

    asyncio.run(main())


def test_run_log_lines_print_above_the_table_and_handlers_are_restored(tmp_path: Path) -> None:
    async def main() -> None:
        # Arrange: a handler on the real stderr, as `logging.basicConfig` leaves it.
        world = open_world(tmp_path)
        await world.orchestrator.boot()
        real = sys.stderr
        handler = logging.StreamHandler(real)
        root = logging.getLogger()
        root.addHandler(handler)
        out = io.StringIO()
        console = Console(file=out, width=WIDTH, force_terminal=True, color_system=None)
        view = LiveView(world.orchestrator, console=console)
        try:
            # Act: a warning is logged while the view runs.
            task = asyncio.create_task(view.run(refresh_s=0.001))
            await eventually_async(lambda: view.redraws >= 1, timeout_s=10, what="a redraw")
            logging.getLogger("gridmaker.test").warning("a line logged meanwhile")
            await eventually_async(lambda: view.redraws >= 3, timeout_s=10, what="redraws")
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        finally:
            root.removeHandler(handler)

        # Assert: the line went through the view's console, and the handler is back.
        assert "a line logged meanwhile" in out.getvalue()
        assert handler.stream is real
        await world.close()

    asyncio.run(main())
