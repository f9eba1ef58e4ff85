"""A bot and a simulated venue on disk, built the way the CLI wires them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

import pytest

from gridmaker.config import Config, MarketConfig, book_setups, sim_instrument
from gridmaker.core.events import Side
from gridmaker.core.ids import decode_cid
from gridmaker.engine.executor import GridExecutor
from gridmaker.engine.orchestrator import GridOrchestrator
from gridmaker.engine.simple import SimpleExecutor
from gridmaker.exchange.api import Exchange
from gridmaker.exchange.sim import SimExchange
from gridmaker.feeds import RandomWalkFeed
from gridmaker.store import Store

SYMBOL = "BTC/USDT"
ENGINES = ("simple", "durable")
_engine = ["simple"]
_Test = TypeVar("_Test", bound=Callable[..., object])
_store_url: list[str | None] = [None]
"""The PostgreSQL store URL ``open_world`` opens (``None``: the data dir's SQLite file)."""


def use_engine(name: str) -> str:
    """Make ``open_world`` build this engine from now on; returns the one it built before."""
    if name not in ENGINES:
        raise ValueError(f"invalid engine, was {name!r}; must be one of {ENGINES}")
    before, _engine[0] = _engine[0], name
    return before


def both_stores(test: _Test) -> _Test:
    """Runs ``test`` once per store (the ``store_backend`` fixture, in
    ``tests/integration/conftest.py``)."""
    per_store = pytest.mark.parametrize("store_backend", ["sqlite", "postgresql"], indirect=True)
    marked: _Test = pytest.mark.usefixtures("store_backend")(per_store(test))
    return marked


def use_store(url: str | None) -> str | None:
    """Make ``open_world`` keep the bot's state at ``url`` (``postgresql://...?grid=...``) or,
    with ``None``, in the data dir's SQLite file; returns the choice it made before."""
    before, _store_url[0] = _store_url[0], url
    return before


def open_store(data_dir: Path, url: str | None = None) -> Store:
    """The bot's store: on PostgreSQL at ``url`` (else the one ``use_store`` chose), or the
    data dir's file."""
    url = url or _store_url[0]
    if url is not None:
        from gridmaker.store.pg_store import PgStore
        from gridmaker.store.url import parse_store_url

        return PgStore(parse_store_url(url))
    return Store(data_dir / "gridmaker.sqlite")


def drop_store(store: Store) -> None:
    """Lose the store's connection as a dead process does: nothing flushed or checkpointed.
    PostgreSQL ends the session, releasing the grid's lock, a moment later: waited for, as
    a restarted process would find it."""
    import psycopg

    from gridmaker.store.pg_store import PgStore
    from tests.kit.waiting import eventually

    if isinstance(store, PgStore):
        pid = store._pg.info.backend_pid
        store._pg.close()
        with psycopg.connect(store.url.conninfo or "", autocommit=True) as db:
            query = "SELECT count(*) FROM pg_stat_activity WHERE pid = %s"
            eventually(
                lambda: db.execute(query, (pid,)).fetchone() == (0,),
                timeout_s=10,
                what="the dropped session to end",
            )
    else:
        store._db.close()


def make_executor(engine: str, data_dir: Path, store: Store, venue: Exchange) -> GridExecutor:
    """The executor of ``engine`` on this store; the durable one launches DBOS (in the loop)."""
    if engine == "durable":
        from gridmaker.engine.durable import DurableExecutor

        return DurableExecutor.launch(
            data_dir, store=store, exchange=venue, polling_interval_s=0.01
        )
    return SimpleExecutor(store=store, exchange=venue)


def config(**market: object) -> Config:
    return Config(markets=[MarketConfig.model_validate(market)])


@dataclass
class World:
    data_dir: Path
    config: Config
    sim: SimExchange
    store: Store
    executor: GridExecutor
    orchestrator: GridOrchestrator

    async def close(self) -> None:
        await self.executor.close()
        await self.sim.close()


def open_world(
    data_dir: Path,
    cfg: Config | None = None,
    *,
    wrap: Callable[[SimExchange], Exchange] | None = None,
    engine: str | None = None,
    store_url: str | None = None,
) -> World:
    """Open (or reopen) the bot and the venue on ``data_dir``; ``wrap`` puts a layer between.

    ``engine`` defaults to the one ``use_engine`` chose (the parity fixture sets it), the store
    to the one ``use_store`` chose (the ``store_backend`` fixture sets it).
    """
    cfg = cfg or config()
    instruments = [sim_instrument(cfg, m.symbol) for m in cfg.markets]
    sim = SimExchange(
        instruments=instruments,
        initial_balances=cfg.sim.balances,
        path=data_dir / "exchange.sqlite",
    )
    store = open_store(data_dir, store_url)
    venue: Exchange = sim if wrap is None else wrap(sim)
    executor = make_executor(engine or _engine[0], data_dir, store, venue)
    orch = GridOrchestrator(exchange=venue, executor=executor, setups=book_setups(cfg, instruments))
    return World(data_dir, cfg, sim, store, executor, orch)


def feed(cfg: Config, seed: int = 1) -> RandomWalkFeed:
    inst = sim_instrument(cfg, SYMBOL)
    return RandomWalkFeed(
        seed=seed,
        start_price=Decimal("50000"),
        tick_size=inst.tick_size,
        step_size=inst.step_size,
        volatility=Decimal("0.0008"),
        reversion=Decimal("0.002"),
    )


def open_levels_sides(sim: SimExchange, symbol: str = SYMBOL) -> list[tuple[int, Side]]:
    """(level, side) of every open order at the venue: duplicates would show twice."""
    out = []
    for order in sim.all_orders(symbol):
        decoded = decode_cid(order.client_order_id)
        if order.status.value == "open" and decoded is not None:
            out.append((decoded.level, decoded.side))
    return out


async def venue_totals(sim: SimExchange) -> tuple[Decimal, Decimal]:
    """The venue's base and quote totals (free + locked)."""
    balances = await sim.fetch_balances()
    return balances["BTC"].total, balances["USDT"].total
