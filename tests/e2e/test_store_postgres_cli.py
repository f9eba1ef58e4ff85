"""``gridmaker run`` (either engine) and ``status`` on a PostgreSQL store chosen by a URL: the
config's ``store:`` or ``GRIDMAKER_STORE_URL``; two grids in one database, apart."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

from tests.kit.cli import gridmaker, last_json


def _config(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "pg.yaml"
    path.write_text(f"store: {url}\n")
    return path


def test_run_with_store_url_trades_on_postgresql_and_status_reads_it(
    tmp_path: Path, pg_url: str, engine: str
) -> None:
    # Arrange: the config names grid a; the environment names grid b and wins
    config = _config(tmp_path, f"{pg_url}?grid=a")
    run = ["run", "--config", str(config), "--steps", "400", "--seed", "3", "--json"]
    run += ["--engine", engine]

    # Act
    first = last_json(gridmaker(*run, "--data-dir", str(tmp_path / "d1"), cwd=tmp_path))
    second = last_json(
        gridmaker(
            *run,
            "--data-dir",
            str(tmp_path / "d2"),
            cwd=tmp_path,
            env={"GRIDMAKER_STORE_URL": f"{pg_url}?grid=b"},
        )
    )
    status = gridmaker(
        "status", "--json", "--data-dir", str(tmp_path / "elsewhere"), "--config", str(config)
    )

    # Assert: both books live in the database, apart; no SQLite store was made
    with psycopg.connect(pg_url) as db:
        rows = db.execute(
            "SELECT store_id, count(*) FROM gridmaker.books GROUP BY store_id ORDER BY 1"
        ).fetchall()
        fills = db.execute(
            "SELECT store_id, count(*) FROM gridmaker.fills GROUP BY store_id ORDER BY 1"
        ).fetchall()
    assert rows == [("a", 1), ("b", 1)]
    assert dict(fills) == {"a": first["fills"], "b": second["fills"]}
    assert first["fills"] > 0
    assert not (tmp_path / "d1" / "gridmaker.sqlite").exists()
    assert json.loads(status.stdout.strip().splitlines()[-1])["fills"] == first["fills"]


def test_status_of_a_store_url_never_shows_its_password(tmp_path: Path, pg_url: str) -> None:
    # Arrange: a password the server does not check (trust), only to be hidden
    split = urlsplit(pg_url)
    host = split.netloc.rpartition("@")[2]
    url = urlunsplit(split._replace(netloc=f"{split.username}:hunter2-secret@{host}"))

    # Act
    result = gridmaker(
        "status",
        "--data-dir",
        str(tmp_path / "d"),
        env={"GRIDMAKER_STORE_URL": f"{url}?grid=nobody"},
    )

    # Assert: no bot ran on this database: stored state refused (3), the URL redacted
    assert result.returncode == 3, result.stderr
    assert f"{split.username}:***@" in result.stderr
    assert "hunter2-secret" not in result.stderr + result.stdout


def test_run_on_a_grid_another_process_writes_is_refused_before_the_data_dir(
    tmp_path: Path, pg_url: str
) -> None:
    # Arrange: this test holds grid g as a running bot would
    from gridmaker.store.pg_store import PgStore
    from gridmaker.store.url import parse_store_url

    holder = PgStore(parse_store_url(f"{pg_url}?grid=g"))
    data_dir = tmp_path / "data"

    # Act
    try:
        result = gridmaker(
            *("run", "--steps", "50", "--data-dir", str(data_dir)),
            env={"GRIDMAKER_STORE_URL": f"{pg_url}?grid=g"},
        )
    finally:
        holder.close()

    # Assert: boot refused (4), naming the grid; nothing made on disk
    assert result.returncode == 4, result.stderr
    assert "another gridmaker process is running on" in result.stderr
    assert "(grid g)" in result.stderr
    assert not data_dir.exists()
