"""``Metrics``: the bot in Prometheus' terms, with the consistency numbers checked at the venue.

Two halves, so a scrape never slows a decision and a decision never pays for a scrape:

- the hot path (``observe``, subscribed to the hub) only bumps counters and histograms:
  fills, orders answered, decisions and their latency, fill → counter-order latency, breaker
  changes, halts, audits, commands;
- everything else is read when Prometheus scrapes (``metrics_books``, ``metrics_venue``):
  money, inventory, balances, breaker and control state, orders working, and the last audit's
  comparison of the book with the venue's open orders, with the ages of the last sync, audit,
  price and decision.

Each ``Metrics`` has its own ``CollectorRegistry`` (never the process-global one), so two bots
or two tests in one process never share a series.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from gridmaker.engine.notices import (
    Audited,
    BreakerChanged,
    CommandApplied,
    ControlChanged,
    Decided,
    FillApplied,
    Halted,
    Notice,
    OrderAnswered,
    SourceChanged,
)
from gridmaker.ops.metrics_books import BookCollector
from gridmaker.ops.metrics_venue import VenueCollector

if TYPE_CHECKING:
    from gridmaker.engine.orchestrator import GridOrchestrator
    from gridmaker.engine.retry import Retrier

__all__ = ["COUNTER_LATENCY_BUCKETS", "DECISION_LATENCY_BUCKETS", "Metrics"]

DECISION_LATENCY_BUCKETS = (
    0.00001,
    0.000025,
    0.00005,
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
)
"""Seconds: a ``decide`` call takes tens of microseconds; 100 ms would be a stall."""

COUNTER_LATENCY_BUCKETS = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
"""Seconds from a fill's decision to its counter-order's answer: a round trip to the venue."""

_NS = 1e-9


class Metrics:
    """Counters fed by the hub's notices, plus collectors that read the books at scrape time.

    ``retrier``: the one the orchestrator uses (transient venue errors by kind, retries);
    ``exchange``: the venue, for its rate budget when it has one (a ccxt venue).
    """

    def __init__(
        self,
        orchestrator: GridOrchestrator,
        *,
        retrier: Retrier | None = None,
        exchange: object | None = None,
    ) -> None:
        self.registry = CollectorRegistry()
        reg = self.registry
        self._fills = Counter(
            "gridmaker_fills", "Fills applied to the book.", ["symbol", "side"], registry=reg
        )
        self._answers = Counter(
            "gridmaker_orders_answered",
            "Venue answers to the orders and cancels sent, by the status they carry.",
            ["symbol", "outcome"],
            registry=reg,
        )
        self._decisions = Counter(
            "gridmaker_decisions",
            "Decisions taken, by the type of the event decided.",
            ["symbol", "event"],
            registry=reg,
        )
        self._decision_latency = Histogram(
            "gridmaker_decision_latency_seconds",
            "Time one decide call took.",
            ["symbol"],
            buckets=DECISION_LATENCY_BUCKETS,
            registry=reg,
        )
        self._counter_latency = Histogram(
            "gridmaker_fill_to_reorder_seconds",
            # "counter" may not appear in a metric name (promtool): the counter-order is the
            # re-order a fill calls for.
            "Time from deciding a fill to the venue's answer to its counter-order.",
            ["symbol"],
            buckets=COUNTER_LATENCY_BUCKETS,
            registry=reg,
        )
        self._breaker_changes = Counter(
            "gridmaker_breaker_changes",
            "Breaker transitions, by the state entered.",
            ["symbol", "state"],
            registry=reg,
        )
        self._control_changes = Counter(
            "gridmaker_control_changes",
            "Operator control changes, by the control entered.",
            ["symbol", "control"],
            registry=reg,
        )
        self._halts = Counter(
            "gridmaker_halts",
            "Markets that stopped trading (refused sync, ban).",
            ["symbol"],
            registry=reg,
        )
        self._audits = Counter(
            "gridmaker_audits",
            "Audits of the book against the venue's open orders, by result.",
            ["symbol", "result"],
            registry=reg,
        )
        self._commands = Counter(
            "gridmaker_commands_applied",
            "Operator commands the loop applied.",
            ["symbol", "command"],
            registry=reg,
        )
        self._source_changes = Counter(
            "gridmaker_price_source_changes",
            "Switches of a market's price source, by the source entered.",
            ["symbol", "source"],
            registry=reg,
        )
        # The hot notices' labelled children, kept: ``labels()`` checks and locks each call.
        self._decided: dict[tuple[str, str], tuple[Counter, Histogram, Histogram]] = {}
        self._answered: dict[tuple[str, str], Counter] = {}
        self._filled: dict[tuple[str, str], Counter] = {}
        self._handlers: dict[type, Callable[[Any], None]] = {
            Decided: self._on_decided,
            OrderAnswered: self._on_answered,
            FillApplied: self._on_fill,
            Audited: self._on_audited,
            BreakerChanged: self._on_breaker,
            ControlChanged: self._on_control,
            Halted: self._on_halted,
            CommandApplied: self._on_command,
            SourceChanged: self._on_source,
        }
        reg.register(BookCollector(orchestrator))
        reg.register(VenueCollector(retrier, exchange))

    def observe(self, notice: Notice) -> None:
        """One notice from the hub: counter and histogram updates only (the loop waits)."""
        handler = self._handlers.get(type(notice))
        if handler is not None:
            handler(notice)

    def _on_decided(self, notice: Decided) -> None:
        key = (notice.symbol, notice.event)
        children = self._decided.get(key)
        if children is None:
            children = self._decided[key] = (
                self._decisions.labels(*key),
                self._decision_latency.labels(notice.symbol),
                self._counter_latency.labels(notice.symbol),
            )
        decisions, latency, counter = children
        decisions.inc()
        latency.observe(notice.latency_ns * _NS)
        if notice.counter_latency_ns:
            counter.observe(notice.counter_latency_ns * _NS)

    def _on_answered(self, notice: OrderAnswered) -> None:
        key = (notice.symbol, notice.outcome)
        if (answers := self._answered.get(key)) is None:
            answers = self._answered[key] = self._answers.labels(*key)
        answers.inc()

    def _on_fill(self, notice: FillApplied) -> None:
        key = (notice.symbol, notice.side)
        if (fills := self._filled.get(key)) is None:
            fills = self._filled[key] = self._fills.labels(*key)
        fills.inc()

    def _on_audited(self, notice: Audited) -> None:
        result = "diverged" if notice.diverges else "consistent"
        self._audits.labels(notice.symbol, result).inc()

    def _on_breaker(self, notice: BreakerChanged) -> None:
        self._breaker_changes.labels(notice.symbol, notice.breaker).inc()

    def _on_control(self, notice: ControlChanged) -> None:
        self._control_changes.labels(notice.symbol, notice.control).inc()

    def _on_halted(self, notice: Halted) -> None:
        self._halts.labels(notice.symbol).inc()

    def _on_command(self, notice: CommandApplied) -> None:
        self._commands.labels(notice.symbol, notice.command).inc()

    def _on_source(self, notice: SourceChanged) -> None:
        self._source_changes.labels(notice.symbol, notice.source).inc()

    def render(self) -> tuple[bytes, str]:
        """The exposition (Prometheus text format) and its content type, for ``/metrics``."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
