"""The books as Prometheus reads them at scrape time: money, state, and the last audit.

Nothing here runs on the trading path: each scrape takes the orchestrator's frozen views
(``orchestrator.view(symbol)``) and turns them into gauges. Money stays exact (integer atoms,
``Decimal``) everywhere in the bot; Prometheus carries float64 only, so amounts are converted
from the exact ``Decimal`` here, at this edge, and nowhere else. A scraped PnL may therefore
differ from ``gridmaker status`` in the last binary digit; the book's figure is the record.

A market with no audit yet has no consistency samples (absent, not zero: nothing was
checked); one with no book yet (no first price) has no money samples.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from gridmaker.core.events import Side
from gridmaker.core.risk import BreakerState
from gridmaker.core.state import Control, GridState
from gridmaker.engine.book import BookView
from gridmaker.engine.summary import unrealized_pnl_atoms

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

    from gridmaker.engine.orchestrator import GridOrchestrator

__all__ = ["BookCollector", "unrealized_pnl_atoms"]


def _gauge(name: str, doc: str, labels: list[str]) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, labels=labels)


class _Families:
    """One scrape's families, filled market by market."""

    def __init__(self) -> None:
        money = ["symbol", "currency"]
        self.realized = _gauge("gridmaker_realized_pnl", "Realized PnL (quote).", money)
        self.unrealized = _gauge(
            "gridmaker_unrealized_pnl", "Unrealized PnL at the book's last price (quote).", money
        )
        self.fees = _gauge("gridmaker_fees_paid", "Fees paid by the grid (quote).", money)
        self.inventory = _gauge(
            "gridmaker_inventory", "Base held by the grid's levels and dust (base).", money
        )
        self.balance = _gauge(
            "gridmaker_balance",
            "The book's balances, per asset (base or quote).",
            ["symbol", "asset", "currency"],
        )
        self.price = _gauge(
            "gridmaker_last_price", "The last price the book acted on (quote).", money
        )
        self.breaker = _gauge(
            "gridmaker_breaker_state", "1 for the breaker's current state.", ["symbol", "state"]
        )
        self.control = _gauge(
            "gridmaker_control_state",
            "1 for the operator's current control.",
            ["symbol", "control"],
        )
        self.halted = _gauge(
            "gridmaker_market_halted", "1 when the market does not trade.", ["symbol"]
        )
        self.working = _gauge(
            "gridmaker_orders_working", "Orders the book works, by side.", ["symbol", "side"]
        )
        self.cycles = CounterMetricFamily(
            "gridmaker_cycles_completed", "Buy-then-sell cycles completed.", labels=["symbol"]
        )
        self.boot = _gauge(
            "gridmaker_boot_sync_orders",
            "The last boot sync's classification of orders and fills, by class (absent: 0).",
            ["symbol", "class"],
        )
        sym = ["symbol"]
        self.expected = _gauge(
            "gridmaker_orders_expected", "Orders the book held open at the last audit.", sym
        )
        self.open_at_venue = _gauge(
            "gridmaker_orders_open_at_venue",
            "Our orders the venue listed as open at the last audit.",
            sym,
        )
        self.missing = _gauge(
            "gridmaker_orders_missing",
            "Orders the book held open that the venue did not list, at the last audit.",
            sym,
        )
        self.unexpected = _gauge(
            "gridmaker_orders_unexpected",
            "Orders with our ids the venue listed and the book did not hold, at the last audit.",
            sym,
        )
        self.foreign = _gauge(
            "gridmaker_orders_foreign", "Open orders at the venue that are not ours.", sym
        )
        self.unknown = _gauge(
            "gridmaker_orders_unknown", "Orders in UNKNOWN state at the last audit.", sym
        )
        self.unknown_age = _gauge(
            "gridmaker_unknown_order_oldest_age_seconds",
            "Age of the oldest UNKNOWN order (0 when none).",
            sym,
        )
        self.sync_age = _gauge(
            "gridmaker_last_sync_age_seconds",
            "Seconds since the venue's fills were last read through.",
            sym,
        )
        self.audit_age = _gauge(
            "gridmaker_last_audit_age_seconds", "Seconds since the last audit.", sym
        )
        self.price_age = _gauge(
            "gridmaker_last_price_age_seconds",
            "Seconds since the last market price reached the bot (stream freshness).",
            sym,
        )
        self.decision_age = _gauge(
            "gridmaker_last_decision_age_seconds", "Seconds since the last decision.", sym
        )
        self.source = _gauge(
            "gridmaker_price_source",
            "1 for where the market's prices come from (stream, polling, market).",
            ["symbol", "source"],
        )

    def all(self) -> list[Metric]:
        return [v for v in vars(self).values()]


