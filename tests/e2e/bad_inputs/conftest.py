"""Real data dirs, made once per session by the CLI itself, for cases that damage one."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from tests.e2e.bad_inputs.kit import TEMPLATES


class _Templates(Mapping[str, Path]):
    """Each template is made the first time a case asks for it."""

    def __init__(self, factory: pytest.TempPathFactory) -> None:
        self._factory = factory
        self._made: dict[str, Path] = {}

    def __getitem__(self, name: str) -> Path:
        if name not in self._made:
            work = self._factory.mktemp(f"template-{name}")
            data = work / "data"
            subprocess.run(
                [sys.executable, "-m", "gridmaker.cli", *TEMPLATES[name], "--data-dir", str(data)],
                cwd=work,
                capture_output=True,
                timeout=240,
                check=True,
            )
            self._made[name] = data
        return self._made[name]

    def __iter__(self) -> Iterator[str]:
        return iter(TEMPLATES)

    def __len__(self) -> int:
        return len(TEMPLATES)


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Mapping[str, Path]:
    return _Templates(tmp_path_factory)
