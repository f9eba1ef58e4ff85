"""A fleet on one machine, for the fleet tests and ``benchmarks/fleet_torture.py``.

One ``gridmaker sim-exchange`` holds one account; each grid trades its own strategy id on a
market of it, with a budget, so that the books' balances add up to the account's. Grids are
declared in the database (``gridmaker fleet add``) and worked by ``gridmaker worker``
processes, each started with its own ``PGAPPNAME``: every row a process writes can then be
traced to it (``install_write_audit``), which is how a test proves that a worker that lost a
grid wrote nothing for it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import psycopg

__all__ = [
    "ACCOUNT",
    "BUDGET_BASE",
    "BUDGET_QUOTE",
    "GridSpec",
    "Worker",
    "connect",
    "db_now",
    "declare_grids",
    "grid_config",
    "install_write_audit",
    "layout",
    "migrate",
    "owners",
    "sim_config",
    "stop_all",
    "trading",
    "venue_dump",
    "workers",
    "write_audit",
]

READY_LINE: Final = re.compile(r"^worker (\S+) ready$", re.MULTILINE)
"""What ``gridmaker worker`` prints once it works (its signal handlers in place)."""
ACCOUNT: Final = "acct"
BUDGET_QUOTE: Final = Decimal("1000")
BUDGET_BASE: Final = Decimal("0.02")
QUOTE: Final = "USDT"

_Db = psycopg.Connection[tuple[Any, ...]]


@dataclass(frozen=True, slots=True)
class GridSpec:
    """One grid of the fleet: its name (store namespace), market and client-id prefix."""

    name: str
    symbol: str
    strategy: str

    @property
    def base(self) -> str:
        return self.symbol.split("/")[0]


def layout(grids: int, markets: int) -> list[GridSpec]:
    """``grids`` grids spread round-robin over ``markets`` markets ``X01/USDT``, ...; grids on
    one market differ by strategy id (their client ids never collide)."""
    if not 1 <= markets <= grids:
        raise ValueError(f"markets must be 1 .. grids ({grids}); was {markets}")
    return [
        GridSpec(f"g{i + 1:02d}", f"X{i % markets + 1:02d}/{QUOTE}", f"g{i + 1:02d}")
        for i in range(grids)
    ]


def sim_config(specs: Sequence[GridSpec], *, seed: int, volatility: str = "0.0008") -> str:
    """The simulator's config: every market, and an account holding exactly the grids' budgets
    (the quote: the sum of every grid's; each base: the sum of its market's grids')."""
    symbols = sorted({s.symbol for s in specs})
    balances = {QUOTE: BUDGET_QUOTE * len(specs)}
    for spec in specs:
        balances[spec.base] = balances.get(spec.base, Decimal(0)) + BUDGET_BASE
    lines = [
        f"feed: {{seed: {seed}, volatility: '{volatility}'}}",
        "sim:",
        "  balances:",
        *(f"    {asset}: '{amount}'" for asset, amount in sorted(balances.items())),
        "  instruments:",
        *(f"    {symbol}: {{}}" for symbol in symbols),
        "markets:",
        *(f"  - {{symbol: {symbol}}}" for symbol in symbols),
    ]
    return "\n".join(lines) + "\n"


def grid_config(spec: GridSpec, base_url: str) -> str:
    """A grid's own config: the simulator as a Binance venue, one market, a small grid close
    to the price (it fills often), breakers off (the torture judges bookkeeping, not risk).
    Audits are rare: a dozen grids share one key's weight budget (6000 a minute), which the
    boots of a failover need (fills come by the user stream; every boot syncs in full)."""
    return f"""exchange: binance
venue:
  base_url: {base_url}
  audit_interval_s: 60
markets:
  - symbol: {spec.symbol}
    strategy_id: {spec.strategy}
    order_size: '0.001'
    budget_quote: '{BUDGET_QUOTE}'
    budget_base: '{BUDGET_BASE}'
    grid: {{spacing: '0.25%', buy_levels: 4, sell_levels: 4}}
    risk: {{fast_move: null, drawdown: null}}
"""


def connect(url: str) -> _Db:
    return psycopg.connect(url, autocommit=True, connect_timeout=10)


def db_now(db: _Db) -> Any:
    """The database's clock (``datetime``, aware): the one every fleet record is on."""
    row = db.execute("SELECT clock_timestamp()").fetchone()
    assert row is not None
    return row[0]


def migrate(url: str) -> None:
    """The store's tables (a worker would make them too; the audit needs them first)."""
    from gridmaker.store.pg_schema import migrate_pg

    with connect(url) as db:
        migrate_pg(db, "the fleet's database")


def _gridmaker(*args: str, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gridmaker.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, **env},
    )


