"""``gridmaker reconfigure`` with no bot running, on the built-in simulator's data dir.

The change is checked and queued; the next ``run`` with the new config boots on the old book
(the queued change says where it goes) and the loop applies it right after the boot.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from gridmaker.store import DataDirLock, Store
from tests.kit.cli import gridmaker, last_json
from tests.kit.waiting import eventually

pytestmark = pytest.mark.e2e

NEW = 'markets:\n  - grid:\n      spacing: "0.5%"\n      buy_levels: 10\n      sell_levels: 10\n'
TWO = (
    "sim:\n  instruments:\n    BTC/USDT: {}\n    ETH/USDT: {}\n"
    "markets:\n  - symbol: BTC/USDT\n  - symbol: ETH/USDT\n"
)
"""The template's market as it runs, and a market the data dir has no book of."""


def _commands(data_dir: Path) -> list[tuple[int, str | None, str | None]]:
    """(id, applied_at, outcome) of every journaled command."""
    db = sqlite3.connect(f"file:{data_dir / 'gridmaker.sqlite'}?mode=ro", uri=True)
    try:
        return db.execute("SELECT id, applied_at, outcome FROM commands ORDER BY id").fetchall()
    finally:
        db.close()


def _reconfigure(config: Path, data_dir: Path, *extra: str) -> dict[str, Any]:
    return last_json(
        gridmaker(
            "reconfigure", "--config", str(config), "--data-dir", str(data_dir), "--json", *extra
        )
    )


def test_reconfigure_stopped_bot_is_queued_then_applied_after_the_next_boot(
    tmp_path: Path,
) -> None:
    # Arrange
    data_dir = tmp_path / "data"
    made = gridmaker("run", "--steps", "300", "--seed", "7", "--data-dir", str(data_dir))
    assert made.returncode == 0, made.stderr
    new = tmp_path / "new.yaml"
    new.write_text(NEW)

    # Act
    first = _reconfigure(new, data_dir, "--yes")
    second = _reconfigure(new, data_dir, "--yes")
    again = gridmaker(
        "run", "--config", str(new), "--seed", "7", "--steps", "10", "--data-dir", str(data_dir)
    )
    after = _reconfigure(new, data_dir)

    # Assert
    market = first["markets"][0]
    assert market["status"] == "change" and market["result"] == "queued"
    assert market["kept"] and market["cancels"]
    assert "no bot runs" in first["note"]
    assert second["markets"][0]["queued_before"] == [market["command_id"]]
    assert again.returncode == 0, again.stderr
    assert [c[1] is not None and not c[2] for c in _commands(data_dir)] == [True, True]
    assert after["markets"][0]["status"] == "unchanged"
    assert after["note"] == "nothing to queue"
    assert len(_commands(data_dir)) == 2


def test_reconfigure_market_without_a_book_or_config_is_named_and_queues_nothing(
    tmp_path: Path,
) -> None:
    # Arrange
    data_dir = tmp_path / "data"
    made = gridmaker("run", "--steps", "300", "--seed", "7", "--data-dir", str(data_dir))
    assert made.returncode == 0, made.stderr
    config, eth = tmp_path / "two.yaml", tmp_path / "eth.yaml"
    config.write_text(TWO)
    eth.write_text(TWO.replace("  - symbol: BTC/USDT\n", ""))

    # Act
    shown = gridmaker("reconfigure", "--config", str(config), "--data-dir", str(data_dir))
    eth_only = gridmaker("reconfigure", "--config", str(eth), "--data-dir", str(data_dir))

    # Assert
    assert shown.returncode == 0, shown.stderr
    assert "BTC/USDT: the book already runs these settings" in shown.stdout
    assert "ETH/USDT: no book in this data dir yet" in shown.stdout
    assert "nothing to queue" in shown.stdout
    assert eth_only.returncode == 0, eth_only.stderr
    assert "BTC/USDT: not in the new config; its book is left as it is" in eth_only.stdout
    assert _commands(data_dir) == []


def test_reconfigure_refused_by_the_running_loop_exits_2_with_why(tmp_path: Path) -> None:
    # Arrange: the data dir held as a running bot holds it; its "loop" refuses what it finds
    data_dir = tmp_path / "data"
    made = gridmaker("run", "--steps", "300", "--seed", "7", "--data-dir", str(data_dir))
    assert made.returncode == 0, made.stderr
    new = tmp_path / "new.yaml"
    new.write_text(NEW)
    lock = DataDirLock(data_dir)
    lock.acquire()

    def loop_refuses() -> None:
        store = Store(data_dir / "gridmaker.sqlite")
        try:
            pending = eventually(store.pending_commands, timeout_s=60, what="a queued change")
            store.mark_command_applied(pending[0].id, "BTC/USDT: the book moved on")
        finally:
            store.close()

    loop = threading.Thread(target=loop_refuses)
    loop.start()
    try:
        # Act
        answer = gridmaker(
            "reconfigure",
            "--config",
            str(new),
            "--data-dir",
            str(data_dir),
            "--yes",
            "--wait",
            "30",
        )
    finally:
        loop.join(timeout=60)
        lock.release()

    # Assert
    assert answer.returncode == 2, answer.stdout + answer.stderr
    assert "refused BTC/USDT's change: BTC/USDT: the book moved on" in answer.stderr
    assert "Traceback" not in answer.stderr
