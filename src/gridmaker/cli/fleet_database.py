"""The fleet's database for the commands that use it (``fleet *``, ``worker``): where it is
(``--store`` or ``GRIDMAKER_STORE_URL``, PostgreSQL only) and a connection to it, migrated when
the command writes, read-only (and refused without the fleet's tables) when it only reads."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from gridmaker.cli.common import EXIT_CONFIG, EXIT_EXCHANGE, EXIT_STATE, fail

if TYPE_CHECKING:
    import psycopg

    from gridmaker.store.url import StoreUrl

__all__ = ["fleet_db", "fleet_url", "redacted"]


def redacted(error: Exception, conninfo: str) -> str:
    """An error's text on one line, never with the URL's password in it."""
    from gridmaker.store.url import password_of

    text = " ".join(str(error).split())
    password = password_of(conninfo)
    return text.replace(password, "***") if password else text


def fleet_url(store: str | None) -> StoreUrl:
    """The fleet's URL, parsed (exit 2 for none, a bad one, or SQLite)."""
    from gridmaker.store.url import STORE_URL_ENV, StoreUrlInvalid, parse_store_url

    given = (store or "").strip()
    text, source = (
        (given, "--store") if given else (os.environ.get(STORE_URL_ENV, ""), STORE_URL_ENV)
    )
    if not text.strip():
        raise fail(EXIT_CONFIG, f"the fleet lives in PostgreSQL: give --store or {STORE_URL_ENV}")
    try:
        url = parse_store_url(text.strip(), source=source)
    except StoreUrlInvalid as e:
        raise fail(EXIT_CONFIG, str(e)) from None
    if url.conninfo is None:
        raise fail(
            EXIT_CONFIG, f"{source}: the fleet lives in PostgreSQL (postgresql://...); was sqlite"
        )
    return url


@contextmanager
def fleet_db(store: str | None, *, write: bool) -> Iterator[psycopg.Connection[Any]]:
    """The fleet's database, autocommit: migrated when ``write``; otherwise a read-only
    session that refuses (exit 3) a database without the fleet's tables."""
    import psycopg

    from gridmaker.store import StoreError
    from gridmaker.store.pg_schema import PG_SCHEMA_VERSION, migrate_pg, verify_pg

    url = fleet_url(store)
    assert url.conninfo is not None
    options = "" if write else "-c default_transaction_read_only=on"
    try:
        db = psycopg.connect(url.conninfo, autocommit=True, connect_timeout=10, options=options)
    except psycopg.Error as e:
        raise fail(
            EXIT_EXCHANGE,
            f"cannot reach the fleet's database at {url.shown}: {redacted(e, url.conninfo)}",
        ) from None
    with db:
        try:
            version = verify_pg(db, url.shown)
            if write:
                migrate_pg(db, url.shown)
            elif version < PG_SCHEMA_VERSION:
                raise fail(
                    EXIT_STATE,
                    f"no fleet here yet: {url.shown} has no fleet tables (`gridmaker fleet add` "
                    "or `gridmaker worker` makes them)",
                )
            yield db
        except StoreError as e:
            raise fail(EXIT_STATE, str(e)) from None
        except psycopg.Error as e:
            raise fail(
                EXIT_EXCHANGE,
                f"the fleet's database {url.shown} failed: {redacted(e, url.conninfo)}",
            ) from None
