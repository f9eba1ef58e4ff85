"""Where alerts go: apprise URLs from the environment or a file, checked, never shown.

A notification URL is a secret (a bot token, a webhook's key, a mail password sit inside
it), so nothing here or in apprise's own log may print one: a bad URL is named by its
position, a good one by its scheme (``tgram://…``), and apprise's log passes through a
filter that blanks every configured URL and its parts.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

__all__ = [
    "ENV_ALERT_URLS",
    "SENDING_LOGGERS",
    "AlertConfigError",
    "Redactor",
    "load_alert_urls",
    "scheme_of",
    "silenced_apprise",
]

ENV_ALERT_URLS = "GRIDMAKER_ALERT_URLS"
APPRISE_LOGGER = "apprise"
SENDING_LOGGERS = (APPRISE_LOGGER, "urllib3.connectionpool", "httpx")
"""Loggers that may write a destination's URL or path while sending (urllib3 logs each
request's path at DEBUG): each gets the ``Redactor`` (a filter is per logger, not inherited)."""

_SPLIT = re.compile(r"[\s,]+")


class AlertConfigError(ValueError):
    """The alert URLs cannot be used: a config error (exit 2), its message free of secrets."""


def scheme_of(url: str) -> str:
    """``tgram://…``: all of a URL that may be shown."""
    scheme, sep, _ = url.partition("://")
    return f"{scheme.lower()}://…" if sep and scheme.isalnum() else "(no scheme)"


def load_alert_urls(env_value: str | None, file: Path | str | None = None) -> list[str]:
    """The URLs from ``GRIDMAKER_ALERT_URLS`` (split on whitespace, commas, newlines) and
    from ``file`` (one per line, ``#`` comments, blank lines skipped), in order, once each.

    Each is checked by apprise itself; one it refuses is an ``AlertConfigError`` naming where
    it is (``GRIDMAKER_ALERT_URLS`` entry 2, ``alerts.txt`` line 5), never its text.
    """
    found: list[tuple[str, str]] = []
    if env_value:
        for n, url in enumerate((u for u in _SPLIT.split(env_value) if u), start=1):
            found.append((url, f"{ENV_ALERT_URLS} entry {n}"))
    if file is not None:
        path = Path(file)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise AlertConfigError(
                f"alert URL file {path} must be a readable UTF-8 text file; "
                f"was unreadable ({type(e).__name__})"
            ) from None
        for n, line in enumerate(text.splitlines(), start=1):
            url = line.strip()
            if url and not url.startswith("#"):
                found.append((url, f"{path} line {n}"))
    urls: list[str] = []
    for url, where in found:
        if not accepts(url):
            raise AlertConfigError(
                f"the alert URL at {where} must be a notification URL apprise accepts "
                f"(e.g. tgram://, discord://, json://); was refused (scheme "
                f"{scheme_of(url)}; the URL itself is not shown: it may hold a secret)"
            )
        if url not in urls:
            urls.append(url)
    return urls


def accepts(url: str) -> bool:
    """Whether apprise can build a notifier from ``url`` (its log silenced meanwhile).

    The first call loads apprise's plugins, one of which imports the deprecated ``imghdr``:
    that warning is apprise's to fix and must not turn a good URL into a refused one.
    """
    from apprise import Apprise

    with silenced_apprise(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return Apprise.instantiate(url, suppress_exceptions=True) is not None


class _DropAll(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return False


@contextmanager
def silenced_apprise() -> Iterator[None]:
    """Apprise logs a refused URL (partly masked at best): say nothing while checking."""
    logger = logging.getLogger(APPRISE_LOGGER)
    drop = _DropAll()
    logger.addFilter(drop)
    try:
        yield
    finally:
        logger.removeFilter(drop)


def _secret_parts(url: str) -> set[str]:
    """The URL and each piece after its scheme long enough to be a token or a password."""
    parts = {url}
    rest = url.partition("://")[2]
    parts.add(rest)
    try:
        split = urlsplit(url)
        pieces = [split.netloc, split.path, split.query, split.username or "", split.password or ""]
    except ValueError:
        pieces = []
    pieces += re.split(r"[/?&=@:]+", rest)
    parts.update(p for p in pieces if len(p) >= 6)
    return parts


class Redactor(logging.Filter):
    """Blanks the configured URLs and their secret-looking parts from apprise's records."""

    def __init__(self, urls: Iterable[str]) -> None:
        super().__init__()
        secrets: set[str] = set()
        for url in urls:
            secrets |= _secret_parts(url)
        self._secrets: Sequence[str] = sorted(secrets, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a record that cannot format: drop it rather than risk a leak
            return False
        clean = message
        for secret in self._secrets:
            clean = clean.replace(secret, "…")
        if clean != message:
            record.msg, record.args = clean, None
        return True
