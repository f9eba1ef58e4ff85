"""The config of operating a running bot: its control API, its alerts and its watchdog.

Secrets never live here: the API token comes from ``GRIDMAKER_API_TOKEN`` or a file named
here, the alert URLs from ``GRIDMAKER_ALERT_URLS`` or a file, the dead-man URL from
``GRIDMAKER_DEADMAN_URL`` or a file. A secret written into the config is refused, naming
where it belongs instead.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator, model_validator

from gridmaker.config.sections import StrictModel

__all__ = ["AlertsConfig", "ApiConfig", "WatchdogConfig", "is_loopback"]


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback IP address (never a name that merely starts with 127.)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _refuse_secret(raw: Any, key: str, where: str) -> None:
    if isinstance(raw, dict) and key in raw:
        raise ValueError(f"{key} must never be written in the config file; {where}")


class ApiConfig(StrictModel):
    """The control API (and ``/metrics``) the running bot serves."""

    enabled: bool = Field(False, description="serve the control API while the bot runs")
    host: str = Field(
        "127.0.0.1",
        min_length=1,
        max_length=253,
        description="address to listen on; off loopback only with a token you chose",
    )
    port: int = Field(8321, ge=0, le=65535, description="port to listen on (0: any free port)")
    token_file: Path | None = Field(
        None,
        description="file holding the bearer token (else GRIDMAKER_API_TOKEN; on loopback "
        "without either, one is generated into the data dir's api.token)",
    )

    @model_validator(mode="before")
    @classmethod
    def _no_token_here(cls, raw: Any) -> Any:
        _refuse_secret(raw, "token", "set GRIDMAKER_API_TOKEN in the environment or api.token_file")
        return raw

    @field_validator("host")
    @classmethod
    def _check_host(cls, host: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9.:\-\[\]]+", host):
            raise ValueError(f"must be a host name or IP address; was {host!r}")
        return host.strip("[]")


class AlertsConfig(StrictModel):
    """Where alerts go (apprise URLs) and how often a condition may repeat."""

    urls_file: Path | None = Field(
        None,
        description="file of apprise URLs, one per line (also GRIDMAKER_ALERT_URLS); e.g. "
        "tgram://…, discord://…, slack://…, mailto://…, json://host/path",
    )
    repeat_after_s: float = Field(
        3600.0,
        ge=0,
        le=7 * 86400,
        description="a condition that clears and comes back within this many seconds sends "
        "one alert and one recovery, not one per flap",
    )
    daily_summary_utc: str | None = Field(
        None,
        pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
        description="send a summary of every market each day at HH:MM UTC",
    )

    @model_validator(mode="before")
    @classmethod
    def _no_urls_here(cls, raw: Any) -> Any:
        _refuse_secret(
            raw, "urls", "alert URLs carry secrets: set GRIDMAKER_ALERT_URLS or alerts.urls_file"
        )
        return raw


class WatchdogConfig(StrictModel):
    """Progress, not process: when a market counts as degraded or failing."""

    price_stale_s: float = Field(
        60.0, gt=0, le=86400, description="no price for this long: degraded"
    )
    price_dead_s: float = Field(
        300.0, gt=0, le=86400, description="no price for this long: failing"
    )
    decision_stale_s: float = Field(
        21600.0,
        ge=0,
        le=30 * 86400,
        description="no decision for this long: degraded (0: not checked; a calm market may "
        "cross no level for hours)",
    )
    empty_grace_s: float = Field(
        30.0,
        gt=0,
        le=86400,
        description="the price inside the grid with no resting order for this long: failing",
    )
    check_every_s: float = Field(5.0, gt=0, le=3600, description="seconds between checks")
    deadman_url_file: Path | None = Field(
        None,
        description="file holding a dead-man URL pinged while trading progresses (also "
        "GRIDMAKER_DEADMAN_URL)",
    )
    deadman_every_s: float = Field(
        60.0, gt=0, le=86400, description="seconds between dead-man pings"
    )

    @model_validator(mode="after")
    def _ordered(self) -> WatchdogConfig:
        if self.price_dead_s < self.price_stale_s:
            raise ValueError(
                f"price_dead_s must be at least price_stale_s ({self.price_stale_s}); "
                f"was {self.price_dead_s}"
            )
        return self
