"""The venue as Prometheus reads it at scrape time: transient errors, retries, rate budget.

The retrier counts what it met (``Retrier.errors`` by kind, ``retries``); a ccxt venue
carries a weight budget (``exchange.budget``: ``used``, ``effective_limit``), shared by every
client of one API key. Both are read, never written, and only when Prometheus scrapes. The
ops layer may not import a concrete venue, so the budget is found by its shape.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

    from gridmaker.engine.retry import Retrier

__all__ = ["RateBudgetView", "VenueCollector", "rate_budget_of"]


@runtime_checkable
class RateBudgetView(Protocol):
    """What the metrics read of a venue's request budget (``exchange.ccxt.RateBudget``)."""

    @property
    def used(self) -> int: ...

    @property
    def effective_limit(self) -> int: ...


def rate_budget_of(exchange: object | None) -> RateBudgetView | None:
    """The venue's budget, looking through wrappers (``inner``: the fault injector)."""
    seen = 0
    while exchange is not None and seen < 4:
        budget = getattr(exchange, "budget", None)
        if isinstance(budget, RateBudgetView):
            return budget
        exchange, seen = getattr(exchange, "inner", None), seen + 1
    return None


class VenueCollector(Collector):
    def __init__(self, retrier: Retrier | None, exchange: object | None) -> None:
        self._retrier = retrier
        self._exchange = exchange

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        errors = CounterMetricFamily(
            "gridmaker_venue_errors",
            "Transient venue errors met by venue calls (retried or not), by kind.",
            labels=["kind"],
        )
        retries = CounterMetricFamily("gridmaker_venue_retries", "Venue calls retried.")
        if (retrier := self._retrier) is not None:
            for kind, count in sorted(retrier.errors.items()):
                errors.add_metric([kind], count)
            retries.add_metric([], retrier.retries)
        yield errors
        yield retries
        used = GaugeMetricFamily(
            "gridmaker_rate_budget_used_weight",
            "Request weight spent in the venue's current rate window.",
        )
        limit = GaugeMetricFamily(
            "gridmaker_rate_budget_limit_weight",
            "Request weight allowed per rate window now (lowered after a 429).",
        )
        if (budget := rate_budget_of(self._exchange)) is not None:
            used.add_metric([], budget.used)
            limit.add_metric([], budget.effective_limit)
        yield used
        yield limit
