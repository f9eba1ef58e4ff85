"""The Grafana dashboard shipped in ``docs/grafana`` imports cleanly and asks only for
metrics a real ``Metrics`` exposition declares."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from tests.kit.grafana import DASHBOARD, exprs, metric_names
from tests.kit.metrics_bot import metrics_bot
from tests.kit.prometheus import Samples
from tests.kit.world import SYMBOL

pytestmark = pytest.mark.integration


def _load() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def test_metric_names_ignores_functions_labels_and_variables() -> None:
    expr = (
        'histogram_quantile(0.99, sum by (le, symbol) (rate(gm_a_bucket{symbol=~"$symbol"}'
        "[$__rate_interval]))) / on (symbol) gm_b + ignoring(x) gm_c == 1"
    )
    assert metric_names(expr) == {"gm_a_bucket", "gm_b", "gm_c"}


def test_dashboard_is_an_importable_model_with_a_prometheus_input() -> None:
    dashboard = _load()
    inputs = {i["name"]: i for i in dashboard["__inputs"]}
    assert inputs["DS_PROMETHEUS"]["pluginId"] == "prometheus"
    assert dashboard["uid"] and dashboard["title"] and dashboard["schemaVersion"] >= 36
    ids = []
    for panel in dashboard["panels"]:
        ids.append(panel["id"])
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${DS_PROMETHEUS}", panel["title"]
            assert panel["targets"], panel["title"]
    assert len(ids) == len(set(ids))
    titles = " ".join(p["title"] for p in dashboard["panels"] if p["type"] == "row").lower()
    for area in ("activity", "latency", "money", "consistency"):
        assert area in titles


def test_dashboard_queries_name_only_metrics_a_real_exposition_declares(tmp_path: Path) -> None:
    async def main() -> Samples:
        async with metrics_bot(tmp_path) as bot:
            await bot.trade()
            await bot.world.orchestrator.audit_orders(SYMBOL)
            return bot.scrape()

    exposition = asyncio.run(main())
    wanted = {name for expr in exprs(_load()) for name in metric_names(expr)}
    assert len(wanted) >= 25  # the extractor found the dashboard's queries
    unknown = sorted(name for name in wanted if not exposition.declares(name))
    assert unknown == [], f"the dashboard queries metrics /metrics does not have: {unknown}"


def test_dashboard_check_reports_a_misspelt_metric(tmp_path: Path) -> None:
    async def main() -> Samples:
        async with metrics_bot(tmp_path) as bot:
            return bot.scrape()

    exposition = asyncio.run(main())
    names = metric_names('rate(gridmaker_fils_total{symbol="x"}[5m])')
    assert names == {"gridmaker_fils_total"}
    assert not exposition.declares("gridmaker_fils_total")
    assert exposition.declares("gridmaker_fills_total")  # declared, though nothing filled
