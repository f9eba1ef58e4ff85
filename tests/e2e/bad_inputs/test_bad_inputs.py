"""Every case of every area: the documented exit code, the culprit named, no traceback,
nothing on disk changed."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping
from pathlib import Path

import pytest

import tests.e2e.bad_inputs as package
from tests.e2e.bad_inputs.kit import BadInput, run_case

pytestmark = pytest.mark.e2e


def _all_cases() -> list[BadInput]:
    cases: list[BadInput] = []
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if info.name.startswith("cases_"):
            module = importlib.import_module(f"{package.__name__}.{info.name}")
            cases.extend(module.CASES)
    return cases


CASES = _all_cases()


def test_the_suite_covers_at_least_sixty_mistakes_with_unique_ids() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)), "duplicate case ids"
    assert len(CASES) >= 60


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_answered_clearly_and_changes_nothing(
    case: BadInput, tmp_path: Path, templates: Mapping[str, Path]
) -> None:
    # Act
    outcome = run_case(case, tmp_path, templates)

    # Assert
    assert "Traceback" not in outcome.output, outcome.output
    assert outcome.returncode == case.exit_code, outcome.output
    assert case.culprit.lower() in outcome.output.lower(), outcome.output
    assert outcome.after == outcome.before, "files changed under the case's dir"
