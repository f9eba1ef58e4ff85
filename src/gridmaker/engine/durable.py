"""``DurableExecutor``: each decision runs as one short DBOS workflow.

A decision with an action to send or a fill to apply runs as ``execute_wf``, the only
workflow; one with neither (a price that moved no order, a new fill cursor) is a single store
commit, atomic on its own, with no workflow around it. The recipe:

    record_step (book + causes + intents in one store transaction) ▸ one send_step per action

Its id comes from the business key of the decision: ``gm:{symbol}:fill:{trade_id}`` when the
cause is one fill, else ``gm:{symbol}:rev:{n}`` with ``n`` the store revision the record step
writes (revisions are sequential per data dir). Ids are started with the ``reject`` reuse
policy, so a second start of the same key is an error, never a silently returned old result:
the same fill cannot be applied twice, whatever path it arrives by. Sending goes through the
same idempotent ``Sender`` as the simple engine (client ids from the core, lookup before any
resend), and the answers are the workflow's result, fed back to the orchestrator as events.

Our store stays the bot's truth. The record step is exactly-once without a DBOS datasource
transaction because no workflow is ever replayed (below) and the store refuses a second write
of the same trade id.

Recovery. Every process runs under a unique DBOS executor id, so DBOS never replays a dead
process's workflows behind the orchestrator's back (rule 3: nothing trades before the boot
sync). What a dead process left is resolved by the orchestrator's boot reconciliation, exactly
as for the simple engine: intents recorded but not sent are sent, sends not recorded are found
at the venue by client id. Its unfinished workflows are deleted at load (their ids must stay
free: a workflow killed before its record step never consumed its revision).

The system database is SQLite in the data dir (WAL) unless ``GRIDMAKER_SYSTEM_DB_URL`` holds a
``postgresql://`` URL; a Postgres database serves one bot (one data dir) only.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import re
import socket
import time
from collections.abc import Mapping, Sequence
from contextlib import closing, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa
from dbos import DBOS, DBOSConfig, SetWorkflowID

from gridmaker import failpoints
from gridmaker.core.events import Event, Fill
from gridmaker.core.state import Decision, GridState
from gridmaker.db import connect, tune
from gridmaker.engine.retry import Retrier
from gridmaker.engine.store_backed import StoreBackedExecutor
from gridmaker.exchange.api import Exchange
from gridmaker.store import Store
from gridmaker.store.files import check_dbos_file

__all__ = [
    "APP_VERSION",
    "SYSTEM_DB_ENV",
    "DurableExecutor",
    "SystemDatabaseInvalid",
    "SystemDatabaseUnreachable",
    "check_system_database",
    "launch_dbos",
    "redact",
    "shutdown_dbos",
    "system_database_url",
    "validated_system_url",
]

log = logging.getLogger("gridmaker.engine")

APP_NAME: Final = "gridmaker"
APP_VERSION: Final = "gridmaker-wf-1"
"""Pinned: bump only after draining (the default hashes the source and the dbos version)."""
SYSTEM_DB_ENV: Final = "GRIDMAKER_SYSTEM_DB_URL"
SYSTEM_DB_FILE: Final = "dbos.sqlite"
_UNFINISHED: Final = ["PENDING", "ENQUEUED", "ERROR", "CANCELLED", "MAX_RECOVERY_ATTEMPTS_EXCEEDED"]

_live: dict[str, DurableExecutor] = {}
"""Executors of this process by key: workflow inputs stay primitives (no pickled objects)."""
_keys = itertools.count(1)


class SystemDatabaseInvalid(ValueError):
    """``GRIDMAKER_SYSTEM_DB_URL`` is not a usable PostgreSQL URL (a bad environment value)."""


class SystemDatabaseUnreachable(Exception):
    """The PostgreSQL system database named by ``GRIDMAKER_SYSTEM_DB_URL`` does not answer."""


_PASSWORD_IN_URL: Final = re.compile(r"^([A-Za-z][\w+.-]*://[^:@/?#]*:)(.*)@")
_PASSWORD_IN_QUERY: Final = re.compile(r"(?i)(password=)[^&\s]*")


def redact(url: str) -> str:
    """``url`` fit to print: its password, in the user part or the query, as ``***``."""
    return _PASSWORD_IN_QUERY.sub(r"\1***", _PASSWORD_IN_URL.sub(r"\1***@", url))


def _scrubbed(text: str, url: str) -> str:
    """A library's message about ``url`` with every copy of the password replaced."""
    secrets = [m.group(2) for m in [_PASSWORD_IN_URL.match(url)] if m and m.group(2)]
    secrets += re.findall(r"(?i)password=([^&\s]+)", url)
    with suppress(sa.exc.ArgumentError, ValueError):
        secrets.append(sa.make_url(url).password or "")  # as decoded from %-escapes
    for secret in filter(None, secrets):
        text = text.replace(secret, "***")
    return text


