"""The parity fixture: scenarios that ask for ``engine`` run once per executor."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.kit.world import ENGINES, use_engine


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> Iterator[str]:
    """``open_world`` builds this engine for the test (the durable one on its own DBOS file)."""
    before = use_engine(request.param)
    yield request.param
    use_engine(before)
