"""``run``'s operating options that cannot work: the API address and token, alert and
dead-man URLs, the watchdog's thresholds. Refused (2) before the data dir is touched, and a
secret is never echoed back."""

from __future__ import annotations

import socket
from pathlib import Path

from tests.e2e.bad_inputs.kit import BadInput

RUN = ["run", "--data-dir", "{data}", "--steps", "5"]
WITH_CONFIG = [*RUN, "--config", "{tmp}/c.yaml"]
_HELD: list[socket.socket] = []
"""Sockets kept listening while a case runs (a port in use)."""


def _port_in_use(tmp: Path) -> None:
    held = socket.socket()
    held.bind(("127.0.0.1", 0))
    held.listen(1)
    _HELD.append(held)
    (tmp / "c.yaml").write_text(
        f"api:\n  enabled: true\n  port: {held.getsockname()[1]}\n", encoding="utf-8"
    )


CASES = [
    BadInput(
        id="operating-api-flag-not-an-address",
        argv=[*RUN, "--api", "localhost:port"],
        exit_code=2,
        culprit="--api",
    ),
    BadInput(
        id="operating-api-flag-port-too-large",
        argv=[*RUN, "--api", "70000"],
        exit_code=2,
        culprit="--api",
    ),
    BadInput(
        id="operating-api-token-in-config",
        argv=WITH_CONFIG,
        files={"c.yaml": "api:\n  enabled: true\n  token: hunter2-hunter2-hunter2\n"},
        exit_code=2,
        culprit="token must never be written in the config",
    ),
    BadInput(
        id="operating-api-off-loopback-without-token",
        argv=[*RUN, "--api", "0.0.0.0:0"],
        exit_code=2,
        culprit="not loopback",
    ),
    BadInput(
        id="operating-api-token-too-short",
        argv=[*RUN, "--api", "0"],
        env={"GRIDMAKER_API_TOKEN": "short"},
        exit_code=2,
        culprit="at least 16 characters",
    ),
    BadInput(
        id="operating-api-token-file-missing",
        argv=WITH_CONFIG,
        files={"c.yaml": "api:\n  enabled: true\n  token_file: nope.token\n"},
        exit_code=2,
        culprit="api.token_file",
    ),
    BadInput(
        id="operating-api-unknown-key",
        argv=WITH_CONFIG,
        files={"c.yaml": "api:\n  enabled: true\n  prot: 8000\n"},
        exit_code=2,
        culprit="prot",
    ),
    BadInput(
        id="operating-api-port-in-use",
        argv=WITH_CONFIG,
        exit_code=2,
        culprit="cannot listen",
        prepare=_port_in_use,
    ),
    BadInput(
        id="operating-alert-url-refused",
        argv=RUN,
        env={"GRIDMAKER_ALERT_URLS": "json://127.0.0.1:9/ok nosuchscheme://secret-token"},
        exit_code=2,
        culprit="GRIDMAKER_ALERT_URLS entry 2",
    ),
    BadInput(
        id="operating-alert-urls-in-config",
        argv=WITH_CONFIG,
        files={"c.yaml": "alerts:\n  urls: [json://127.0.0.1/x]\n"},
        exit_code=2,
        culprit="urls must never be written in the config",
    ),
    BadInput(
        id="operating-deadman-url-not-http",
        argv=RUN,
        env={"GRIDMAKER_DEADMAN_URL": "ftp://example/secret"},
        exit_code=2,
        culprit="dead-man URL",
    ),
    BadInput(
        id="operating-watchdog-dead-before-stale",
        argv=WITH_CONFIG,
        files={"c.yaml": "watchdog:\n  price_stale_s: 120\n  price_dead_s: 60\n"},
        exit_code=2,
        culprit="price_dead_s",
    ),
    BadInput(
        id="operating-daily-summary-not-a-time",
        argv=WITH_CONFIG,
        files={"c.yaml": "alerts:\n  daily_summary_utc: '25:00'\n"},
        exit_code=2,
        culprit="daily_summary_utc",
    ),
]
