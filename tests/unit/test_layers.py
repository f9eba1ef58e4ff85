"""DESIGN's import arrows, enforced on every module of ``src/gridmaker``.

Every ``import`` is read from the source (function-local and ``TYPE_CHECKING`` ones too, since
a lazy import is still a dependency), the module graph is built, and four things are checked:
no cycle among modules, every import points down the layer map below, no ``# noqa: E402``, no
module over 450 lines. A new top-level package or module fails until it is placed on the map.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
MAX_LINES = 450

# Units, bottom to top. A unit is a package, a subpackage or a top-level module; a module
# belongs to the unit with the longest matching dotted prefix. Each unit names what it may
# import; a unit may import itself and only units listed here, all of them further down.
# DESIGN: cli → engine → (core, exchange.api, store); exchange.* → core; store → core;
# core → nothing of ours. The engine sees the exchange only through ``exchange.api``.
LAYERS: dict[str, frozenset[str]] = {
    # pure: stdlib only, nothing of ours outside core
    "gridmaker.core": frozenset(),
    # crash-injection hooks for the torture tests (stdlib only)
    "gridmaker.failpoints": frozenset(),
    # the root package's __init__: imports nothing
    "gridmaker": frozenset(),
    # the one SQLite connection and transaction helper
    "gridmaker.db": frozenset({"gridmaker.failpoints"}),
    # the protocol every venue speaks, and its error taxonomy
    "gridmaker.exchange.api": frozenset({"gridmaker.core"}),
    # persistence
    "gridmaker.store": frozenset({"gridmaker.core", "gridmaker.db", "gridmaker.failpoints"}),
    # exchange-level shared pieces (the fault vocabulary, FaultyExchange, venue weights)
    "gridmaker.exchange": frozenset({"gridmaker.core", "gridmaker.exchange.api"}),
    # real venues through ccxt
    "gridmaker.exchange.ccxt": frozenset(
        {"gridmaker.core", "gridmaker.exchange.api", "gridmaker.exchange"}
    ),
    # the simulated venue, in-process and over HTTP; its HTTP client is the real ccxt adapter
    # aimed at the local server, so the path a real venue takes is the one exercised
    "gridmaker.exchange.sim": frozenset(
        {
            "gridmaker.core",
            "gridmaker.exchange.api",
            "gridmaker.exchange",
            "gridmaker.exchange.ccxt",
            "gridmaker.db",
            "gridmaker.failpoints",
        }
    ),
    # price sources: recorded, generated, and the live streams of a venue
    "gridmaker.feeds": frozenset({"gridmaker.core", "gridmaker.exchange.api"}),
    # history files read column-wise into integer arrays (pyarrow, numpy)
    "gridmaker.history": frozenset({"gridmaker.core", "gridmaker.feeds"}),
    # the orchestrator, executors and sessions: never a concrete exchange
    "gridmaker.engine": frozenset(
        {
            "gridmaker.core",
            "gridmaker.exchange.api",
            "gridmaker.store",
            "gridmaker.feeds",
            "gridmaker.db",
            "gridmaker.failpoints",
        }
    ),
    # the backtester: the core over a fill model, fed typed setups
    "gridmaker.backtest": frozenset(
        {"gridmaker.core", "gridmaker.feeds", "gridmaker.history", "gridmaker.engine"}
    ),
    # the user's file, parsed once into typed setups
    "gridmaker.config": frozenset(
        {
            "gridmaker.core",
            "gridmaker.exchange",
            "gridmaker.exchange.api",
            "gridmaker.feeds",
            "gridmaker.backtest",
        }
    ),
    # operating a running bot: its API, metrics, alerts, watchdog and live view; observers of
    # the engine's notices and readers of its books, never a second writer
    "gridmaker.ops": frozenset(
        {
            "gridmaker.core",
            "gridmaker.exchange.api",
            "gridmaker.store",
            "gridmaker.engine",
            "gridmaker.db",
            "gridmaker.config",  # the API checks a market's section with the config's models
        }
    ),
    # the fleet: grids declared in PostgreSQL, owned under an epoch, assigned by DBOS
    "gridmaker.fleet": frozenset(
        {
            "gridmaker.core",
            "gridmaker.failpoints",
            "gridmaker.db",
            "gridmaker.exchange.api",
            "gridmaker.exchange",
            "gridmaker.exchange.ccxt",
            "gridmaker.store",
            "gridmaker.engine",
            "gridmaker.config",
        }
    ),
    # commands: the only place concrete classes are wired together
    "gridmaker.cli": frozenset(
        {
            "gridmaker.core",
            "gridmaker.failpoints",
            "gridmaker.db",
            "gridmaker.exchange.api",
            "gridmaker.store",
            "gridmaker.exchange",
            "gridmaker.exchange.ccxt",
            "gridmaker.exchange.sim",
            "gridmaker.feeds",
            "gridmaker.history",
            "gridmaker.engine",
            "gridmaker.backtest",
            "gridmaker.config",
            "gridmaker.ops",
            "gridmaker.fleet",
        }
    ),
    # ``python -m gridmaker``
    "gridmaker.__main__": frozenset({"gridmaker.cli"}),
}
CORE_BANNED = {"asyncio", "time", "random", "logging", "sqlite3", "socket", "datetime", "os"}


# --- the checker ---------------------------------------------------------------------------


def module_files(root: Path, package: str) -> dict[str, Path]:
    """Every module of ``package`` under ``root`` by dotted name (``a/__init__.py`` is ``a``)."""
    found: dict[str, Path] = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imported_names(module: str, path: Path) -> list[tuple[str, int]]:
    """Every dotted name ``module`` imports, anywhere in the file, with its line.

    ``from a import b`` yields ``a.b``: an edge to the submodule ``a.b`` if there is one,
    else to ``a`` (``resolve`` decides). Relative imports are made absolute.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    here = module.split(".") if is_package else module.split(".")[:-1]
    names: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - (node.level - 1)]
                parent = ".".join([*base, *([node.module] if node.module else [])])
            else:
                parent = node.module or ""
            names.extend((f"{parent}.{alias.name}", node.lineno) for alias in node.names)
    return names


