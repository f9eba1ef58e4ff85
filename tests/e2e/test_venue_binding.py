"""A data dir belongs to the venue it was made on: the README's reused-dir sequence is refused."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from tests.e2e.bad_inputs.kit import fingerprint
from tests.e2e.test_http_venue import sim_exchange
from tests.kit.cli import gridmaker

pytestmark = pytest.mark.e2e


def _on_sim_exchange(url: str, *args: str) -> tuple[str, ...]:
    return ("run", "--exchange", "binance", "--base-url", url, "--json", *args)


def test_run_data_dir_of_the_builtin_exchange_on_sim_exchange_is_refused(tmp_path: Path) -> None:
    # Arrange: the README's first command, then its sim-exchange on the same default data dir.
    first = gridmaker("run", "--steps", "400", "--json", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    data = tmp_path / "gridmaker-data"
    before = fingerprint(data)

    # Act
    with sim_exchange(tmp_path / "sim", "--state", str(tmp_path / "sim" / "x.sqlite")) as url:
        second = gridmaker(*_on_sim_exchange(url, "--steps", "50"), cwd=tmp_path)

    # Assert
    assert second.returncode == 4, second.stderr
    assert "built-in simulated exchange" in second.stderr
    assert "binance at loopback" in second.stderr
    assert "Traceback" not in second.stderr
    assert fingerprint(data) == before


def test_run_data_dir_of_sim_exchange_on_the_builtin_exchange_is_refused(tmp_path: Path) -> None:
    # Arrange
    with sim_exchange(tmp_path / "sim", "--state", str(tmp_path / "sim" / "x.sqlite")) as url:
        first = gridmaker(*_on_sim_exchange(url, "--steps", "200"), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    data = tmp_path / "gridmaker-data"
    before = fingerprint(data)

    # Act
    second = gridmaker("run", "--steps", "50", cwd=tmp_path)

    # Assert
    assert second.returncode == 4, second.stderr
    assert "belongs to binance at loopback" in second.stderr
    assert "Traceback" not in second.stderr
    assert fingerprint(data) == before


def test_run_same_sim_exchange_state_on_another_port_continues(tmp_path: Path) -> None:
    # Arrange: the simulator keeps its state in a file; it comes back on a new port.
    state = str(tmp_path / "sim" / "x.sqlite")
    with sim_exchange(tmp_path / "sim", "--state", state) as url:
        first = gridmaker(*_on_sim_exchange(url, "--steps", "200"), cwd=tmp_path)
    assert first.returncode == 0, first.stderr

    # Act
    with sim_exchange(tmp_path / "sim", "--state", state) as url:
        second = gridmaker(*_on_sim_exchange(url, "--steps", "200"), cwd=tmp_path)

    # Assert
    assert second.returncode == 0, second.stderr
    assert '"zombies": 0' in second.stdout


def test_run_on_a_new_in_memory_simulator_is_another_venue(tmp_path: Path) -> None:
    # Arrange: a simulator without --state forgets every order when it stops.
    with sim_exchange(tmp_path / "sim") as url:
        first = gridmaker(*_on_sim_exchange(url, "--steps", "200"), cwd=tmp_path)
    assert first.returncode == 0, first.stderr

    # Act
    with sim_exchange(tmp_path / "sim") as url:
        second = gridmaker(*_on_sim_exchange(url, "--steps", "50"), cwd=tmp_path)

    # Assert
    assert second.returncode == 4, second.stderr
    assert "account" in second.stderr


def test_run_data_dir_made_before_binding_with_the_builtin_exchange_is_refused_elsewhere(
    tmp_path: Path,
) -> None:
    # Arrange: a built-in run's data dir as an older gridmaker left it (no binding yet).
    first = gridmaker("run", "--steps", "300", "--json", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    data = tmp_path / "gridmaker-data"
    with closing(sqlite3.connect(data / "gridmaker.sqlite")) as db:
        db.execute("DELETE FROM venue")
        db.commit()

    # Act
    with sim_exchange(tmp_path / "sim", "--state", str(tmp_path / "sim" / "x.sqlite")) as url:
        second = gridmaker(*_on_sim_exchange(url, "--steps", "50"), cwd=tmp_path)

    # Assert: its exchange file says where it belongs.
    assert second.returncode == 4, second.stderr
    assert "built-in simulated exchange" in second.stderr
