"""What only the PostgreSQL store promises: grids that share a database never see each
other's rows, one writer per grid, its schema the SQLite store's, a newer schema refused."""

from __future__ import annotations

import inspect

import psycopg
import pytest

from gridmaker.store import SCHEMA_VERSION, DataDirUnusable, SchemaTooNew, StateCorrupt, Store
from gridmaker.store.lock import AlreadyRunning
from gridmaker.store.pg_schema import PG_SCHEMA_VERSION, expected_pg_columns
from gridmaker.store.pg_store import PgStore
from gridmaker.store.schema import _expected_columns
from gridmaker.store.url import parse_store_url
from tests import kit


def _open(
    url: str, grid: str, *, read_only: bool = False, exclusive: bool | None = None
) -> PgStore:
    return PgStore(parse_store_url(f"{url}?grid={grid}"), read_only=read_only, exclusive=exclusive)


def test_pg_store_overrides_every_method_of_the_sqlite_store() -> None:
    # Arrange: a method PgStore inherits would run SQLite code on a PostgreSQL connection
    public = {
        name
        for name, member in inspect.getmembers(Store)
        if not name.startswith("__") and (callable(member) or isinstance(member, property))
    } - {"revision", "_record_venue", "_record_update", "_record_fill", "_record_intent"}

    # Act
    inherited = sorted(name for name in public if name not in vars(PgStore))

    # Assert
    assert inherited == []


def test_pg_schema_has_every_column_of_the_sqlite_schema() -> None:
    # Arrange
    sqlite = _expected_columns(SCHEMA_VERSION)
    pg = expected_pg_columns(PG_SCHEMA_VERSION)

    # Act
    missing = {
        table: sorted(set(cols) - set(pg.get(table, [])) - ({"id"} if table == "venue" else set()))
        for table, cols in sqlite.items()
    }

    # Assert
    assert {t: m for t, m in missing.items() if m} == {}
    assert all("store_id" in c for t, c in pg.items() if not t.startswith(("fleet_", "rate_")))


def test_grids_sharing_a_database_see_only_their_own_rows(pg_url: str) -> None:
    # Arrange
    a, b = _open(pg_url, "a"), _open(pg_url, "b")
    try:
        a.bind_venue({"exchange": "sim"})
        a.commit(kit.state())
        a.add_request("*", "pause", "", "req-1")

        # Act
        b_symbols, b_venue, b_commands = b.symbols(), b.venue(), b.pending_commands()
        b_request = b.add_request("*", "resume", "", "req-1")  # the same id, another grid

        # Assert
        assert a.symbols() == ["BTC/USDT"] and a.revision == 1
        assert (b_symbols, b_venue, b_commands, b.revision) == ([], None, [], 0)
        assert b.load_book("BTC/USDT") is None
        assert [c.command for c in a.pending_commands()] == ["pause"]
        assert [c.id for c in b.pending_commands()] == [b_request]
    finally:
        a.close()
        b.close()


def test_second_writer_on_a_grid_is_refused_until_the_first_closes(pg_url: str) -> None:
    # Arrange
    first = _open(pg_url, "g")
    reader = _open(pg_url, "g", read_only=True)
    try:
        # Act / Assert
        with pytest.raises(AlreadyRunning, match=r"another gridmaker process .*grid g"):
            _open(pg_url, "g")
        assert reader.is_held_elsewhere()
        other_grid = _open(pg_url, "h")  # another grid of the same database is free
        other_grid.close()
    finally:
        first.close()
    second = _open(pg_url, "g")  # the lock went with the first writer's session
    second.close()
    try:
        assert not reader.is_held_elsewhere()
    finally:
        reader.close()


def test_newer_schema_is_refused_and_left_as_it_is(pg_url: str) -> None:
    # Arrange
    _open(pg_url, "g").close()
    with psycopg.connect(pg_url, autocommit=True) as db:
        db.execute("INSERT INTO gridmaker.schema_version VALUES (%s)", (PG_SCHEMA_VERSION + 1,))

    # Act / Assert
    with pytest.raises(SchemaTooNew, match=f"schema version {PG_SCHEMA_VERSION + 1}, newer"):
        _open(pg_url, "g")
    with psycopg.connect(pg_url) as db:
        row = db.execute("SELECT max(version) FROM gridmaker.schema_version").fetchone()
    assert row == (PG_SCHEMA_VERSION + 1,)


def test_dropped_table_is_refused_naming_it(pg_url: str) -> None:
    # Arrange
    _open(pg_url, "g").close()
    with psycopg.connect(pg_url, autocommit=True) as db:
        db.execute("DROP TABLE gridmaker.fills")

    # Act / Assert
    with pytest.raises(StateCorrupt, match=r"no table gridmaker\.fills"):
        _open(pg_url, "g")


def test_book_failing_its_checksum_is_refused(pg_url: str) -> None:
    # Arrange
    store = _open(pg_url, "g")
    store.commit(kit.state())
    with psycopg.connect(pg_url, autocommit=True) as db:
        db.execute("UPDATE gridmaker.books SET state_json = replace(state_json, '1', '2')")

    # Act / Assert
    try:
        with pytest.raises(StateCorrupt, match="fails its checksum"):
            store.load_book("BTC/USDT")
    finally:
        store.close()


def test_store_that_does_not_answer_is_unusable_without_showing_the_password(
    pg_server: object,
) -> None:
    # Arrange: a port nobody listens on
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = parse_store_url(f"postgresql://bot:s3cret-pw@127.0.0.1:{port}/gm?grid=g")

    # Act
    with pytest.raises(DataDirUnusable) as refused:
        PgStore(url)

    # Assert
    assert "cannot connect to the store at postgresql://bot:***@127.0.0.1" in str(refused.value)
    assert "s3cret-pw" not in str(refused.value)
