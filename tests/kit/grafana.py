"""The Grafana dashboard in ``docs/grafana``: its queries and the metric names they read."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

DASHBOARD = Path(__file__).parents[2] / "docs" / "grafana" / "gridmaker-dashboard.json"

PROMQL_WORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "offset",
    "and",
    "or",
    "unless",
    "le",
}
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')
_BRACES = re.compile(r"\{[^}]*\}|\[[^\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_IDENT = re.compile(r"(?<![\w$])([A-Za-z_:][\w:]*)\s*(\()?")


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads: identifiers that are not functions,
    keywords, label names (inside braces or a grouping), numbers or Grafana variables."""
    text = _QUOTED.sub('""', expr)
    text = _BRACES.sub("", text)
    text = _GROUPING.sub("", text)
    names = set()
    for match in _IDENT.finditer(text):
        word, call = match.group(1), match.group(2)
        if call is None and word not in PROMQL_WORDS:
            names.add(word)
    return names


def exprs(dashboard: dict[str, Any]) -> list[str]:
    """Every query the dashboard runs: panel targets (rows' nested panels too) and variables."""
    found: list[str] = []

    def panels(items: list[dict[str, Any]]) -> None:
        for panel in items:
            found.extend(t["expr"] for t in panel.get("targets", []) if t.get("expr"))
            panels(panel.get("panels", []))

    panels(dashboard["panels"])
    for variable in dashboard["templating"]["list"]:
        query = variable.get("query")
        text = query.get("query", "") if isinstance(query, dict) else str(query or "")
        if inner := re.fullmatch(r"label_values\((\w+),\s*\w+\)", text):
            found.append(inner.group(1))
    return found
