"""The hot-path counters and latency buckets, as Prometheus reads them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from gridmaker.ops.metrics_counts import LatencyHistogram, Tally
from tests.kit.prometheus import Samples, samples


class _One(Collector):
    def __init__(self, item: Tally | LatencyHistogram) -> None:
        self.item = item

    def collect(self) -> Iterator[Metric]:
        yield self.item.family()


def _exposed(item: Tally | LatencyHistogram) -> Samples:
    registry = CollectorRegistry()
    registry.register(_One(item))
    return samples(generate_latest(registry))


def test_latency_histogram_counts_a_bound_in_its_own_bucket_cumulatively() -> None:
    histogram = LatencyHistogram("gm_latency_seconds", "doc", (0.001, 0.01))
    for seconds in (0.0005, 0.001, 0.005, 0.01, 3.0):
        histogram.observe(seconds)

    exposed = _exposed(histogram)

    assert exposed.value("gm_latency_seconds_bucket", le="0.001") == 2
    assert exposed.value("gm_latency_seconds_bucket", le="0.01") == 4
    assert exposed.value("gm_latency_seconds_bucket", le="+Inf") == 5
    assert exposed.value("gm_latency_seconds_count") == 5
    assert exposed.value("gm_latency_seconds_sum") == pytest.approx(3.0165)


def test_latency_histogram_with_unordered_bounds_is_refused() -> None:
    with pytest.raises(ValueError, match="increase strictly"):
        LatencyHistogram("gm_latency_seconds", "doc", (0.01, 0.001))


def test_tally_exposes_each_label_set_as_a_total_without_created_series() -> None:
    tally = Tally("gm_fills", "doc", ["symbol", "side"])
    tally.counts[("BTC/USDT", "buy")] += 2
    tally.counts[("BTC/USDT", "sell")] += 1

    exposed = _exposed(tally)

    assert exposed.value("gm_fills_total", symbol="BTC/USDT", side="buy") == 2
    assert exposed.value("gm_fills_total", symbol="BTC/USDT", side="sell") == 1
    assert not any(name.endswith("_created") for name in exposed.sample_names)


def test_tally_with_no_counts_still_declares_its_family() -> None:
    exposed = _exposed(Tally("gm_halts", "doc", ["symbol"]))
    assert exposed.declares("gm_halts_total")
    assert exposed.value("gm_halts_total", symbol="X") is None
