"""``run --api`` on the built-in exchange: the API comes up, the run still ends cleanly, and a
loopback API without a chosen token gets one made once, readable by its owner only."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest

from tests.kit.cli import gridmaker, last_json

pytestmark = pytest.mark.e2e


def test_run_with_the_api_ends_cleanly_and_keeps_its_made_token(tmp_path: Path) -> None:
    # Arrange
    data = tmp_path / "data"

    # Act
    first = gridmaker(
        "run",
        "--steps",
        "800",
        "--data-dir",
        str(data),
        "--api",
        "127.0.0.1:0",
        "--json",
        env={"GRIDMAKER_API_TOKEN": None},
    )
    token_file = data / "api.token"
    made = token_file.read_text(encoding="utf-8").strip() if token_file.exists() else ""
    second = gridmaker(
        "run",
        "--steps",
        "200",
        "--data-dir",
        str(data),
        "--api",
        "0",
        "--json",
        env={"GRIDMAKER_API_TOKEN": None},
    )

    # Assert
    assert first.returncode == 0, first.stderr[-2000:]
    assert re.search(r"api: http://127\.0\.0\.1:\d+ \(token from .*api\.token\)", first.stderr)
    assert len(made) >= 32
    assert made not in first.stderr + first.stdout  # the token itself is never printed
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert last_json(second)["symbol"] == "BTC/USDT"
    assert token_file.read_text(encoding="utf-8").strip() == made


def test_run_with_a_chosen_token_makes_no_token_file(tmp_path: Path) -> None:
    # Act
    result = gridmaker(
        "run",
        "--steps",
        "200",
        "--data-dir",
        str(tmp_path / "data"),
        "--api",
        "0",
        env={"GRIDMAKER_API_TOKEN": "a-token-the-operator-chose-1234"},
    )

    # Assert
    assert result.returncode == 0, result.stderr[-2000:]
    assert "token from GRIDMAKER_API_TOKEN" in result.stderr
    assert not (tmp_path / "data" / "api.token").exists()
