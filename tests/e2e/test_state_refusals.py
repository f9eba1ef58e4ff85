"""Refusals of stored state through the CLI that the table-driven suite cannot state."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

SECRET = "hunter2-pw"


@pytest.mark.parametrize(
    ("url", "code"),
    [
        (f"postgresql://u:{SECRET}@127.0.0.1:1/db", 5),
        (f"postgresql://u:{SECRET}@127.0.0.1:notaport/db", 2),
        (f"mysql://u:{SECRET}@127.0.0.1:1/db", 2),
        (f"postgresql://u:{SECRET}@127.0.0.1:1", 2),
    ],
)
def test_system_db_url_password_never_reaches_the_output(
    tmp_path: Path, url: str, code: int
) -> None:
    # Arrange
    env = {**os.environ, "GRIDMAKER_SYSTEM_DB_URL": url, "COLUMNS": "200"}

    # Act
    result = subprocess.run(
        [sys.executable, "-m", "gridmaker.cli", "run", "--engine", "durable", "--steps", "5"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    # Assert: named, redacted, refused before the data dir exists.
    output = result.stdout + result.stderr
    assert result.returncode == code, output
    assert "GRIDMAKER_SYSTEM_DB_URL" in output
    assert SECRET not in output
    assert "Traceback" not in output
    assert not (tmp_path / "gridmaker-data").exists()
