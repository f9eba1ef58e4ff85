"""Store URLs: SQLite by default, a PostgreSQL URL with its grid, a password never shown."""

from __future__ import annotations

import pytest

from gridmaker.store.url import StoreUrlInvalid, parse_store_url, password_of, redact_url


@pytest.mark.parametrize("text", ["", "sqlite", " sqlite: "])
def test_store_url_sqlite_words_choose_the_data_dir_file(text: str) -> None:
    assert not parse_store_url(text).is_postgres


def test_store_url_postgresql_takes_its_grid_out_of_the_conninfo() -> None:
    # Act
    url = parse_store_url("postgresql://bot:pw@db.local:5433/gm?grid=eth-1&sslmode=require")

    # Assert
    assert url.namespace == "eth-1"
    assert url.conninfo == "postgresql://bot:pw@db.local:5433/gm?sslmode=require"
    assert url.shown == "postgresql://bot:***@db.local:5433/gm?grid=eth-1&sslmode=require"


def test_store_url_without_grid_is_the_default_namespace() -> None:
    assert parse_store_url("postgres://127.0.0.1/gm").namespace == "default"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("mysql://u:topsecret@h/db", "must be 'sqlite' or postgresql://"),
        ("postgresql://u:topsecret@h:99999/db", "must be 'sqlite' or postgresql://"),
        ("postgresql://u:topsecret@h/", "must name a database"),
        ("postgresql://u:topsecret@h/db?grid=a&grid=b", "grid= once"),
        ("postgresql://u:topsecret@h/db?grid=a%20b", "grid must be 1 to 100 letters"),
    ],
)
def test_store_url_invalid_is_refused_without_the_password(text: str, says: str) -> None:
    # Act
    with pytest.raises(StoreUrlInvalid) as refused:
        parse_store_url(text, source="GRIDMAKER_STORE_URL")

    # Assert
    assert says in str(refused.value)
    assert str(refused.value).startswith("GRIDMAKER_STORE_URL")
    assert "topsecret" not in str(refused.value)


def test_redact_url_leaves_a_url_without_password_as_it_is() -> None:
    assert redact_url("postgresql://bot@h/db") == "postgresql://bot@h/db"


def test_store_url_password_in_the_query_is_never_shown() -> None:
    # Act
    url = parse_store_url("postgresql://bob@db.example/grid?password=hunter2&grid=a")

    # Assert
    assert url.shown == "postgresql://bob@db.example/grid?password=***&grid=a"
    assert url.conninfo == "postgresql://bob@db.example/grid?password=hunter2"


def test_store_url_refusal_never_quotes_a_query_password() -> None:
    # Act
    with pytest.raises(StoreUrlInvalid) as refused:
        parse_store_url("postgresql://bob@db.example/?password=hunter2")

    # Assert
    assert "hunter2" not in str(refused.value)
    assert "password=***" in str(refused.value)


@pytest.mark.parametrize(
    ("text", "password"),
    [
        ("postgresql://bob:pw1@h/db", "pw1"),
        ("postgresql://bob@h/db?sslmode=require&password=hunter2", "hunter2"),
        ("postgresql://bob@h/db", ""),
    ],
)
def test_password_of_reads_the_netloc_or_the_query(text: str, password: str) -> None:
    assert password_of(text) == password
