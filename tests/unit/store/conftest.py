"""The store's tests run on both backends: SQLite (a data dir's file) and PostgreSQL (a
namespace in a throwaway database, ``tests/kit/postgres.py``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import suppress
from pathlib import Path

import pytest

from gridmaker.store import Store
from gridmaker.store.pg_store import PgStore
from gridmaker.store.url import parse_store_url

OpenStore = Callable[..., Store]
"""Opens the test's store (the same one each call): ``read_only=`` as ``Store`` takes it."""


@pytest.fixture(params=["sqlite", "postgresql"])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OpenStore]:
    opened: list[Store] = []
    if request.param == "sqlite":
        path = tmp_path / "data" / "gridmaker.sqlite"

        def make(read_only: bool = False) -> Store:
            opened.append(Store(path, read_only=read_only))
            return opened[-1]

    else:
        url = parse_store_url(request.getfixturevalue("pg_url") + "?grid=test")

        def make(read_only: bool = False) -> Store:
            opened.append(PgStore(url, read_only=read_only))
            return opened[-1]

    yield make
    for store in opened:
        with suppress(Exception):  # closed by the test already
            store.close()


@pytest.fixture
def store(open_store: OpenStore) -> Store:
    return open_store()
