"""Counters and latency histograms as plain Python numbers, exposed at scrape time.

The trading loop pays for each notice it publishes, so the hot path is a dict bump and a
``bisect``, nothing more: prometheus_client's own ``Counter``/``Histogram`` take a lock and
check their labels at every update and add a ``_created`` series per child, which doubled
the scrape of a many-market bot. The families are built only when Prometheus scrapes.
Both are written on the loop's thread; a scrape elsewhere reads a copy (``dict(...)``,
``list(...)`` are atomic under the GIL), so at worst it sees one update late.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Sequence

from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.utils import floatToGoString

__all__ = ["LatencyHistogram", "Tally"]


class Tally:
    """A counter family by label values: ``counts[(a, b)] += 1`` on the hot path."""

    __slots__ = ("counts", "doc", "labels", "name")

    def __init__(self, name: str, doc: str, labels: Sequence[str]) -> None:
        self.name, self.doc, self.labels = name, doc, list(labels)
        self.counts: Counter[tuple[str, ...]] = Counter()

    def family(self) -> CounterMetricFamily:
        family = CounterMetricFamily(self.name, self.doc, labels=self.labels)
        for key, count in sorted(dict(self.counts).items()):
            family.add_metric(list(key), count)
        return family


class LatencyHistogram:
    """Seconds into fixed buckets (``le`` upper bounds, inclusive), their sum and count."""

    __slots__ = ("bounds", "counts", "doc", "name", "total")

    def __init__(self, name: str, doc: str, bounds: Sequence[float]) -> None:
        if list(bounds) != sorted(set(bounds)):
            raise ValueError(f"bucket bounds must increase strictly; were {list(bounds)}")
        self.name, self.doc = name, doc
        self.bounds = tuple(bounds)
        self.counts = [0] * (len(self.bounds) + 1)
        """Per bucket, not cumulative; the last one is +Inf."""
        self.total = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect_left(self.bounds, seconds)] += 1
        self.total += seconds

    def family(self) -> HistogramMetricFamily:
        counts, total = list(self.counts), self.total
        buckets: list[tuple[str, float]] = []
        running = 0
        for bound, count in zip((*self.bounds, float("inf")), counts, strict=True):
            running += count
            buckets.append((floatToGoString(bound), running))  # type: ignore[no-untyped-call]
        return HistogramMetricFamily(self.name, self.doc, buckets=buckets, sum_value=total)
