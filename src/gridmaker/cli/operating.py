"""``run``'s operating options: the API address and its token, alert URLs, the watchdog,
the live view; all resolved (and refused, exit 2) before anything is opened.

Secrets come from the environment or files, never from the config or the command line:
``GRIDMAKER_API_TOKEN`` or ``api.token_file``; on loopback without either, a token is made
once and kept in the data dir (``api.token``, mode 0600) for the operator's tools to read.
Off loopback the operator's own token is required.
"""

from __future__ import annotations

import os
import re
import secrets
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Final

from gridmaker.cli.common import EXIT_CONFIG, fail

if TYPE_CHECKING:
    from gridmaker.config import Config
    from gridmaker.ops.runtime import ApiSettings, OpsSettings

__all__ = [
    "ENV_API_TOKEN",
    "ENV_DEADMAN_URL",
    "api_override",
    "keep_made_token",
    "ops_settings",
    "token_file",
]

ENV_API_TOKEN: Final = "GRIDMAKER_API_TOKEN"
ENV_DEADMAN_URL: Final = "GRIDMAKER_DEADMAN_URL"
MIN_TOKEN = 16
"""Characters a chosen token needs at least (a made one has 43)."""
_ADDRESS = re.compile(r"^(?:(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.\-]+):)?(\d{1,5})$")


def api_override(value: str | None) -> dict[str, object]:
    """``--api [HOST:]PORT`` as config overrides; exit 2 naming ``--api`` when malformed."""
    if value is None:
        return {}
    match = _ADDRESS.match(value.strip())
    port = int(match.group(2)) if match else -1
    if match is None or not 0 <= port <= 65535:
        raise fail(
            EXIT_CONFIG, f"--api must be [HOST:]PORT (e.g. 8321, 127.0.0.1:0); was {value!r}"
        )
    api: dict[str, object] = {"enabled": True, "port": port}
    if match.group(1):
        api["host"] = match.group(1).strip("[]")
    return api


def token_file(data_dir: Path) -> Path:
    """Where a token made for a loopback API is kept."""
    return data_dir / "api.token"


def _read_secret(path: Path, what: str) -> str:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as e:
        raise fail(EXIT_CONFIG, f"{what} {path} cannot be read: {e}") from None
    if not text:
        raise fail(EXIT_CONFIG, f"{what} {path} is empty; it must hold the secret")
    return text


def _api_settings(config: Config, data_dir: Path) -> ApiSettings:
    from gridmaker.config.operating import is_loopback
    from gridmaker.ops.runtime import ApiSettings

    api = config.api
    token, source = os.environ.get(ENV_API_TOKEN, "").strip(), ENV_API_TOKEN
    if not token and api.token_file is not None:
        token, source = _read_secret(api.token_file, "api.token_file"), str(api.token_file)
    if token and len(token) < MIN_TOKEN:
        raise fail(
            EXIT_CONFIG,
            f"the API token (from {source}) must be at least {MIN_TOKEN} characters; "
            f"was {len(token)}",
        )
    if not token:
        if not is_loopback(api.host):
            raise fail(
                EXIT_CONFIG,
                f"api.host {api.host} is not loopback: serving off this machine needs a token "
                f"you chose (set {ENV_API_TOKEN} or api.token_file)",
            )
        kept = token_file(data_dir)
        token = _read_secret(kept, "the API token file") if kept.exists() else ""
        source = str(kept)  # made when the API starts, if absent (nothing written before)
    return ApiSettings(host=api.host, port=api.port, token=token, token_source=source)


def keep_made_token(settings: ApiSettings) -> ApiSettings:
    """A loopback API without a chosen token: make one into the data dir (0600), once."""
    from dataclasses import replace

    if settings.token:
        return settings
    path = Path(settings.token_source)
    made = secrets.token_urlsafe(32)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # made since the settings were read: use that one
        return replace(settings, token=_read_secret(path, "the API token file"))
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write(made + "\n")
    return replace(settings, token=made)


def ops_settings(
    config: Config, data_dir: Path, *, engine: str, venue: str, view: bool | None, live: bool
) -> OpsSettings:
    """Everything operating needs, checked now: a problem is exit 2 and names its source."""
    from gridmaker.ops.alert_urls import AlertConfigError, load_alert_urls
    from gridmaker.ops.runtime import OpsSettings
    from gridmaker.ops.watchdog import WatchdogSettings, load_deadman_url

    try:
        urls = load_alert_urls(os.environ.get("GRIDMAKER_ALERT_URLS"), config.alerts.urls_file)
    except AlertConfigError as e:
        raise fail(EXIT_CONFIG, str(e)) from None
    dog = config.watchdog
    try:
        deadman = load_deadman_url(os.environ.get(ENV_DEADMAN_URL), dog.deadman_url_file)
    except ValueError as e:
        raise fail(EXIT_CONFIG, str(e)) from None
    if deadman and not re.match(r"^https?://\S+$", deadman):
        raise fail(EXIT_CONFIG, "the dead-man URL must be an http(s) URL (its text not shown)")
    return OpsSettings(
        api=_api_settings(config, data_dir) if config.api.enabled else None,
        alert_urls=tuple(urls),
        alert_repeat_after_s=config.alerts.repeat_after_s,
        daily_summary_utc=config.alerts.daily_summary_utc,
        watchdog=WatchdogSettings(
            price_stale_s=dog.price_stale_s,
            price_dead_s=dog.price_dead_s,
            decision_stale_s=dog.decision_stale_s,
            empty_grace_s=dog.empty_grace_s,
            check_every_s=dog.check_every_s,
            deadman_url=deadman,
            deadman_every_s=dog.deadman_every_s,
        ),
        live_view=live and sys.stderr.isatty() if view is None else view,
        engine=engine,
        venue=venue,
    )
