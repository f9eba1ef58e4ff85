"""``gridmaker fleet add|remove|list|status|apply`` as a user runs them, on a real PostgreSQL:
what they write, what they refuse (writing nothing), and what ``status`` shows of owners and
workers (taken here by real ``Leases``, as a worker takes them)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from gridmaker.fleet.leases import Leases, connect_fleet
from tests.kit.cli import gridmaker, last_json

pytestmark = pytest.mark.e2e

VENUE = "exchange: binance\nvenue:\n  base_url: http://127.0.0.1:9\n"
GRID = VENUE + "markets:\n  - symbol: BTC/USDT\n"


def _fleet(url: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return gridmaker("fleet", *args, cwd=cwd, env={"GRIDMAKER_STORE_URL": url})


def _rows(url: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as db:
        return db.execute(
            "SELECT name, account, config, removed_at IS NOT NULL, remove_mode "
            "FROM gridmaker.fleet_grids ORDER BY name"
        ).fetchall()


def _has_schema(url: str) -> bool:
    with psycopg.connect(url) as db:
        row = db.execute("SELECT count(*) FROM pg_namespace WHERE nspname = 'gridmaker'")
        return bool(row.fetchone() == (1,))


def test_fleet_add_list_remove_keeps_the_config_text_and_the_name(
    tmp_path: Path, pg_url: str
) -> None:
    # Arrange: a config as a person writes it (a comment, its own spacing)
    config = tmp_path / "g.yaml"
    config.write_text("# grid one\n" + GRID)

    # Act
    added = _fleet(pg_url, "add", "g1", "--config", str(config), "--account", "main")
    again = _fleet(pg_url, "add", "g1", "--config", str(config))
    removed = _fleet(pg_url, "remove", "g1", "--leave")
    twice = _fleet(pg_url, "remove", "g1")
    unknown = _fleet(pg_url, "remove", "g2")
    listed = last_json(_fleet(pg_url, "list", "--json"))
    reused = _fleet(pg_url, "add", "g1", "--config", str(config))

    # Assert
    assert added.returncode == 0, added.stderr
    assert again.returncode == 2 and "already has a grid named 'g1'" in again.stderr
    assert (removed.returncode, twice.returncode) == (0, 0), removed.stderr + twice.stderr
    assert "already removed" in twice.stdout
    assert unknown.returncode == 2 and "no grid named 'g2'" in unknown.stderr
    assert reused.returncode == 2 and "stays taken" in reused.stderr
    assert _rows(pg_url) == [("g1", "main", "# grid one\n" + GRID, True, "leave")]
    (grid,) = listed["grids"]
    assert (grid["name"], grid["account"], grid["markets"]) == ("g1", "main", ["BTC/USDT"])
    assert grid["removed"] is not None and grid["remove_mode"] == "leave"


def test_fleet_list_status_remove_on_a_database_without_a_fleet_write_nothing(
    pg_url: str,
) -> None:
    # Act
    listed = _fleet(pg_url, "list")
    status = _fleet(pg_url, "status")
    removed = _fleet(pg_url, "remove", "g1")

    # Assert
    for result in (listed, status, removed):
        assert result.returncode == 3, result.stderr
        assert "no fleet here yet" in result.stderr
    assert not _has_schema(pg_url)


def test_fleet_add_of_a_sim_config_is_refused_and_writes_nothing(
    tmp_path: Path, pg_url: str
) -> None:
    # Arrange: the built-in exchange (the default) lives inside one process
    config = tmp_path / "sim.yaml"
    config.write_text("markets:\n  - symbol: BTC/USDT\n")

    # Act
    result = _fleet(pg_url, "add", "g1", "--config", str(config))

    # Assert
    assert result.returncode == 2
    assert "gridmaker sim-exchange" in result.stderr and "Traceback" not in result.stderr
    assert not _has_schema(pg_url)


def test_fleet_status_shows_owner_epoch_state_and_dead_workers(tmp_path: Path, pg_url: str) -> None:
    # Arrange: g1 owned and trading by a live worker; g2 owned by one that stopped beating
    config = tmp_path / "g.yaml"
    config.write_text(GRID)
    for name in ("g1", "g2", "g3"):
        assert _fleet(pg_url, "add", name, "--config", str(config)).returncode == 0
    with connect_fleet(pg_url) as db:
        for worker in ("live-0000aaaa", "dead-0000bbbb"):
            db.execute(
                "INSERT INTO gridmaker.fleet_workers (worker, host, pid, version, started_at, "
                "heartbeat_at) VALUES (%s, 'h1', 7, '1', clock_timestamp(), clock_timestamp())",
                (worker,),
            )
        live, dead = Leases(db, "live-0000aaaa", 60), Leases(db, "dead-0000bbbb", 60)
        lease = live.acquire("g1")
        assert lease is not None
        live.mark(lease, "trading", trading=True, sync=True)
        assert dead.acquire("g2") is not None
        db.execute(
            "UPDATE gridmaker.fleet_workers SET heartbeat_at = clock_timestamp() - "
            "interval '5 minutes' WHERE worker = 'dead-0000bbbb'"
        )

    # Act
    text = _fleet(pg_url, "status")
    seen = last_json(_fleet(pg_url, "status", "--json"))
    one = last_json(_fleet(pg_url, "status", "--json", "--grid", "g3"))

    # Assert: the JSON
    grids = {g["name"]: g for g in seen["grids"]}
    assert (grids["g1"]["owner"], grids["g1"]["epoch"], grids["g1"]["state"]) == (
        "live-0000aaaa",
        1,
        "trading",
    )
    assert 0 < float(grids["g1"]["lease_left_s"]) <= 60 and grids["g1"]["last_sync"]
    assert (grids["g2"]["owner"], grids["g2"]["state"]) == ("dead-0000bbbb", "booting")
    assert (grids["g3"]["owner"], grids["g3"]["state"]) == (None, "unowned")
    workers = {w["worker"]: w for w in seen["workers"]}
    assert (workers["live-0000aaaa"]["alive"], workers["dead-0000bbbb"]["alive"]) == (True, False)
    assert float(workers["dead-0000bbbb"]["heartbeat_age_s"]) >= 300
    assert [g["name"] for g in one["grids"]] == ["g3"]
    # Assert: the text names them too, one line each
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    g1 = next(line for line in lines if line.startswith("g1 "))
    assert "live-0000aaaa" in g1 and "trading" in g1 and " 1 " in g1
    assert "dead" in next(line for line in lines if line.startswith("dead-0000bbbb"))
    assert "alive" in next(line for line in lines if line.startswith("live-0000aaaa"))


def test_fleet_apply_adds_reports_differences_and_prunes(tmp_path: Path, pg_url: str) -> None:
    # Arrange: g0 declared by hand; the file declares g1 and g2 (relative config paths)
    (tmp_path / "grids").mkdir()
    (tmp_path / "grids" / "a.yaml").write_text(GRID)
    (tmp_path / "grids" / "b.yaml").write_text(GRID.replace("BTC/USDT", "ETH/USDT"))
    assert (
        _fleet(pg_url, "add", "g0", "--config", str(tmp_path / "grids" / "a.yaml")).returncode == 0
    )
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(
        "grids:\n  - {name: g1, config: grids/a.yaml}\n"
        "  - {name: g2, account: acc2, config: grids/b.yaml}\n"
    )

    # Act
    first = _fleet(pg_url, "apply", str(fleet), cwd=tmp_path / "grids")
    (tmp_path / "grids" / "a.yaml").write_text("# changed\n" + GRID)
    second = _fleet(pg_url, "apply", str(fleet), "--prune")

    # Assert
    assert first.returncode == 0, first.stderr
    assert "2 added" in first.stdout
    assert second.returncode == 0, second.stderr
    assert "grid g1: its config" in second.stdout and "not changed" in second.stdout
    assert "removed grid g0" in second.stdout
    rows = {r[0]: r for r in _rows(pg_url)}
    assert rows["g1"][2] == GRID  # reported, not changed
    assert rows["g2"][1] == "acc2" and "ETH/USDT" in str(rows["g2"][2])
    assert (rows["g0"][3], rows["g0"][4]) == (True, "cancel")
    assert (rows["g1"][3], rows["g2"][3]) == (False, False)


def test_fleet_apply_with_one_bad_entry_writes_nothing(tmp_path: Path, pg_url: str) -> None:
    # Arrange: the second entry's config trades on the built-in exchange
    (tmp_path / "good.yaml").write_text(GRID)
    (tmp_path / "sim.yaml").write_text("markets:\n  - symbol: BTC/USDT\n")
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(
        "grids:\n  - {name: g1, config: good.yaml}\n  - {name: g2, config: sim.yaml}\n"
    )

    # Act
    result = _fleet(pg_url, "apply", str(fleet))

    # Assert
    assert result.returncode == 2
    assert "grids[1] (g2)" in result.stderr and "exchange: sim" in result.stderr
    assert not _has_schema(pg_url)


def test_fleet_apply_of_a_removed_name_writes_nothing(tmp_path: Path, pg_url: str) -> None:
    # Arrange: g1 removed; the file declares g1 again and a new g2
    (tmp_path / "g.yaml").write_text(GRID)
    assert _fleet(pg_url, "add", "g1", "--config", str(tmp_path / "g.yaml")).returncode == 0
    assert _fleet(pg_url, "remove", "g1").returncode == 0
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text("grids:\n  - {name: g2, config: g.yaml}\n  - {name: g1, config: g.yaml}\n")

    # Act
    result = _fleet(pg_url, "apply", str(fleet))

    # Assert
    assert result.returncode == 2 and "stays taken" in result.stderr
    assert [r[0] for r in _rows(pg_url)] == ["g1"]


def test_fleet_commands_never_show_the_password(tmp_path: Path, pg_url: str) -> None:
    # Arrange: a password the test server does not check (trust), only to be hidden
    split = urlsplit(pg_url)
    host = split.netloc.rpartition("@")[2]
    url = urlunsplit(split._replace(netloc=f"{split.username}:hunter2-secret@{host}"))

    # Act
    result = _fleet(url, "status", "--json")

    # Assert
    assert result.returncode == 3
    assert f"{split.username}:***@" in result.stderr
    assert "hunter2-secret" not in result.stdout + result.stderr
