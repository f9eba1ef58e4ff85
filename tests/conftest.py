from __future__ import annotations

import os
from collections.abc import Generator
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from tests.kit.postgres import pg_server, pg_url  # noqa: F401  (fixtures for every test)

settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile(
    "ci", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


EXTERNALS = ("prometheus", "promtool", "chromium", "playwright", "postgresql")
"""Real parts the tests use where a user has them; CI (``GRIDMAKER_CI=1``) installs them, so a
test skipped for want of one there is a failure, never a silent skip."""


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if report.skipped and os.environ.get("GRIDMAKER_CI") == "1":
        reason = str(report.longrepr).lower()
        missing = [name for name in EXTERNALS if name in reason]
        if missing:
            report.outcome = "failed"
            report.longrepr = (
                f"{item.nodeid}: skipped for want of {', '.join(missing)}, which CI must "
                f"install (.ci/run): {report.longrepr}"
            )
