"""``Metrics``: the bot in Prometheus' terms, with the consistency numbers checked at the venue.

Two halves, so a scrape never slows a decision and a decision never pays for a scrape:

- the hot path (``observe``, subscribed to the hub) only bumps plain counters and latency
  buckets (``metrics_counts``): fills, orders answered, decisions and their latency, fill →
  counter-order latency, breaker changes, halts, audits, commands;
- everything else is read when Prometheus scrapes (``metrics_books``, ``metrics_venue``):
  money, inventory, balances, breaker and control state, orders working, and the last audit's
  comparison of the book with the venue's open orders, with the ages of the last sync, audit,
  price and decision.

Each ``Metrics`` has its own ``CollectorRegistry`` (never the process-global one), so two bots
or two tests in one process never share a series. The latency histograms are the bot's, not
per market: a scrape's cost grows with its series, and ``decide`` costs the same on every
market.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

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
from gridmaker.ops.metrics_counts import LatencyHistogram, Tally
from gridmaker.ops.metrics_venue import VenueCollector

if TYPE_CHECKING:
    from collections.abc import Iterator

    from prometheus_client.metrics_core import Metric

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
        sym = "symbol"
        self._fills = Tally("gridmaker_fills", "Fills applied to the book.", [sym, "side"])
        self._answers = Tally(
            "gridmaker_orders_answered",
            "Venue answers to the orders and cancels sent, by the status they carry.",
            [sym, "outcome"],
        )
        self._decisions = Tally(
            "gridmaker_decisions",
            "Decisions taken, by the type of the event decided.",
            [sym, "event"],
        )
        self._decision_latency = LatencyHistogram(
            "gridmaker_decision_latency_seconds",
            "Time one decide call took (every market).",
            DECISION_LATENCY_BUCKETS,
        )
        # "counter" may not appear in a metric name (promtool): the counter-order is the
        # re-order a fill calls for.
        self._reorder_latency = LatencyHistogram(
            "gridmaker_fill_to_reorder_seconds",
            "Time from deciding a fill to the venue's answer to its counter-order (every market).",
            COUNTER_LATENCY_BUCKETS,
        )
        self._breaker_changes = Tally(
            "gridmaker_breaker_changes",
            "Breaker transitions, by the state entered.",
            [sym, "state"],
        )
        self._control_changes = Tally(
            "gridmaker_control_changes",
            "Operator control changes, by the control entered.",
            [sym, "control"],
        )
        self._halts = Tally(
            "gridmaker_halts", "Markets that stopped trading (refused sync, ban).", [sym]
        )
        self._audits = Tally(
            "gridmaker_audits",
            "Audits of the book against the venue's open orders, by result.",
            [sym, "result"],
        )
        self._commands = Tally(
            "gridmaker_commands_applied",
            "Operator commands the loop applied.",
            [sym, "command"],
        )
        self._sources = Tally(
            "gridmaker_price_source_changes",
            "Switches of a market's price source, by the source entered.",
            [sym, "source"],
        )
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
        self.registry = CollectorRegistry()
        self.registry.register(_NoticeCollector(self))
        self.registry.register(BookCollector(orchestrator))
        self.registry.register(VenueCollector(retrier, exchange))

    def observe(self, notice: Notice) -> None:
        """One notice from the hub: counter and bucket updates only (the loop waits)."""
        handler = self._handlers.get(type(notice))
        if handler is not None:
            handler(notice)

    def _on_decided(self, notice: Decided) -> None:
        self._decisions.counts[(notice.symbol, notice.event)] += 1
        self._decision_latency.observe(notice.latency_ns * _NS)
        if notice.counter_latency_ns:
            self._reorder_latency.observe(notice.counter_latency_ns * _NS)

    def _on_answered(self, notice: OrderAnswered) -> None:
        self._answers.counts[(notice.symbol, notice.outcome)] += 1

    def _on_fill(self, notice: FillApplied) -> None:
        self._fills.counts[(notice.symbol, notice.side)] += 1

    def _on_audited(self, notice: Audited) -> None:
        result = "diverged" if notice.diverges else "consistent"
        self._audits.counts[(notice.symbol, result)] += 1

    def _on_breaker(self, notice: BreakerChanged) -> None:
        self._breaker_changes.counts[(notice.symbol, notice.breaker)] += 1

    def _on_control(self, notice: ControlChanged) -> None:
        self._control_changes.counts[(notice.symbol, notice.control)] += 1

    def _on_halted(self, notice: Halted) -> None:
        self._halts.counts[(notice.symbol,)] += 1

    def _on_command(self, notice: CommandApplied) -> None:
        self._commands.counts[(notice.symbol, notice.command)] += 1

    def _on_source(self, notice: SourceChanged) -> None:
        self._sources.counts[(notice.symbol, notice.source)] += 1

    def families(self) -> Iterator[Metric]:
        """What the notices counted, as Prometheus families (built at scrape time)."""
        for value in vars(self).values():
            if isinstance(value, Tally | LatencyHistogram):
                yield value.family()

    def render(self) -> tuple[bytes, str]:
        """The exposition (Prometheus text format) and its content type, for ``/metrics``."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class _NoticeCollector(Collector):
    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        return self._metrics.families()