def resolve(name: str, modules: Mapping[str, Path]) -> str | None:
    """The module of ours that ``name`` is, or lies in; ``None`` for anything else."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def import_graph(root: Path, package: str) -> dict[str, dict[str, int]]:
    """Module → {imported module of ours → first line}, self-imports left out."""
    modules = module_files(root, package)
    graph: dict[str, dict[str, int]] = {}
    for module, path in modules.items():
        edges: dict[str, int] = {}
        for name, line in imported_names(module, path):
            target = resolve(name, modules)
            if target is not None and target != module:
                edges.setdefault(target, line)
        graph[module] = edges
    return graph


def find_cycles(graph: Mapping[str, Mapping[str, int]]) -> list[list[str]]:
    """One cycle (``a → … → a``) per strongly connected component that has one."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan; the graph has a few hundred nodes
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, {}):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                components.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_cycle_in(sorted(c), graph) for c in components]


def _cycle_in(component: list[str], graph: Mapping[str, Mapping[str, int]]) -> list[str]:
    """A shortest path from the component's first module back to itself."""
    members = set(component)
    start = component[0]
    paths: dict[str, list[str]] = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for nxt in sorted(graph[node]):
            if nxt == start:
                return [*paths[node], start]
            if nxt in members and nxt not in paths:
                paths[nxt] = [*paths[node], nxt]
                queue.append(nxt)
    raise AssertionError(f"no cycle through {start}")  # pragma: no cover


def unit_of(module: str, layers: Mapping[str, object]) -> str | None:
    """The layer unit ``module`` belongs to: the longest dotted prefix on the map.

    The root package (a name without a dot) stands for its ``__init__`` only, so a new
    top-level module or package is on no unit until it is placed on the map.
    """
    best: str | None = None
    for unit in layers:
        inside = "." in unit and module.startswith(unit + ".")
        if (module == unit or inside) and (best is None or len(unit) > len(best)):
            best = unit
    return best


def layer_offenders(
    graph: Mapping[str, Mapping[str, int]], layers: Mapping[str, frozenset[str]]
) -> list[str]:
    """Each import that leaves its unit for one the map does not allow, and each unmapped module."""
    offenders: list[str] = []
    for module, edges in sorted(graph.items()):
        unit = unit_of(module, layers)
        if unit is None:
            offenders.append(f"{module}: not on the layer map")
            continue
        for target, line in sorted(edges.items()):
            target_unit = unit_of(target, layers)
            if target_unit != unit and target_unit not in layers[unit]:
                offenders.append(f"{module}:{line} imports {target} ({unit} → {target_unit})")
    return offenders


def map_is_layered(layers: Mapping[str, frozenset[str]]) -> list[str]:
    """Units that allow a unit listed above them, or an unknown one: the map must point down."""
    order = list(layers)
    return [
        f"{unit} → {dep}"
        for unit, deps in layers.items()
        for dep in sorted(deps)
        if dep not in layers or order.index(dep) >= order.index(unit)
    ]


# --- the checks on src/gridmaker -----------------------------------------------------------

GRAPH = import_graph(SRC, "gridmaker")
FILES = module_files(SRC, "gridmaker")


def test_the_map_itself_points_down() -> None:
    # Act
    wrong = map_is_layered(LAYERS)

    # Assert
    assert not wrong


def test_no_import_cycle_among_modules() -> None:
    # Act
    cycles = find_cycles(GRAPH)

    # Assert
    assert not cycles, "import cycles:\n" + "\n".join(" → ".join(c) for c in cycles)


