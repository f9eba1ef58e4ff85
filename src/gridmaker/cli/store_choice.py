"""Which store a command opens: ``GRIDMAKER_STORE_URL``, else the config's ``store:``.

``sqlite`` (the default) is the data dir's file; a ``postgresql://`` URL is a namespace
(``grid=``) in a shared database. A bad URL is exit 2, named by where it came from and never
quoting its password.

Only ``run`` and ``status`` open a PostgreSQL store; the other commands read the data dir's
SQLite file and refuse (``refuse_postgres``) rather than show or change the wrong store.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from gridmaker.cli.common import EXIT_CONFIG, EXIT_STATE, CannotStart, fail, store_file

if TYPE_CHECKING:
    from gridmaker.config import Config
    from gridmaker.store import Store
    from gridmaker.store.url import StoreUrl

__all__ = ["open_chosen_store", "open_sqlite_read_only", "refuse_postgres", "store_choice"]


def store_choice(config: Config | None) -> StoreUrl:
    """The store URL in force, parsed; the environment wins over the config."""
    from gridmaker.store.url import STORE_URL_ENV, StoreUrlInvalid, parse_store_url

    env = os.environ.get(STORE_URL_ENV, "").strip()
    text, source = (env, STORE_URL_ENV) if env else (config.store if config else "", "store")
    try:
        return parse_store_url(text, source=source)
    except StoreUrlInvalid as e:
        raise fail(EXIT_CONFIG, str(e)) from None


def open_chosen_store(url: StoreUrl, data_dir: Path, *, read_only: bool = False) -> Store:
    """The store ``url`` names: the data dir's file (verified already by the caller when
    writing), or its namespace on PostgreSQL (verified, locked when writing, migrated).

    A PostgreSQL server that does not answer is ``CannotStart`` (exit 5), like the durable
    engine's system database; the other refusals are the store's own (3, 4).
    """
    from gridmaker.store import Store

    if url.is_postgres:
        from gridmaker.store.pg_store import PgStore, StoreUnreachable

        try:
            return PgStore(url, read_only=read_only)
        except StoreUnreachable as e:  # beyond this machine, as the system database: 5
            raise CannotStart(str(e)) from None
    return Store(store_file(data_dir), read_only=read_only, verify=read_only)


def refuse_postgres(config: Config | None = None) -> None:
    """Exit 2 when the store in force is PostgreSQL: the calling command reads only the data
    dir's SQLite file, and would otherwise show or change a store the bot does not use."""
    if store_choice(config).is_postgres:
        raise fail(
            EXIT_CONFIG,
            "this command reads the data dir's SQLite store; with a PostgreSQL store (store: / "
            "GRIDMAKER_STORE_URL) it is not supported yet",
        )


def open_sqlite_read_only(path: Path, command: str) -> Store:
    """The SQLite store at ``path``, opened without writing a byte: a reading command must
    not migrate an older schema (exit 3; the bot upgrades it when it starts) nor create one.

    Raises ``StateCorrupt``/``DataDirUnusable`` from the check, for the caller to map.
    """
    from gridmaker.store import SCHEMA_VERSION, Store
    from gridmaker.store.schema import verify_store

    version = verify_store(path)
    if version == 0:
        raise fail(EXIT_STATE, f"{path} holds no gridmaker store yet (`gridmaker run` makes one)")
    if version < SCHEMA_VERSION:
        raise fail(
            EXIT_STATE,
            f"{path} is at schema version {version}, older than this gridmaker's "
            f"{SCHEMA_VERSION}; {command} only reads and does not upgrade it: start the bot "
            f"once (`gridmaker run`) to upgrade it, then run {command} again",
        )
    return Store(path, read_only=True, verify=False)