def validated_system_url(url: str) -> str:
    """``url`` if it names a PostgreSQL database, else ``SystemDatabaseInvalid`` (redacted)."""
    shown = f"{SYSTEM_DB_ENV}={redact(url)!r}"
    expected = "must be postgresql://USER:PASSWORD@HOST:PORT/DATABASE"
    try:
        parsed = sa.make_url(url)
        parsed.port  # noqa: B018 - parsing the port raises for a non-number
    except (sa.exc.ArgumentError, ValueError):
        raise SystemDatabaseInvalid(f"{SYSTEM_DB_ENV} {expected}; was {redact(url)!r}") from None
    if parsed.drivername not in ("postgresql", "postgresql+psycopg"):
        raise SystemDatabaseInvalid(
            f"{SYSTEM_DB_ENV} {expected} (PostgreSQL only; unset it for SQLite in the data "
            f"dir); was {parsed.drivername}:// in {shown}"
        )
    if not parsed.database:
        raise SystemDatabaseInvalid(
            f"{SYSTEM_DB_ENV} {expected}: it names no database; was {redact(url)!r}"
        )
    return url


def check_system_database(data_dir: Path, url: str | None = None) -> None:
    """Before anything is opened: the system database the durable engine would use is usable.

    ``GRIDMAKER_SYSTEM_DB_URL`` well-formed (``SystemDatabaseInvalid``) and answering
    (``SystemDatabaseUnreachable``); without it, ``dbos.sqlite`` in the data dir, if there is
    one, intact (``StateCorrupt``). Reads only; messages never carry the password.
    """
    url = url if url is not None else os.environ.get(SYSTEM_DB_ENV) or None
    if url is None:
        path = data_dir / SYSTEM_DB_FILE
        if path.exists() and path.stat().st_size:
            check_dbos_file(path)
        return
    import psycopg

    parsed = sa.make_url(validated_system_url(url)).set(drivername="postgresql")
    try:
        with closing(
            psycopg.connect(parsed.render_as_string(hide_password=False), connect_timeout=5)
        ):
            pass
    except psycopg.Error as e:
        if 'database "' in str(e) and "does not exist" in str(e):  # DBOS creates it
            return
        reason = " ".join(_scrubbed(str(e), url).split())
        raise SystemDatabaseUnreachable(
            f"cannot reach the system database {SYSTEM_DB_ENV}={redact(url)!r}: {reason}. "
            f"Start PostgreSQL there, fix {SYSTEM_DB_ENV}, or unset it to keep the system "
            "database in the data dir"
        ) from None


def system_database_url(data_dir: Path, url: str | None = None) -> str:
    """A ``postgresql://`` URL as given, else the SQLite file in the data dir (WAL, absolute)."""
    url = url if url is not None else os.environ.get(SYSTEM_DB_ENV) or None
    if url is not None:
        return validated_system_url(url)
    data_dir.mkdir(parents=True, exist_ok=True)
    path = (data_dir / SYSTEM_DB_FILE).resolve()
    # Journal mode lives in the file: switch it before DBOS first opens it.
    with closing(connect(path)) as db:
        tune(db)
    return f"sqlite:///{path}"


def new_executor_id() -> str:
    """Unique per process: DBOS recovers only its own executor's workflows (none of ours)."""
    return f"gm-{socket.gethostname()}-{os.getpid()}-{time.time_ns()}"


def launch_dbos(
    data_dir: Path,
    *,
    url: str | None = None,
    executor_id: str | None = None,
    polling_interval_s: float = 0.1,
) -> str:
    """Configure and launch DBOS; call inside the running event loop. Returns the executor id."""
    asyncio.get_running_loop()  # raises outside a loop: launched elsewhere, steps break
    # Our handler first: DBOS then adds none of its own and its records reach our logging.
    dbos_log = logging.getLogger("dbos")
    if not dbos_log.handlers:
        dbos_log.addHandler(logging.NullHandler())
    executor_id = executor_id or new_executor_id()
    db_url = system_database_url(data_dir, url)
    config: DBOSConfig = {
        "name": APP_NAME,
        "system_database_url": db_url,
        "application_version": APP_VERSION,
        "executor_id": executor_id,
        "log_level": "WARNING",
        # Also bounds how long ``destroy`` waits: 1 s at the default.
        "notification_listener_polling_interval_sec": polling_interval_s,
    }
    if db_url.startswith("sqlite"):
        config["system_database_engine"] = _sqlite_engine(db_url)
    DBOS.destroy()
    DBOS(config=config)
    DBOS.launch()
    return executor_id


