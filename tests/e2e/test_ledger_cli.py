"""``gridmaker ledger --rebuild`` equals the running ledger after a session with restarts.

The simulator (``gridmaker sim-exchange``) and the bot are separate processes talking HTTP on
127.0.0.1; the bot runs in bounded chunks on one data dir, the first killed (SIGKILL) inside the
transaction that applies a fill, so the venue holds a fill the journal does not until the
restart reads it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.bad_inputs.kit import fingerprint
from tests.kit.cli import gridmaker, last_json
from tests.kit.processes import sim_exchange

pytestmark = pytest.mark.e2e
STEPS = "400"
KILL_INSIDE_A_FILL = {"GRIDMAKER_FAILPOINT": "fill:in-transaction:n=3"}


def _config(tmp: Path, url: str) -> Path:
    path = tmp / "venue.yaml"
    path.write_text(f"exchange: binance\nvenue:\n  base_url: {url}\n")
    return path


def _run(config: Path, data: Path, env: dict[str, str] | None = None) -> int:
    got = gridmaker(
        "run", "--config", str(config), "--data-dir", str(data), "--steps", STEPS, env=env
    )
    assert "Traceback" not in got.stderr, got.stderr[-3000:]
    return got.returncode


def _ledger(config: Path, data: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    got = gridmaker("ledger", "--config", str(config), "--data-dir", str(data), "--json", *args)
    assert "Traceback" not in got.stderr, got.stderr[-3000:]
    return got.returncode, json.loads(got.stdout.strip().splitlines()[-1]), got.stderr


def test_ledger_rebuild_after_restarts_equals_the_running_ledger(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with sim_exchange(tmp_path / "sim") as url:
        config = _config(tmp_path, url)
        # Arrange: a chunk killed inside a fill, then a restart that recovers it.
        assert _run(config, data, KILL_INSIDE_A_FILL) == -9
        killed = gridmaker("ledger", "--config", str(config), "--data-dir", str(data), "--rebuild")
        assert killed.returncode == 6, killed.stderr
        assert "DIFFERS from the running ledger" in killed.stdout
        assert re.search(r"trade ids only at the venue: \d+\n", killed.stdout), killed.stdout
        assert "only in the journal" not in killed.stdout
        assert _run(config, data) == 0
        before = fingerprint(data)

        # Act
        running = last_json(
            gridmaker("ledger", "--config", str(config), "--data-dir", str(data), "--json")
        )
        code, rebuilt, stderr = _ledger(config, data, "--rebuild")

    # Assert
    assert code == 0, stderr
    assert rebuilt["equal"] is True
    assert rebuilt["running"] == running
    assert rebuilt["rebuilt"] == running
    assert (rebuilt["only_journal"], rebuilt["only_venue"], rebuilt["differ"]) == ([], [], [])
    assert running["buys"] > 0 and running["sells"] > 0 and running["levels"]
    assert fingerprint(data) == before  # both read only


def test_ledger_builtin_exchange_without_changes_agrees_with_the_book(tmp_path: Path) -> None:
    # Arrange: the default grid on the built-in exchange, never reconfigured or stopped
    made = gridmaker("run", "--steps", "1500", "--seed", "3", "--json", cwd=tmp_path)
    book = last_json(made)

    # Act
    human = gridmaker("ledger", cwd=tmp_path)
    code, rebuilt, stderr = _ledger_builtin(tmp_path)

    # Assert
    assert human.returncode == 0, human.stderr
    assert "per level" in human.stdout and "E+" not in human.stdout
    assert code == 0 and rebuilt["equal"], stderr
    ledger = rebuilt["running"]
    assert ledger["fees"] == ledger["book_fees"] == book["fees"]
    assert ledger["fills"] == book["fills"]
    assert ledger["realized_pnl"] == ledger["book_realized_pnl"] == book["realized_pnl"]


def _ledger_builtin(tmp: Path) -> tuple[int, dict[str, Any], str]:
    got = gridmaker("ledger", "--rebuild", "--json", cwd=tmp)
    return got.returncode, json.loads(got.stdout.strip().splitlines()[-1]), got.stderr
