"""``Metrics`` over a real orchestrator and the in-process SimExchange: the exposition's
numbers are the book's and the venue's, and it passes ``promtool check metrics``."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, cast

import pytest

from gridmaker.core.events import Side
from gridmaker.core.reconcile import ReconcileReport
from gridmaker.core.slots import OrderState
from gridmaker.engine.book import BookView
from gridmaker.engine.notices import Audited, Decided, now_ms
from gridmaker.engine.retry import Retrier
from gridmaker.engine.summary import summarize
from gridmaker.exchange.api import Unavailable
from gridmaker.exchange.ccxt.rate_budget import RateBudget
from gridmaker.ops.metrics import Metrics
from gridmaker.ops.metrics_books import unrealized_pnl_atoms
from tests.kit.metrics_bot import metrics_bot
from tests.kit.prometheus import NO_PROMTOOL, PROMTOOL, promtool_check, samples
from tests.kit.world import SYMBOL, World

if TYPE_CHECKING:
    from gridmaker.engine.orchestrator import GridOrchestrator

pytestmark = pytest.mark.integration


def test_metrics_after_trading_equal_the_books_summary(tmp_path: Path) -> None:
    async def main() -> None:
        async with metrics_bot(tmp_path) as bot:
            # Arrange / Act
            await bot.trade()
            scraped = bot.scrape()
            state = bot.world.orchestrator.state(SYMBOL)
            assert state is not None
            summary = summarize(state)

            # Assert: counts exact, money equal to the book's decimal text (as float64)
            assert state.buy_fills > 0 and state.sell_fills > 0
            assert scraped.value("gridmaker_fills_total", symbol=SYMBOL, side="buy") == (
                state.buy_fills
            )
            assert scraped.value("gridmaker_fills_total", symbol=SYMBOL, side="sell") == (
                state.sell_fills
            )
            money = {"symbol": SYMBOL, "currency": "USDT"}
            for name, key in (
                ("gridmaker_realized_pnl", "realized_pnl"),
                ("gridmaker_fees_paid", "fees"),
                ("gridmaker_last_price", "last_price"),
            ):
                assert scraped.value(name, **money) == float(Decimal(str(summary[key]))), name
            inst = state.instrument
            assert scraped.value("gridmaker_unrealized_pnl", **money) == float(
                inst.from_atoms(unrealized_pnl_atoms(state))
            )
            assert scraped.value("gridmaker_inventory", symbol=SYMBOL, currency="BTC") == float(
                Decimal(str(summary["inventory"]))
            )
            assert scraped.value(
                "gridmaker_balance", symbol=SYMBOL, asset="quote", currency="USDT"
            ) == float(Decimal(str(summary["quote_balance"])))
            assert scraped.value(
                "gridmaker_balance", symbol=SYMBOL, asset="base", currency="BTC"
            ) == float(Decimal(str(summary["base_balance"])))
            working = {"symbol": SYMBOL}
            assert (
                scraped.value("gridmaker_orders_working", side="buy", **working)
                == (summary["open_buys"])
            )
            assert (
                scraped.value("gridmaker_orders_working", side="sell", **working)
                == (summary["open_sells"])
            )
            assert scraped.value("gridmaker_breaker_state", state="active", **working) == 1
            assert scraped.value("gridmaker_breaker_state", state="halted", **working) == 0
            assert scraped.value("gridmaker_control_state", control="trading", **working) == 1
            assert scraped.value("gridmaker_market_halted", **working) == 0
            assert scraped.value("gridmaker_cycles_completed_total", **working) == (
                state.completed_cycles
            )

    asyncio.run(main())


def test_metrics_decisions_and_latency_histograms_count_every_decision(tmp_path: Path) -> None:
    async def main() -> None:
        async with metrics_bot(tmp_path) as bot:
            seen: list[Decided] = []
            bot.hub.subscribe(lambda n: seen.append(n) if isinstance(n, Decided) else None)

            await bot.trade()
            scraped = bot.scrape()

            decisions = scraped.total("gridmaker_decisions_total", symbol=SYMBOL)
            assert decisions > 0
            latency_count = scraped.value("gridmaker_decision_latency_seconds_count")
            assert decisions == latency_count == len(seen)
            assert scraped.total("gridmaker_decisions_total", event="Fill") > 0
            counter_orders = [d for d in seen if d.counter_latency_ns]
            assert counter_orders  # fills placed their counter-orders
            assert scraped.value("gridmaker_fill_to_reorder_seconds_count") == len(counter_orders)
            assert scraped.total("gridmaker_orders_answered_total", outcome="open") > 0

    asyncio.run(main())


def test_metrics_order_cancelled_behind_the_bots_back_shows_missing_until_repaired(
    tmp_path: Path,
) -> None:
    async def main() -> None:
        async with metrics_bot(tmp_path) as bot:
            # Arrange: a trading grid, audited clean
            orch, sim = bot.world.orchestrator, bot.world.sim
            ts = await bot.trade()
            await orch.audit_orders(SYMBOL)
            clean = bot.scrape()
            assert clean.value("gridmaker_orders_missing", symbol=SYMBOL) == 0
            expected = clean.value("gridmaker_orders_expected", symbol=SYMBOL)
            assert expected and expected > 0
            assert clean.value("gridmaker_orders_open_at_venue", symbol=SYMBOL) == expected

            # Act: someone cancels one of the bot's orders at the venue; the audit finds it
            state = orch.state(SYMBOL)
            assert state is not None
            victim = next(s.order_cid for s in state.slots.values() if s.order is OrderState.OPEN)
            await sim.cancel_order(SYMBOL, victim)
            await orch.audit_orders(SYMBOL)
            found = bot.scrape()

            # Assert: the audit counted it before repairing; the next audit is clean again
            assert found.value("gridmaker_orders_missing", symbol=SYMBOL) == 1
            assert found.value("gridmaker_orders_open_at_venue", symbol=SYMBOL) == expected - 1
            assert found.value("gridmaker_audits_total", symbol=SYMBOL, result="diverged") == 1
            await orch.audit_orders(SYMBOL)
            repaired = bot.scrape()
            assert repaired.value("gridmaker_orders_missing", symbol=SYMBOL) == 0
            assert repaired.value("gridmaker_orders_unexpected", symbol=SYMBOL) == 0
            assert repaired.value("gridmaker_audits_total", symbol=SYMBOL, result="consistent") == 2
            age = repaired.value("gridmaker_last_audit_age_seconds", symbol=SYMBOL)
            assert age is not None and 0 <= age < 60
            assert ts > 1

    asyncio.run(main())


def test_metrics_boot_sync_counts_a_fill_made_while_the_bot_was_down(tmp_path: Path) -> None:
    async def main() -> None:
        async with metrics_bot(tmp_path) as bot:
            await bot.trade(prices=(50000,))
            state = bot.world.orchestrator.state(SYMBOL)
            assert state is not None
            best_buy = max(
                s.order_price_ticks
                for s in state.slots.values()
                if s.order is OrderState.OPEN and s.order_side is Side.BUY
            )
            price = state.instrument.from_ticks(best_buy)

        def fill_while_down(world: World) -> None:
            world.sim.apply_trade(SYMBOL, price, Decimal("0.5"), 99)

        async with metrics_bot(tmp_path, before_boot=fill_while_down) as bot:
            scraped = bot.scrape()
            counts = bot.world.orchestrator.report(SYMBOL).counts()
            assert counts["ghost_fills"] == 1
            ghost = scraped.value(
                "gridmaker_boot_sync_orders", symbol=SYMBOL, **{"class": "ghost_fills"}
            )
            assert ghost == 1

    asyncio.run(main())


def test_metrics_before_any_audit_has_no_consistency_samples(tmp_path: Path) -> None:
    async def main() -> None:
        async with metrics_bot(tmp_path) as bot:
            await bot.trade(prices=(50000,))
            scraped = bot.scrape()
            assert scraped.has("gridmaker_orders_missing")  # the family is declared
            assert scraped.value("gridmaker_orders_missing", symbol=SYMBOL) is None
            sync_age = scraped.value("gridmaker_last_sync_age_seconds", symbol=SYMBOL)
            price_age = scraped.value("gridmaker_last_price_age_seconds", symbol=SYMBOL)
            assert sync_age is not None and price_age is not None and price_age < 60

    asyncio.run(main())


def test_metrics_venue_errors_by_kind_come_from_the_retrier(tmp_path: Path) -> None:
    async def main() -> None:
        async def no_wait(_: float) -> None:
            return None

        retrier = Retrier(sleep=no_wait)
        failures = iter([Unavailable("503"), Unavailable("502")])

        async def flaky() -> int:
            if (error := next(failures, None)) is not None:
                raise error
            return 1

        async with metrics_bot(tmp_path) as bot:
            metrics = Metrics(bot.world.orchestrator, retrier=retrier)
            assert await retrier.read("flaky", flaky) == 1
            scraped = samples(metrics.render()[0])
            assert scraped.value("gridmaker_venue_errors_total", kind="Unavailable") == 2
            assert scraped.value("gridmaker_venue_retries_total") == 2

    asyncio.run(main())


class _Venue:
    """A venue wrapped as the fault injector wraps one: the budget sits on ``inner``."""

    def __init__(self, inner: object) -> None:
        self.inner = inner


class _Ccxt:
    def __init__(self, budget: RateBudget) -> None:
        self.budget = budget


def test_metrics_rate_budget_read_through_a_wrapped_venue(tmp_path: Path) -> None:
    async def main() -> None:
        budget = RateBudget(limit=1200, clock=lambda: 5.0)
        budget.spend(37, "orders")
        async with metrics_bot(tmp_path) as bot:
            metrics = Metrics(bot.world.orchestrator, exchange=_Venue(_Ccxt(budget)))
            scraped = samples(metrics.render()[0])
            assert scraped.value("gridmaker_rate_budget_used_weight") == 37
            assert scraped.value("gridmaker_rate_budget_limit_weight") == 1200

    asyncio.run(main())


def test_metrics_two_instances_in_one_process_keep_separate_registries(tmp_path: Path) -> None:
    async def main() -> None:
        async with metrics_bot(tmp_path) as bot:
            other = Metrics(bot.world.orchestrator)  # the global registry would refuse it
            await bot.trade()
            assert bot.scrape().total("gridmaker_fills_total") > 0
            assert samples(other.render()[0]).total("gridmaker_fills_total") == 0

    asyncio.run(main())


@pytest.mark.skipif(PROMTOOL is None, reason=NO_PROMTOOL)
def test_metrics_exposition_passes_promtool_check_metrics(tmp_path: Path) -> None:
    async def main() -> bytes:
        async with metrics_bot(tmp_path) as bot:
            await bot.trade()
            await bot.world.orchestrator.audit_orders(SYMBOL)
            body, content_type = bot.metrics.render()
            assert content_type.startswith("text/plain")
            return body

    checked = promtool_check(asyncio.run(main()))
    assert checked.returncode == 0, checked.stdout.decode() + checked.stderr.decode()


class _Views:
    """An orchestrator as the collectors read it: symbols and their frozen views."""

    def __init__(self, *views: BookView) -> None:
        self._views = {v.symbol: v for v in views}

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(self._views)

    def view(self, symbol: str) -> BookView:
        return self._views[symbol]


def test_metrics_oldest_unknown_order_keeps_ageing_after_the_audit_that_saw_it() -> None:
    now = now_ms()
    audit = Audited(
        symbol=SYMBOL,
        expected=4,
        open_at_venue=3,
        missing=0,
        unexpected=0,
        foreign=2,
        unknown=1,
        oldest_unknown_s=5.0,
        at_ms=now - 3_000,
    )
    view = BookView(
        symbol=SYMBOL,
        state=None,
        instrument=None,
        report=ReconcileReport(),
        halted="",
        last_price_ms=now - 1_000,
        last_decision_ms=0,
        synced_ms=now - 2_000,
        audit=audit,
        source="polling",
    )
    metrics = Metrics(cast("GridOrchestrator", _Views(view)))

    scraped = samples(metrics.render()[0])

    age = scraped.value("gridmaker_unknown_order_oldest_age_seconds", symbol=SYMBOL)
    assert age is not None and 8.0 <= age < 8.0 + 30
    audit_age = scraped.value("gridmaker_last_audit_age_seconds", symbol=SYMBOL)
    assert audit_age is not None and 3.0 <= audit_age < 3.0 + 30
    assert scraped.value("gridmaker_orders_unknown", symbol=SYMBOL) == 1
    assert scraped.value("gridmaker_orders_foreign", symbol=SYMBOL) == 2
    assert scraped.value("gridmaker_price_source", symbol=SYMBOL, source="polling") == 1
    assert scraped.value("gridmaker_last_decision_age_seconds", symbol=SYMBOL) is None
    assert scraped.value("gridmaker_realized_pnl", symbol=SYMBOL, currency="USDT") is None