def declare_grids(url: str, specs: Sequence[GridSpec], base_url: str, work: Path) -> str:
    """Declare every grid with ``gridmaker fleet add`` (through the registry where that
    command is not there yet); returns how (``cli`` or ``registry``)."""
    from gridmaker.fleet.registry import add_grid

    work.mkdir(parents=True, exist_ok=True)
    how = "cli"
    for spec in specs:
        path = work / f"{spec.name}.yaml"
        path.write_text(grid_config(spec, base_url))
        if how == "cli":
            done = _gridmaker(
                *("fleet", "add", spec.name, "--config", str(path), "--account", ACCOUNT),
                env={"GRIDMAKER_STORE_URL": url},
            )
            if done.returncode == 0:
                continue
            if "No such command" not in done.stderr:
                raise RuntimeError(f"fleet add {spec.name} failed: {done.stderr[-2000:]}")
            how = "registry"
        with connect(url) as db:
            add_grid(db, spec.name, ACCOUNT, path.read_text())
    return how


@dataclass
class Worker:
    """One ``gridmaker worker --name NAME``; each ``start`` is a fresh process (a fresh
    executor id) whose output goes to its own log and whose database sessions carry the
    application name ``app``."""

    name: str
    url: str
    ttl_s: float
    work: Path
    extra: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    """Added to the environment of each start."""
    starts: int = 0
    proc: subprocess.Popen[bytes] | None = None
    stopped: bool = False
    asked: bool = False
    """SIGTERM sent to this start."""
    apps: dict[str, int] = field(default_factory=dict)
    """Application name of each start -> its pid."""

    @property
    def app(self) -> str:
        return f"gm-{self.name}-{self.starts}"

    @property
    def log(self) -> Path:
        return self.work / f"{self.name}.{self.starts}.log"

    @property
    def up(self) -> bool:
        """Running and not stopped: it can work its grids."""
        return self.proc is not None and self.proc.poll() is None and not self.stopped

    def start(self) -> None:
        self.starts += 1
        self.work.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "gridmaker.cli", "worker", "--store", self.url]
        command += ["--name", self.name, "--lease-ttl", f"{self.ttl_s:g}", *self.extra]
        env = {**os.environ, **self.env, "PGAPPNAME": self.app}
        with self.log.open("wb") as sink:
            self.proc = subprocess.Popen(
                command, stdout=sink, stderr=subprocess.STDOUT, env=env, cwd=self.work
            )
        self.stopped = False
        self.asked = False
        self.apps[self.app] = self.proc.pid

    def signal(self, sig: signal.Signals) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)
        if sig is signal.SIGSTOP:
            self.stopped = True
        elif sig is signal.SIGCONT:
            self.stopped = False

    def kill(self) -> None:
        """SIGKILL, and reap it (a stopped process dies too)."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(timeout=30)
        self.stopped = False

    def terminate(self, timeout_s: float = 60) -> int:
        """SIGTERM (after a SIGCONT if stopped) as an operator would; SIGKILL if it hangs.
        The exit code (negative: killed by that signal)."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.ask_to_stop()
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
        return int(self.proc.returncode)

    def ask_to_stop(self) -> None:
        """SIGTERM once (after a SIGCONT if stopped), not waiting: ``terminate`` waits. A
        second SIGTERM would mean "quit at once"."""
        if self.proc is not None and self.proc.poll() is None and not self.asked:
            if self.stopped:
                self.signal(signal.SIGCONT)
            self.proc.send_signal(signal.SIGTERM)
            self.asked = True

    @property
    def ready(self) -> str | None:
        """This start's executor id once it said it is ready (its grids can move to it)."""
        if self.proc is None or not self.log.exists():
            return None
        found = READY_LINE.search(self.log.read_text(errors="replace"))
        return found.group(1) if found else None

    def executor(self, db: _Db) -> str | None:
        """This start's executor id (``NAME-HEX``), once the worker registered itself."""
        if self.proc is None:
            return None
        row = db.execute(
            "SELECT worker FROM gridmaker.fleet_workers WHERE pid = %s AND worker LIKE %s "
            "ORDER BY started_at DESC LIMIT 1",
            (self.proc.pid, f"{self.name}-%"),
        ).fetchone()
        return str(row[0]) if row else None


@contextmanager
def workers(
    url: str,
    names: Sequence[str],
    ttl_s: float,
    work: Path,
    extra: tuple[str, ...] = (),
    env: Mapping[str, str] | None = None,
) -> Iterator[dict[str, Worker]]:
    """Started workers; each one still running is stopped with SIGTERM on the way out."""
    started = {n: Worker(n, url, ttl_s, work, extra, dict(env or {})) for n in names}
    try:
        for worker in started.values():
            worker.start()
        yield started
    finally:
        stop_all(started.values())