def _sqlite_engine(db_url: str) -> sa.Engine:
    """DBOS's own SQLite settings plus ``synchronous=NORMAL`` (WAL: safe, ~1.5x faster)."""
    engine = sa.create_engine(db_url)

    @sa.event.listens_for(engine, "connect")
    def _configure(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = "IMMEDIATE"  # serialized writers, as DBOS does
        dbapi_conn.execute("PRAGMA foreign_keys=ON")
        tune(dbapi_conn, wal=False, busy_timeout_ms=30000)

    return engine


def shutdown_dbos(timeout_s: int = 10) -> None:
    """Let running workflows finish (up to ``timeout_s``), then release DBOS."""
    DBOS.destroy(workflow_completion_timeout_sec=timeout_s)


@dataclass(frozen=True, slots=True)
class _Job:
    decision: Decision
    causes: tuple[Event, ...]
    send: bool


class DurableExecutor(StoreBackedExecutor):
    """The ``GridExecutor`` on DBOS workflows; DBOS must be launched (``launch_dbos``) first."""

    def __init__(
        self,
        *,
        store: Store,
        exchange: Exchange,
        retrier: Retrier | None = None,
        executor_id: str,
    ) -> None:
        super().__init__(store=store, exchange=exchange, retrier=retrier)
        self.executor_id = executor_id
        self.workflows = 0
        self.owns_dbos = False
        self._key = f"ex{next(_keys)}"
        self._jobs: dict[str, _Job] = {}
        _live[self._key] = self

    @classmethod
    def launch(
        cls,
        data_dir: Path,
        *,
        store: Store,
        exchange: Exchange,
        retrier: Retrier | None = None,
        url: str | None = None,
        polling_interval_s: float = 0.1,
    ) -> DurableExecutor:
        """Launch DBOS for this data dir (inside the loop); ``close`` shuts it down again."""
        executor = cls(
            store=store,
            exchange=exchange,
            retrier=retrier,
            executor_id=launch_dbos(data_dir, url=url, polling_interval_s=polling_interval_s),
        )
        executor.owns_dbos = True
        return executor

    async def load_books(self, symbols: Sequence[str]) -> Mapping[str, GridState]:
        await self._drop_abandoned()
        return await super().load_books(symbols)

    async def _drop_abandoned(self) -> None:
        """Delete unfinished workflows of dead processes; boot reconciliation resolves them."""
        stale = [
            w.workflow_id
            for w in await DBOS.list_workflows_async(
                status=_UNFINISHED,
                workflow_id_prefix="gm:",
                load_input=False,
                load_output=False,
            )
            if w.executor_id != self.executor_id
        ]
        if stale:
            log.warning("deleting %d unfinished workflows of a dead process", len(stale))
            await DBOS.delete_workflows_async(stale)

    async def execute(
        self, decision: Decision, causes: Sequence[Event], *, send: bool = True
    ) -> list[Event]:
        state = decision.state
        self.sender.instruments[state.symbol] = state.instrument
        if not decision.actions and not any(isinstance(c, Fill) for c in causes):
            # Nothing to send, no fill to apply: one atomic commit is all there is to do.
            self.store.commit(state, causes=causes)
            return []
        wf_id = self.workflow_id(state.symbol, causes)
        self._jobs[wf_id] = _Job(decision, tuple(causes), send)
        try:
            with SetWorkflowID(wf_id, workflow_id_reuse_policy="reject"):
                answers = await execute_wf(self._key)
        finally:
            self._jobs.pop(wf_id, None)
        self.workflows += 1
        return answers

    def workflow_id(self, symbol: str, causes: Sequence[Event]) -> str:
        """The business key: the one fill that caused it, else the revision it will write."""
        if len(causes) == 1 and isinstance(fill := causes[0], Fill):
            return f"gm:{symbol}:fill:{fill.trade_id}"
        return f"gm:{symbol}:rev:{self.store.revision + 1}"

    async def close(self) -> None:
        _live.pop(self._key, None)
        try:
            self.store.close()
        finally:
            if self.owns_dbos:
                shutdown_dbos()

    # --- steps -------------------------------------------------------------------------------

    async def record_step(self, wf_id: str) -> int:
        """Book, causes and intents in one store transaction; returns the revision written."""
        job = self._jobs[wf_id]
        decision = job.decision
        self.store.commit(decision.state, causes=job.causes, actions=decision.actions)
        return self.store.revision


@DBOS.workflow(name="execute_wf")
async def execute_wf(executor_key: str) -> list[Event]:
    """Record the decision with its causes, then send each action; the answers are the result."""
    executor = _live[executor_key]
    wf_id = DBOS.workflow_id
    assert wf_id is not None
    job = executor._jobs[wf_id]
    await DBOS.run_step_async({"name": "record_step"}, executor.record_step, wf_id)
    actions = job.decision.actions
    if not job.send:
        return []
    if actions:
        failpoints.hit("intent:recorded")
    instrument = job.decision.state.instrument
    return [
        await DBOS.run_step_async({"name": "send_step"}, executor.sender.send, action, instrument)
        for action in actions
    ]