def _age_s(now_ms: int, then_ms: int) -> float | None:
    return None if then_ms <= 0 else max(0.0, (now_ms - then_ms) / 1000)


class BookCollector(Collector):
    """Reads every market's frozen view when Prometheus scrapes."""

    def __init__(self, orchestrator: GridOrchestrator) -> None:
        self._orchestrator = orchestrator

    def describe(self) -> list[Metric]:
        return []  # families are built per scrape; nothing to check at registration

    def collect(self) -> Iterator[Metric]:
        f = _Families()
        now = int(time.time() * 1000)
        for symbol in self._orchestrator.symbols:
            view = self._orchestrator.view(symbol)
            _market(f, view, now)
            if view.state is not None:
                _money(f, view.state)
            _consistency(f, view, now)
        yield from f.all()


def _market(f: _Families, view: BookView, now: int) -> None:
    symbol = view.symbol
    f.halted.add_metric([symbol], 1.0 if view.halted else 0.0)
    for name, count in view.report.counts().items():
        if count:  # seven classes per market, mostly 0: only what the sync found is sent
            f.boot.add_metric([symbol, name], count)
    for label, then in (
        (f.sync_age, view.synced_ms),
        (f.price_age, view.last_price_ms),
        (f.decision_age, view.last_decision_ms),
    ):
        if (age := _age_s(now, then)) is not None:
            label.add_metric([symbol], age)
    if view.source:
        f.source.add_metric([symbol, view.source], 1.0)


def _money(f: _Families, state: GridState) -> None:
    """Exact atoms → ``Decimal`` → float64 here, only for Prometheus (see the module doc)."""
    symbol, inst = state.symbol, state.instrument
    quote, base = [symbol, inst.quote], [symbol, inst.base]
    f.realized.add_metric(quote, float(inst.from_atoms(state.realized_pnl_atoms)))
    f.unrealized.add_metric(quote, float(inst.from_atoms(unrealized_pnl_atoms(state))))
    f.fees.add_metric(quote, float(inst.from_atoms(state.fees_atoms)))
    held = sum(s.position_steps for s in state.slots.values()) + state.dust_steps
    f.inventory.add_metric(base, float(inst.from_steps(held)))
    f.balance.add_metric([symbol, "base", inst.base], float(inst.from_steps(state.base_steps)))
    f.balance.add_metric([symbol, "quote", inst.quote], float(inst.from_atoms(state.quote_atoms)))
    f.price.add_metric(quote, float(inst.from_ticks(state.last_price_ticks)))
    current = state.risk.breaker
    for breaker in BreakerState:
        f.breaker.add_metric([symbol, breaker.value], 1.0 if breaker is current else 0.0)
    for control in Control:
        f.control.add_metric([symbol, control.value], 1.0 if control is state.control else 0.0)
    buys = sells = 0
    for slot in state.slots.values():
        if slot.has_live_order:
            if slot.order_side is Side.BUY:
                buys += 1
            else:
                sells += 1
    f.working.add_metric([symbol, "buy"], buys)
    f.working.add_metric([symbol, "sell"], sells)
    f.cycles.add_metric([symbol], state.completed_cycles)


def _consistency(f: _Families, view: BookView, now: int) -> None:
    audit = view.audit
    if audit is None:
        return
    symbol = [view.symbol]
    f.expected.add_metric(symbol, audit.expected)
    f.open_at_venue.add_metric(symbol, audit.open_at_venue)
    f.missing.add_metric(symbol, audit.missing)
    f.unexpected.add_metric(symbol, audit.unexpected)
    f.foreign.add_metric(symbol, audit.foreign)
    f.unknown.add_metric(symbol, audit.unknown)
    since_audit = _age_s(now, audit.at_ms) or 0.0
    # The oldest UNKNOWN order keeps ageing after the audit that saw it.
    f.unknown_age.add_metric(symbol, audit.oldest_unknown_s + since_audit if audit.unknown else 0.0)
    f.audit_age.add_metric(symbol, since_audit)
