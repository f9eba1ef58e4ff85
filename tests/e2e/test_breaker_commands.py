"""A command for every book is one command per book, spent with the book that carries it."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from tests.kit.cli import gridmaker

pytestmark = pytest.mark.e2e


def test_breaker_trip_for_all_books_at_rest_is_spent_with_each_book(tmp_path: Path) -> None:
    # Arrange
    data = tmp_path / "data"
    assert gridmaker("run", "--steps", "300", "--data-dir", str(data), cwd=tmp_path).returncode == 0

    # Act
    result = gridmaker("breaker", "trip", "--data-dir", str(data), "--json", cwd=tmp_path)

    # Assert: one command per book, each applied; no "all" row left for a later boot to
    # apply a second time.
    assert result.returncode == 0, result.stderr
    with closing(sqlite3.connect(data / "gridmaker.sqlite")) as db:
        rows = db.execute("SELECT symbol, applied_at IS NOT NULL FROM commands").fetchall()
    assert rows == [("BTC/USDT", 1)]
    assert '"breaker": "halted"' in result.stdout or '"breaker": "reducing"' in result.stdout
