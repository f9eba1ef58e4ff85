"""A throwaway PostgreSQL for tests: one cluster per test session, one database per test.

``GRIDMAKER_TEST_PG_URL`` names a server to use instead (its user must be allowed to create
databases). Otherwise the fixture runs ``initdb`` into a temporary directory and starts the
cluster on 127.0.0.1 and a free port, its socket in that directory; as root it runs them as
the ``postgres`` user (PostgreSQL refuses to run as root). Without PostgreSQL's binaries the
tests skip, saying so; under ``GRIDMAKER_CI=1`` that skip is a failure (``tests/conftest.py``).
Durability is switched off (``fsync=off``): a test cluster is thrown away, never recovered.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.kit.waiting import eventually

__all__ = ["NoPostgres", "PgServer", "pg_bin_dir", "pg_server", "pg_url", "throwaway_cluster"]

TEST_URL_ENV = "GRIDMAKER_TEST_PG_URL"
_numbers = itertools.count(1)


def pg_bin_dir() -> Path | None:
    """The newest ``/usr/lib/postgresql/*/bin`` with ``initdb``, or one on ``PATH``."""
    found = sorted(
        map(str, Path("/usr/lib/postgresql").glob("*/bin/initdb")),
        key=lambda p: (
            int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0
        ),
    )
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


@dataclass
class PgServer:
    """A server the tests may create databases on; ``url`` is its maintenance database."""

    url: str

    def new_database(self) -> str:
        """A fresh, empty database; its URL."""
        import psycopg

        name = f"gm_test_{os.getpid()}_{next(_numbers)}"
        with psycopg.connect(self.url, autocommit=True) as db:
            db.execute(f'DROP DATABASE IF EXISTS "{name}"')
            db.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return urlunsplit(urlsplit(self.url)._replace(path=f"/{name}"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def _answers(url: str) -> bool:
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=2):
            return True
    except psycopg.OperationalError:
        return False


class NoPostgres(Exception):
    """No PostgreSQL to start here (the message says what is missing)."""


@contextmanager
def throwaway_cluster(max_connections: int = 200) -> Iterator[str]:
    """A fresh cluster on 127.0.0.1 and a free port, deleted on exit; yields its URL.

    Raises ``NoPostgres`` without the binaries (or, as root, without ``runuser``).
    """
    bin_dir = pg_bin_dir()
    if bin_dir is None:
        raise NoPostgres(
            "no PostgreSQL binaries (initdb) in /usr/lib/postgresql/*/bin or on PATH: install "
            f"postgresql, or set {TEST_URL_ENV}"
        )
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        raise NoPostgres("postgresql cannot run as root and runuser is missing")
    home = Path(tempfile.mkdtemp(prefix="gm-pg-"))
    data, sockets = home / "data", home / "sock"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(home, "postgres")
        shutil.chown(sockets, "postgres")
    user = "postgres" if os.geteuid() == 0 else os.environ.get("USER", "postgres")
    try:
        subprocess.run(
            _as_postgres(
                [
                    *(str(bin_dir / "initdb"), "-D", str(data), "-U", user, "--auth=trust"),
                    *("-E", "UTF8", "--no-sync", "--locale=C.UTF-8"),
                ]
            ),
            check=True,
            capture_output=True,
        )
        port = _free_port()
        options = (
            f"-h 127.0.0.1 -p {port} -k {sockets} -c fsync=off -c synchronous_commit=off "
            f"-c full_page_writes=off -c max_connections={max_connections}"
        )
        subprocess.run(
            _as_postgres(
                [
                    *(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(home / "log")),
                    *("-o", options, "-w", "start"),
                ]
            ),
            check=True,
            capture_output=True,
        )
        url = f"postgresql://{user}@127.0.0.1:{port}/postgres"
        eventually(lambda: _answers(url), timeout_s=30, what="the test PostgreSQL to answer")
        yield url
    finally:
        subprocess.run(
            _as_postgres([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
            check=False,
        )
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    given = os.environ.get(TEST_URL_ENV)
    if given:
        yield PgServer(given)
        return
    with ExitStack() as stack:
        try:
            url = stack.enter_context(throwaway_cluster())
        except NoPostgres as e:
            pytest.skip(str(e))
        yield PgServer(url)


@pytest.fixture
def pg_url(pg_server: PgServer) -> str:
    """A fresh database on the session's server, for this test alone."""
    return pg_server.new_database()
