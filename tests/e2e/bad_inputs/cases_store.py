"""Store URLs that cannot work: refused before the data dir is touched, never showing the
password (``GRIDMAKER_STORE_URL`` or the config's ``store:``). The commands that read only the
data dir's SQLite file refuse a PostgreSQL store (exit 2) rather than show or change another."""

from __future__ import annotations

from tests.e2e.bad_inputs.kit import BadInput

RUN = ["run", "--data-dir", "{data}", "--steps", "5"]
ENV = "GRIDMAKER_STORE_URL"

CASES = [
    BadInput(
        id="store-env-not-postgresql",
        argv=RUN,
        env={ENV: "mysql://bot:pw-not-shown@127.0.0.1/gm"},
        exit_code=2,
        culprit="GRIDMAKER_STORE_URL must be 'sqlite' or postgresql://",
    ),
    BadInput(
        id="store-env-bad-grid",
        argv=RUN,
        env={ENV: "postgresql://127.0.0.1/gm?grid=two%20words"},
        exit_code=2,
        culprit="grid must be 1 to 100 letters",
    ),
    BadInput(
        id="store-env-no-database",
        argv=RUN,
        env={ENV: "postgresql://127.0.0.1/"},
        exit_code=2,
        culprit="must name a database",
    ),
    BadInput(
        id="store-config-not-a-url",
        argv=["run", "--config", "c.yaml", "--data-dir", "{data}", "--steps", "5"],
        files={"c.yaml": "store: redis://cache:6379\n"},
        exit_code=2,
        culprit="store: must be 'sqlite' or a postgresql:// URL",
    ),
    BadInput(
        id="store-postgresql-not-answering",
        argv=RUN,
        env={ENV: "postgresql://bot:pw-not-shown@127.0.0.1:1/gm?grid=g"},
        exit_code=5,
        culprit="cannot connect to the store at postgresql://bot:***@127.0.0.1:1/gm",
    ),
    BadInput(
        id="status-store-env-not-postgresql",
        argv=["status", "--data-dir", "{data}"],
        env={ENV: "sqlite://nope"},
        exit_code=2,
        culprit="GRIDMAKER_STORE_URL must be",
    ),
    BadInput(
        id="status-store-postgresql-not-answering",
        argv=["status", "--data-dir", "{data}"],
        env={ENV: "postgresql://bot:pw-not-shown@127.0.0.1:1/gm?grid=g"},
        exit_code=5,
        culprit="cannot connect to the store at postgresql://bot:***@127.0.0.1:1/gm",
    ),
]

PG = "postgresql://bot:pw-not-shown@127.0.0.1:1/gm?grid=g"
SQLITE_ONLY = "with a PostgreSQL store (store: / GRIDMAKER_STORE_URL) it is not supported yet"
NEW = 'markets:\n  - grid:\n      spacing: "0.5%"\n'


def _sqlite_only(command: str, argv: list[str], *, config: str = "", env: bool = True) -> BadInput:
    return BadInput(
        id=f"{command}-refuses-a-postgresql-store",
        argv=[command, "--data-dir", "{data}", *argv],
        files={"c.yaml": config} if config else {},
        env={ENV: PG} if env else {},
        template="sim_run",
        exit_code=2,
        culprit=SQLITE_ONLY,
    )


CASES += [
    _sqlite_only("plan", ["--config", "{tmp}/c.yaml"], config=NEW),
    _sqlite_only(
        "reconfigure",
        ["--config", "{tmp}/c.yaml", "--yes"],
        config=f"store: {PG}\n{NEW}",
        env=False,
    ),
    _sqlite_only("capital", ["--add", "10"]),
    _sqlite_only("stop", ["--cancel"]),
    _sqlite_only("ledger", []),
    _sqlite_only("breaker", ["trip"]),
]
