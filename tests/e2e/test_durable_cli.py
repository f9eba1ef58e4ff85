"""``gridmaker run --engine durable`` and ``gridmaker shadow`` as real processes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.kit.cli import gridmaker, last_json

pytestmark = pytest.mark.e2e


def test_durable_run_gives_the_simple_engines_summary(tmp_path: Path) -> None:
    # Act
    simple, durable = (
        last_json(
            gridmaker(
                *("run", "--engine", engine, "--steps", "2000", "--seed", "1", "--json"),
                *("--data-dir", str(tmp_path / engine)),
            )
        )
        for engine in ("simple", "durable")
    )

    # Assert
    assert simple.pop("data_dir") != durable.pop("data_dir")
    assert simple == durable and simple["fills"] > 0
    assert (tmp_path / "durable" / "dbos.sqlite").exists()


def test_shadow_on_a_generated_feed_reports_identical_streams(tmp_path: Path) -> None:
    # Act
    result = gridmaker("shadow", "--steps", "1500", "--seed", "2", "--json")

    # Assert
    verdict = last_json(result)
    assert set(verdict) == {"events", "actions_simple", "actions_durable", "identical"}
    assert verdict["identical"] is True and verdict["events"] > 0
    assert verdict["actions_simple"] == verdict["actions_durable"] > 40
    assert "identical" in result.stderr


def test_unknown_engine_is_a_config_error(tmp_path: Path) -> None:
    result = gridmaker("run", "--engine", "magic", "--data-dir", str(tmp_path))

    assert result.returncode == 2 and "simple, durable" in result.stderr
