"""The parity fixture: scenarios that ask for ``engine`` run once per ``--engine``; and the
browser the dashboard's tests drive."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

ENGINES = ("simple", "durable")


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    """The ``gridmaker run --engine`` this run of the test uses."""
    return str(request.param)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Debian's Chromium under Playwright, for one test module (skipped, saying why, where the
    browser is missing; CI installs it). Never ``playwright install``: launched by path."""
    from tests.kit.browser import CHROMIUM, CHROMIUM_ARGS

    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install chromium to run browser tests")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
