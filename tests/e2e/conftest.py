"""The parity fixture: scenarios that ask for ``engine`` run once per ``--engine``."""

from __future__ import annotations

import pytest

ENGINES = ("simple", "durable")


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    """The ``gridmaker run --engine`` this run of the test uses."""
    return str(request.param)