def test_every_import_points_down_the_layer_map() -> None:
    # Act
    offenders = layer_offenders(GRAPH, LAYERS)

    # Assert
    assert not offenders, "upward or sideways imports:\n" + "\n".join(offenders)


def test_no_module_defers_its_imports_with_noqa_e402() -> None:
    # Act
    offenders = [
        f"{module}:{number}"
        for module, path in FILES.items()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "noqa: E402" in line.replace("noqa:E402", "noqa: E402")
    ]

    # Assert
    assert not offenders


def test_no_module_is_over_the_line_limit() -> None:
    # Act
    lengths = {m: len(p.read_text(encoding="utf-8").splitlines()) for m, p in FILES.items()}
    offenders = {m: n for m, n in lengths.items() if n > MAX_LINES}

    # Assert
    assert not offenders, f"over {MAX_LINES} lines: {offenders}"


@pytest.mark.parametrize(
    "module", sorted(m for m in FILES if unit_of(m, LAYERS) == "gridmaker.core")
)
def test_core_module_imports_only_stdlib_and_core(module: str) -> None:
    # Arrange
    imports = [name for name, _ in imported_names(module, FILES[module])]
    tops = {n.split(".")[0] for n in imports if n}

    # Act
    ours = [n for n in imports if n.split(".")[0] == "gridmaker"]
    banned = sorted(tops & CORE_BANNED)
    third_party = sorted(tops - {"gridmaker", "__future__"} - set(sys.stdlib_module_names))

    # Assert
    assert not banned, f"{module} imports {banned}"
    assert not third_party, f"{module} imports {third_party}"
    assert all(n == "gridmaker.core" or n.startswith("gridmaker.core.") for n in ours), ours


# --- the checker is not vacuous ------------------------------------------------------------

FAKE_LAYERS: dict[str, frozenset[str]] = {
    "fake.low": frozenset(),
    "fake.mid.api": frozenset({"fake.low"}),
    "fake.mid": frozenset({"fake.low", "fake.mid.api"}),
    "fake.top": frozenset({"fake.low", "fake.mid.api"}),
}


def _fake_package(root: Path, files: Mapping[str, str]) -> None:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for directory in {p for p in root.rglob("*") if p.is_dir()}:
        (directory / "__init__.py").touch()


def test_checker_reports_a_cycle_through_a_function_local_import(tmp_path: Path) -> None:
    # Arrange
    _fake_package(
        tmp_path,
        {
            "fake/low/a.py": "from fake.low import b\n",
            "fake/low/b.py": "def f() -> None:\n    from . import c\n",
            "fake/low/c.py": "import fake.low.a\n",
            "fake/low/d.py": "from fake.low.a import x\n",
        },
    )

    # Act
    cycles = find_cycles(import_graph(tmp_path, "fake"))

    # Assert
    assert cycles == [["fake.low.a", "fake.low.b", "fake.low.c", "fake.low.a"]]


def test_checker_reports_upward_sideways_and_unmapped_imports(tmp_path: Path) -> None:
    # Arrange
    _fake_package(
        tmp_path,
        {
            "fake/low/base.py": "def f() -> None:\n    from fake.top import cmd\n",
            "fake/mid/api.py": "from fake.low.base import f\n",
            "fake/mid/impl.py": "from ..low import base\nfrom . import api\n",
            "fake/top/cmd.py": "from fake.mid import impl\nfrom fake.mid.api import f\n",
            "fake/stray.py": "",
        },
    )

    # Act
    offenders = layer_offenders(import_graph(tmp_path, "fake"), FAKE_LAYERS)

    # Assert
    assert offenders == [
        "fake: not on the layer map",
        "fake.low.base:2 imports fake.top.cmd (fake.low → fake.top)",
        "fake.stray: not on the layer map",
        "fake.top.cmd:1 imports fake.mid.impl (fake.top → fake.mid)",
    ]


def test_checker_finds_nothing_in_a_clean_package(tmp_path: Path) -> None:
    # Arrange
    _fake_package(
        tmp_path,
        {
            "fake/low/base.py": "import os\n",
            "fake/mid/api.py": "from fake.low.base import os\n",
            "fake/top/cmd.py": "from fake.mid.api import os\n",
        },
    )
    layers = {"fake": frozenset[str](), **FAKE_LAYERS}
    graph = import_graph(tmp_path, "fake")

    # Act
    found = (find_cycles(graph), layer_offenders(graph, layers), map_is_layered(layers))

    # Assert
    assert found == ([], [], [])
    assert graph["fake.top.cmd"] == {"fake.mid.api": 1}


def test_checker_refuses_a_map_that_points_up() -> None:
    # Act
    wrong = map_is_layered({"a": frozenset({"b"}), "b": frozenset()})

    # Assert
    assert wrong == ["a → b"]
