"""DESIGN's import arrows, enforced by parsing every module's imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "gridmaker"
CORE_BANNED = {"asyncio", "time", "random", "logging", "sqlite3", "socket", "datetime", "os"}
ALLOWED = {
    "core": {"core"},
    "exchange": {"core", "exchange"},
    "store": {"core", "store", "failpoints"},
    "feeds": {"feeds"},
    "engine": {"core", "exchange", "store", "engine", "feeds", "failpoints"},
    "backtest": {"core", "feeds", "config", "backtest"},
}


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def _modules(package: str) -> list[Path]:
    return sorted((SRC / package).rglob("*.py"))


@pytest.mark.parametrize("path", _modules("core"), ids=lambda p: p.name)
def test_core_module_imports_only_stdlib_and_core(path: Path) -> None:
    # Arrange
    imports = _imports(path)

    # Act
    ours = [n for n in imports if n.split(".")[0] == "gridmaker"]
    banned = [n for n in imports if n.split(".")[0] in CORE_BANNED]
    third_party = [
        n
        for n in imports
        if n.split(".")[0] not in {"gridmaker", "__future__"}
        and n.split(".")[0] not in __import__("sys").stdlib_module_names
    ]

    # Assert
    assert not banned, f"{path.name} imports {banned}"
    assert not third_party, f"{path.name} imports {third_party}"
    assert all(n.startswith("gridmaker.core") for n in ours), f"{path.name} imports {ours}"


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layer_imports_point_downward_only(layer: str) -> None:
    # Arrange
    allowed = ALLOWED[layer]

    # Act
    offenders = [
        f"{path.name}: {name}"
        for path in _modules(layer)
        for name in _imports(path)
        if name.startswith("gridmaker.") and name.split(".")[1] not in allowed
    ]

    # Assert
    assert not offenders
