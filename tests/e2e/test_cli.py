"""The ``gridmaker`` command as a user runs it: a subprocess in a temp dir."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e


def gridmaker(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gridmaker.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        env=env,
    )


def _summary(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_run_5000_steps_prints_a_summary_and_fills_the_store(tmp_path: Path) -> None:
    # Act
    result = gridmaker("run", "--steps", "5000", "--seed", "3", "--json", cwd=tmp_path)

    # Assert
    summary = _summary(result)
    assert summary["buy_fills"] > 0 and summary["sell_fills"] > 0
    assert summary["fills"] == summary["buy_fills"] + summary["sell_fills"]
    assert summary["feed_position"] == 5000
    store = tmp_path / "gridmaker-data" / "gridmaker.sqlite"
    with closing(sqlite3.connect(store)) as db:
        (fills,) = db.execute("SELECT count(*) FROM fills").fetchone()
        (intents,) = db.execute("SELECT count(*) FROM intents").fetchone()
    assert fills == summary["fills"]
    assert intents >= summary["open_orders"]


def test_run_again_resumes_and_status_reads_the_book(tmp_path: Path) -> None:
    # Arrange
    first = _summary(gridmaker("run", "--steps", "3000", "--json", cwd=tmp_path))

    # Act
    second = _summary(gridmaker("run", "--steps", "3000", "--json", cwd=tmp_path))
    status = _summary(gridmaker("status", "--json", cwd=tmp_path))

    # Assert
    assert second["feed_position"] == 6000
    assert second["fills"] >= first["fills"]
    assert status["fills"] == second["fills"] == status["recorded_fills"]
    assert status["open_orders"] == second["open_orders"]


def test_corrupt_state_makes_run_and_status_refuse(tmp_path: Path) -> None:
    # Arrange
    _summary(gridmaker("run", "--steps", "500", "--json", cwd=tmp_path))
    path = tmp_path / "gridmaker-data" / "gridmaker.sqlite"
    raw = bytearray(path.read_bytes())
    at = raw.find(b'"buy_fills":') + len(b'"buy_fills":')
    raw[at] = ord("9") if raw[at] != ord("9") else ord("8")
    path.write_bytes(bytes(raw))

    # Act
    run = gridmaker("run", "--steps", "10", cwd=tmp_path)
    status = gridmaker("status", cwd=tmp_path)

    # Assert
    for result in (run, status):
        assert result.returncode == 3
        assert "fails its checksum" in result.stderr
        assert "gridmaker.sqlite" in result.stderr


def test_invalid_config_names_the_field(tmp_path: Path) -> None:
    # Arrange
    (tmp_path / "bad.yaml").write_text(
        "markets:\n  - symbol: BTC/USDT\n    grid:\n      buy_levels: 0\n      spacng: '1%'\n"
    )

    # Act
    result = gridmaker("run", "--config", "bad.yaml", cwd=tmp_path)

    # Assert
    assert result.returncode == 2
    assert "markets[0].grid.buy_levels" in result.stderr
    assert "markets[0].grid.spacng: unknown key" in result.stderr


@pytest.mark.parametrize(
    ("args", "config", "says"),
    [
        (["--exchange", "nosuchvenue"], "", "neither 'sim' nor a ccxt exchange id"),
        (["--base-url", "http://127.0.0.1:9"], "", "is for a ccxt exchange (--exchange ID"),
        (["--exchange", "binance", "--base-url", "ftp://127.0.0.1:9"], "", "venue.base_url"),
        ([], "exchange: binance\nvenue:\n  sandbox: true\n", "needs API keys"),
        ([], "exchange: binance\nvenue:\n  api_key: abc\n", "venue.api_key: unknown key"),
    ],
)
def test_venue_choice_is_checked_before_anything_starts(
    tmp_path: Path, args: list[str], config: str, says: str
) -> None:
    # Arrange: no keys in the environment; nothing listens anywhere.
    (tmp_path / "venue.yaml").write_text(config or "{}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDMAKER_API")}

    # Act
    result = gridmaker("run", "--config", "venue.yaml", *args, cwd=tmp_path, env=env)

    # Assert: refused as a config error, naming what is wrong, before any state exists.
    assert result.returncode == 2, result.stderr
    assert says in " ".join(result.stderr.split())
    assert not (tmp_path / "gridmaker-data").exists()


def test_python_dash_m_gridmaker_is_the_same_command(tmp_path: Path) -> None:
    # Arrange
    _summary(gridmaker("run", "--steps", "300", "--json", cwd=tmp_path))

    # Act
    package = subprocess.run(
        [sys.executable, "-m", "gridmaker", "status", "--json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )

    # Assert
    assert _summary(package) == _summary(gridmaker("status", "--json", cwd=tmp_path))


def _open_in(data_dir: Path) -> list[str]:
    """The files of ``data_dir`` this process holds open."""
    fds = Path("/proc/self/fd")
    targets = []
    for fd in fds.iterdir():
        try:
            targets.append(str(fd.readlink()))
        except OSError:
            continue
    return [t for t in targets if t.startswith(str(data_dir.resolve()))]


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")
def test_a_run_refused_after_it_opened_the_data_dir_leaves_nothing_open(tmp_path: Path) -> None:
    # Arrange: a data dir bound to the walk of seed 3; seed 4 is refused at the feed binding,
    # after the lock, the store, the exchange file and the executor were opened.
    from typer.testing import CliRunner

    from gridmaker.cli.app import app
    from gridmaker.store import DataDirLock

    data_dir = tmp_path / "data"
    _summary(
        gridmaker(
            "run", "--steps", "200", "--seed", "3", "--data-dir", "data", "--json", cwd=tmp_path
        )
    )

    # Act
    result = CliRunner().invoke(
        app, ["run", "--steps", "10", "--seed", "4", "--data-dir", str(data_dir)]
    )

    # Assert: refused (4), and every file it opened is closed and the lock released.
    assert result.exit_code == 4, result.output
    assert _open_in(data_dir) == []
    lock = DataDirLock(data_dir)
    lock.acquire()
    lock.release()