def stop_all(fleet: Iterable[Worker]) -> list[int]:
    """SIGTERM to every worker at once (none takes over what another is releasing), then
    wait for each; their exit codes."""
    fleet = list(fleet)
    for worker in fleet:
        worker.ask_to_stop()
    return [worker.terminate() for worker in fleet]


@dataclass(frozen=True, slots=True)
class Owner:
    owner: str
    epoch: int
    state: str
    leased: bool
    """The lease has not run out (by the database's clock)."""


def owners(db: _Db) -> dict[str, Owner]:
    rows = db.execute(
        "SELECT grid, owner, epoch, state, lease_until > clock_timestamp() "
        "FROM gridmaker.fleet_owners"
    ).fetchall()
    return {str(r[0]): Owner(str(r[1]), int(r[2]), str(r[3]), bool(r[4])) for r in rows}


@dataclass(frozen=True, slots=True)
class Tenure:
    """Who trades a grid: its owner and epoch, and when (the database's clock) it took it."""

    owner: str
    epoch: int
    acquired_at: Any


def trading(db: _Db, grid: str) -> Tenure | None:
    """The grid's owner, if its lease holds and it trades under that epoch."""
    row = db.execute(
        "SELECT o.owner, o.epoch, (SELECT min(h.at) FROM gridmaker.fleet_history h WHERE "
        "h.grid = o.grid AND h.epoch = o.epoch AND h.event = 'acquired') "
        "FROM gridmaker.fleet_owners o WHERE o.grid = %s AND o.lease_until > clock_timestamp() "
        "AND EXISTS (SELECT 1 FROM gridmaker.fleet_history h WHERE h.grid = o.grid AND "
        "h.epoch = o.epoch AND h.worker = o.owner AND h.event = 'trading')",
        (grid,),
    ).fetchone()
    return Tenure(str(row[0]), int(row[1]), row[2]) if row else None


AUDITED: Final = ("books", "fills", "intents", "boots", "halts", "commands", "venue")
"""The store's tables a grid's owner writes (all keyed by ``store_id``, the grid's name)."""


def install_write_audit(db: _Db) -> None:
    """Log every row written to the store's tables, with the writing session's application
    name (``Worker.app``), the database's clock and the row's order or trade id, to
    ``public.gm_write_audit``."""
    db.execute(
        "CREATE TABLE IF NOT EXISTS public.gm_write_audit (id BIGSERIAL PRIMARY KEY, "
        "at TIMESTAMPTZ NOT NULL, tbl TEXT NOT NULL, op TEXT NOT NULL, store_id TEXT NOT NULL, "
        "key TEXT NOT NULL, app TEXT NOT NULL)"
    )
    db.execute(
        """CREATE OR REPLACE FUNCTION public.gm_write_audit_row() RETURNS trigger
        LANGUAGE plpgsql AS $$
        DECLARE written RECORD;
        BEGIN
          IF TG_OP = 'DELETE' THEN written := OLD; ELSE written := NEW; END IF;
          INSERT INTO public.gm_write_audit (at, tbl, op, store_id, key, app)
          VALUES (clock_timestamp(), TG_TABLE_NAME, TG_OP, written.store_id,
                  coalesce(to_jsonb(written) ->> 'client_order_id',
                           to_jsonb(written) ->> 'trade_id', ''),
                  current_setting('application_name'));
          RETURN NULL;
        END $$"""
    )
    for table in AUDITED:
        db.execute(f"DROP TRIGGER IF EXISTS gm_write_audit ON gridmaker.{table}")
        db.execute(
            f"CREATE TRIGGER gm_write_audit AFTER INSERT OR UPDATE OR DELETE ON "
            f"gridmaker.{table} FOR EACH ROW EXECUTE FUNCTION public.gm_write_audit_row()"
        )


@dataclass(frozen=True, slots=True)
class Write:
    at: Any
    """``datetime`` (aware), the database's clock."""
    table: str
    op: str
    grid: str
    key: str
    """The row's client order id or trade id ("" for other tables)."""
    app: str


def write_audit(db: _Db, grid: str | None = None) -> list[Write]:
    rows = db.execute(
        "SELECT at, tbl, op, store_id, key, app FROM public.gm_write_audit "
        "WHERE %s::text IS NULL OR store_id = %s ORDER BY id",
        (grid, grid),
    ).fetchall()
    return [Write(r[0], *(str(v) for v in r[1:])) for r in rows]


def venue_dump(base_url: str) -> dict[str, Any]:
    """The simulator's own records while it runs: every order and fill, the balances."""
    with urllib.request.urlopen(base_url + "/__sim/dump", timeout=30) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]
