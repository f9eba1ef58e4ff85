"""Where the store lives, from a URL: ``sqlite`` (the data dir's file) or ``postgresql://...``.

A PostgreSQL URL may carry a password (``USER:PASSWORD@`` or libpq's ``?password=``), which is
never shown: every message quotes ``StoreUrl.shown`` (the password replaced by ``***``).
One database serves many grids: the query parameter ``grid`` names this bot's namespace in it
(default ``default``); the other query parameters are libpq's and pass through.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit, urlunsplit

__all__ = [
    "STORE_URL_ENV",
    "StoreUrl",
    "StoreUrlInvalid",
    "parse_store_url",
    "password_of",
    "redact_url",
]

STORE_URL_ENV: Final = "GRIDMAKER_STORE_URL"
"""The environment variable that chooses the store; it wins over the config's ``store:``."""

_GRID: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$")
_SCHEMES: Final = ("postgresql", "postgres")


class StoreUrlInvalid(ValueError):
    """A store URL that is neither ``sqlite`` nor a usable PostgreSQL URL (the message is
    safe to show: it never quotes a password)."""


@dataclass(frozen=True, slots=True)
class StoreUrl:
    """A parsed store URL: ``conninfo`` is ``None`` for SQLite (the data dir's file)."""

    conninfo: str | None
    """The PostgreSQL URL as libpq takes it (``grid`` removed); secret when it has a password."""
    namespace: str = ""
    """This bot's rows in a shared database (the URL's ``grid``)."""
    shown: str = "sqlite"
    """The URL to show a person: the password replaced by ``***``."""

    @property
    def is_postgres(self) -> bool:
        return self.conninfo is not None


def redact_url(url: str) -> str:
    """``url`` with its password (if any, in the netloc or as a ``password`` query parameter)
    replaced by ``***``; safe to log or echo."""
    try:
        split = urlsplit(url)
        password = split.password
    except ValueError:
        return "<an unparsable URL>"
    if password:
        user = split.username or ""
        host = split.netloc.rpartition("@")[2]
        split = split._replace(netloc=f"{user}:***@{host}")
    if split.query:
        split = split._replace(query=_redact_query(split.query))
    return urlunsplit(split)


def password_of(url: str) -> str:
    """The password ``url`` gives libpq: the netloc's, else a ``password`` query parameter's."""
    try:
        split = urlsplit(url)
        password = split.password
    except ValueError:
        return ""
    if password:
        return password
    given = [v for k, v in parse_qsl(split.query, keep_blank_values=True) if k == "password"]
    return given[-1] if given else ""


def _redact_query(query: str) -> str:
    """``query`` with the value of every ``password`` key replaced by ``***``, the rest kept
    byte for byte (libpq reads ``?password=`` as the password)."""
    parts = []
    for part in query.split("&"):
        key, sep, _ = part.partition("=")
        secret = sep and unquote_plus(key) == "password"
        parts.append(f"{key}=***" if secret else part)
    return "&".join(parts)


def parse_store_url(url: str, *, source: str = "store") -> StoreUrl:
    """Parse ``url``; ``source`` names where it came from in the refusal (a config key or an
    environment variable). Raises ``StoreUrlInvalid``."""
    text = url.strip()
    if text in ("", "sqlite", "sqlite:"):
        return StoreUrl(conninfo=None)
    shown = redact_url(text)
    allowed = "'sqlite' or postgresql://[USER[:PASSWORD]@]HOST[:PORT]/DATABASE[?grid=NAME]"
    try:
        split = urlsplit(text)
        split.port  # noqa: B018  (raises ValueError on a bad port)
    except ValueError:
        raise StoreUrlInvalid(f"{source} must be {allowed}; was {shown}") from None
    if split.scheme not in _SCHEMES or (not split.hostname and not split.query):
        raise StoreUrlInvalid(f"{source} must be {allowed}; was {shown}")
    if not split.path.strip("/"):
        raise StoreUrlInvalid(f"{source} must name a database (the URL's path); was {shown}")
    query = parse_qsl(split.query, keep_blank_values=True)
    grids = [v for k, v in query if k == "grid"]
    if len(grids) > 1:
        raise StoreUrlInvalid(f"{source} may give grid= once; was {shown}")
    namespace = grids[0] if grids else "default"
    if not _GRID.match(namespace):
        raise StoreUrlInvalid(
            f"{source}: grid must be 1 to 100 letters, digits, '.', '_', ':' or '-' (first a "
            f"letter or digit); was {namespace!r}"
        )
    rest = urlencode([(k, v) for k, v in query if k != "grid"])
    conninfo = urlunsplit(split._replace(query=rest))
    return StoreUrl(conninfo=conninfo, namespace=namespace, shown=shown)
