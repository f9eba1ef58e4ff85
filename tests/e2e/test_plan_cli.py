"""``gridmaker plan`` as a user runs it, on a data dir a real run of the simulator made."""

from __future__ import annotations

import json
import math
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from tests.e2e.bad_inputs.kit import fingerprint
from tests.kit.cli import gridmaker, last_json

pytestmark = pytest.mark.e2e

SEED = "3"
WIDER = """\
markets:
  - symbol: BTC/USDT
    grid: {spacing: "0.25%", buy_levels: 25, sell_levels: 25}
"""
NARROWER = """\
markets:
  - symbol: BTC/USDT
    grid: {spacing: "0.5%", buy_levels: 5, sell_levels: 5}
"""
OTHER_ID = """\
markets:
  - symbol: BTC/USDT
    strategy_id: other
"""


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir after 2,000 trades of the default grid on the built-in simulator."""
    work = tmp_path_factory.mktemp("made")
    result = gridmaker("run", "--steps", "2000", "--seed", SEED, "--json", cwd=work)
    assert result.returncode == 0, result.stderr[-3000:]
    return work / "gridmaker-data"


@pytest.fixture()
def work(tmp_path: Path, made: Path) -> Path:
    """A copy of that data dir (``gridmaker-data``) and the configs, in a fresh folder."""
    shutil.copytree(made, tmp_path / "gridmaker-data")
    for name, text in (("wider.yaml", WIDER), ("narrower.yaml", NARROWER), ("id.yaml", OTHER_ID)):
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def _orders(work: Path) -> dict[str, str]:
    """Client id -> status of every order the simulated venue ever took."""
    with closing(sqlite3.connect(work / "gridmaker-data" / "exchange.sqlite")) as db:
        return dict(db.execute("SELECT client_order_id, status FROM orders").fetchall())


def test_plan_wider_grid_keeps_every_order_and_writes_nothing(work: Path) -> None:
    # Arrange
    before = fingerprint(work / "gridmaker-data")
    open_before = sum(1 for s in _orders(work).values() if s == "open")

    # Act
    result = gridmaker("plan", "--config", "wider.yaml", cwd=work)

    # Assert
    assert result.returncode == 0, result.stderr
    assert f"{open_before} kept, 0 cancelled, 10 placed" in result.stdout
    assert "10 added, 0 removed, 0 repriced" in result.stdout
    assert "plan: allowed" in result.stdout
    assert fingerprint(work / "gridmaker-data") == before


def test_plan_json_predicts_exactly_what_reconfigure_then_sends(work: Path) -> None:
    # Arrange
    planned = last_json(gridmaker("plan", "--config", "narrower.yaml", "--json", cwd=work))
    before = _orders(work)

    # Act: queue the change, then start the bot with the new config; it applies it at boot.
    queued = gridmaker("reconfigure", "--config", "narrower.yaml", "--yes", cwd=work)
    again = gridmaker("plan", "--config", "narrower.yaml", cwd=work)
    ran = gridmaker("run", "--config", "narrower.yaml", "--steps", "1", "--seed", SEED, cwd=work)

    # Assert
    assert queued.returncode == 0 and ran.returncode == 0, queued.stderr + ran.stderr
    (market,) = planned["markets"]
    orders = market["orders"]
    after = _orders(work)
    sent = set(after) - set(before)
    cancelled = {c for c, s in before.items() if s == "open" and after[c] == "canceled"}
    assert sent == {p["cid"] for p in orders["place"]} and sent
    assert cancelled == set(orders["cancel"]) and cancelled
    assert all(after[c] == "open" for c in orders["keep"]) and orders["keep"]
    assert isinstance(market["capital"]["needed"], str)
    assert "is queued and not applied yet" in again.stderr
    assert planned["allowed"] is True


def test_plan_refused_change_exits_2_and_names_the_problem(work: Path) -> None:
    # Act
    result = gridmaker("plan", "--config", "id.yaml", cwd=work)
    as_json = gridmaker("plan", "--config", "id.yaml", "--json", cwd=work)

    # Assert
    assert result.returncode == 2 and as_json.returncode == 2
    assert "REFUSED" in result.stdout and "strategy_id" in result.stdout
    (market,) = json.loads(as_json.stdout.splitlines()[-1])["markets"]
    assert market["allowed"] is False and "strategy_id" in market["problems"][0]


def test_plan_without_a_book_previews_the_new_grid(tmp_path: Path) -> None:
    # Arrange
    (tmp_path / "wider.yaml").write_text(WIDER, encoding="utf-8")

    # Act
    default = gridmaker("plan", "--config", "wider.yaml", cwd=tmp_path)
    priced = gridmaker("plan", "--config", "wider.yaml", "--price", "40000", "--json", cwd=tmp_path)

    # Assert: the simulator's start price unless told; nothing is created.
    assert default.returncode == 0, default.stderr
    assert "new grid at 50000 (the config's feed.start_price): allowed" in default.stdout
    assert "50 placed at start: 25 buys, 25 sells" in default.stdout
    assert "break-even spacing 100 USDT at 50000" in default.stdout
    (market,) = last_json(priced)["markets"]
    assert (market["kind"], market["price"], market["price_source"]) == ("new", "40000", "--price")
    assert len(market["orders"]["place"]) == 50
    assert not (tmp_path / "gridmaker-data").exists()


def test_plan_history_backtests_old_and_new_side_by_side(work: Path) -> None:
    # Arrange: a slow swing of +-6 % around 50,000 over 3,000 trades.
    rows = [
        f"{1_700_000_000_000 + i * 1000},{50_000 + 3_000 * math.sin(i / 80):.2f},0.01"
        for i in range(3_000)
    ]
    (work / "trades.csv").write_text("timestamp,price,amount\n" + "\n".join(rows) + "\n")

    # Act
    human = gridmaker("plan", "--config", "wider.yaml", "--history", "trades.csv", cwd=work)
    result = gridmaker(
        "plan", "--config", "wider.yaml", "--history", "trades.csv", "--json", cwd=work
    )

    # Assert: the wider grid reaches the swing's ends, the old one does not.
    history = last_json(result)["history"]
    old, new = history["old"], history["new"]
    assert history["prints"] == 3_000
    assert int(new["fills"]) > int(old["fills"]) > 0
    assert all(isinstance(v, str) for v in (*old.values(), *new.values()))
    assert human.returncode == 0
    assert "old" in human.stdout and "realized profit (USDT)" in human.stdout
