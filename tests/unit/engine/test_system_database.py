"""The durable engine's system database: a bad URL or file is named, never the password."""

from __future__ import annotations

from pathlib import Path

import pytest

from gridmaker.engine.durable import (
    SYSTEM_DB_ENV,
    SystemDatabaseInvalid,
    SystemDatabaseUnreachable,
    check_system_database,
    redact,
    system_database_url,
)
from gridmaker.store import StateCorrupt

SECRET = "s3cr3t-pw"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (f"postgresql://u:{SECRET}@127.0.0.1:1/db", "postgresql://u:***@127.0.0.1:1/db"),
        (f"postgresql+psycopg://u:{SECRET}@h/db", "postgresql+psycopg://u:***@h/db"),
        (f"postgresql://u:p@ss:{SECRET}@h/db", "postgresql://u:***@h/db"),
        (f"postgresql://h/db?password={SECRET}&x=1", "postgresql://h/db?password=***&x=1"),
        ("notaurl", "notaurl"),
    ],
)
def test_redact_hides_the_password_in_any_position(url: str, shown: str) -> None:
    assert redact(url) == shown


@pytest.mark.parametrize(
    "url",
    [
        "notaurl",
        "postgresql://",
        f"mysql://u:{SECRET}@h/db",
        f"postgresql://u:{SECRET}@h:notaport/db",
        f"postgresql://u:{SECRET}@h",
    ],
)
def test_malformed_system_db_url_is_invalid_naming_the_variable_without_password(
    tmp_path: Path, url: str
) -> None:
    # Act
    with pytest.raises(SystemDatabaseInvalid) as refused:
        system_database_url(tmp_path, url)

    # Assert
    assert SYSTEM_DB_ENV in str(refused.value)
    assert SECRET not in str(refused.value)
    assert not list(tmp_path.iterdir())


def test_unreachable_system_db_is_named_redacted_and_touches_nothing(tmp_path: Path) -> None:
    # Arrange: nothing listens on port 1.
    url = f"postgresql://u:{SECRET}@127.0.0.1:1/db"

    # Act
    with pytest.raises(SystemDatabaseUnreachable) as refused:
        check_system_database(tmp_path, url)

    # Assert
    assert SYSTEM_DB_ENV in str(refused.value)
    assert "postgresql://u:***@127.0.0.1:1/db" in str(refused.value)
    assert SECRET not in str(refused.value)
    assert not list(tmp_path.iterdir())


def test_garbage_dbos_file_is_refused_naming_it(tmp_path: Path) -> None:
    # Arrange
    path = tmp_path / "dbos.sqlite"
    path.write_bytes(b"\x00garbage" * 512)

    # Act
    with pytest.raises(StateCorrupt) as refused:
        check_system_database(tmp_path, None)

    # Assert
    assert "dbos.sqlite" in str(refused.value)
    assert path.read_bytes() == b"\x00garbage" * 512


def test_no_url_and_no_dbos_file_passes_and_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Arrange
    monkeypatch.delenv(SYSTEM_DB_ENV, raising=False)

    # Act
    check_system_database(tmp_path)

    # Assert
    assert not list(tmp_path.iterdir())
