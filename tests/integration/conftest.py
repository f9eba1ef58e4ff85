"""The parity fixtures: scenarios that ask for ``engine`` run once per executor; those
parametrized with ``store_backend`` (``both_stores``) once per store."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.kit.world import ENGINES, use_engine, use_store


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> Iterator[str]:
    """``open_world`` builds this engine for the test (the durable one on its own DBOS file)."""
    before = use_engine(request.param)
    yield request.param
    use_engine(before)


@pytest.fixture
def store_backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """``open_world`` keeps the bot's state here: ``sqlite`` (the default) or ``postgresql``
    (a fresh database of the session's server, ``tests/kit/postgres.py``)."""
    backend = str(getattr(request, "param", "sqlite"))
    url = None
    if backend == "postgresql":
        url = str(request.getfixturevalue("pg_url")) + "?grid=world"
    before = use_store(url)
    yield backend
    use_store(before)
