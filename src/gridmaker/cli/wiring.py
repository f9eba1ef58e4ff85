"""Where concrete classes meet: the CLI is the only place that wires them.

``wire_session`` puts an orchestrator over an executor over a store and a venue, as ``run``
does; the ``shadow`` command and tests and benchmarks build theirs from the same pieces, so
what they exercise is what runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from gridmaker.config import ChaosConfig, Config
    from gridmaker.core.setup import BookSetup
    from gridmaker.core.units import Instrument
    from gridmaker.engine.executor import GridExecutor
    from gridmaker.engine.notices import NoticeSink
    from gridmaker.engine.orchestrator import GridOrchestrator
    from gridmaker.engine.retry import Retrier
    from gridmaker.exchange.api import Exchange
    from gridmaker.exchange.faults import FaultPlan
    from gridmaker.exchange.sim import SimExchange
    from gridmaker.store import Store

__all__ = ["Session", "fault_plan", "make_executor", "sim_exchange_for", "wire_session"]


@dataclass(frozen=True, slots=True)
class Session:
    """A wired bot: the orchestrator, its executor (which owns the store), the venue as the
    bot sees it (behind the fault plan, if any) and the retrier whose count the summary shows."""

    orchestrator: GridOrchestrator
    executor: GridExecutor
    exchange: Exchange
    retrier: Retrier

    async def close(self) -> None:
        """Close the executor and with it the store (the venue is its opener's to close)."""
        await self.executor.close()


def sim_exchange_for(
    config: Config, instruments: Sequence[Instrument], *, path: Path | None, seed: int
) -> SimExchange:
    """The built-in exchange with the config's balances and fill rules, kept in ``path``."""
    from gridmaker.exchange.sim import SimExchange

    return SimExchange(
        instruments=instruments,
        initial_balances=config.sim.balances,
        path=path,
        partial_fills=config.sim.partial_fills,
        seed=seed,
    )


def fault_plan(chaos: ChaosConfig | None) -> FaultPlan | None:
    """The faults the config's ``chaos`` section injects between the bot and its venue."""
    if chaos is None:
        return None
    from gridmaker.exchange.faults import FaultKind, FaultPlan

    return FaultPlan(
        seed=chaos.seed,
        rate=chaos.rate,
        every=chaos.every,
        kinds=tuple(FaultKind(k) for k in chaos.kinds),
    )


def make_executor(
    engine: str,
    data_dir: Path,
    store: Store,
    exchange: Exchange,
    retrier: Retrier | None = None,
    *,
    polling_interval_s: float = 0.1,
) -> GridExecutor:
    """The executor of ``engine`` over ``store``, which it owns from here (its ``close``
    closes the store); the durable one launches DBOS with its system database in
    ``data_dir`` (inside the event loop), polling its queue every ``polling_interval_s``."""
    if engine == "durable":
        from gridmaker.engine.durable import DurableExecutor

        return DurableExecutor.launch(
            data_dir,
            store=store,
            exchange=exchange,
            retrier=retrier,
            polling_interval_s=polling_interval_s,
        )
    from gridmaker.engine.simple import SimpleExecutor

    return SimpleExecutor(store=store, exchange=exchange, retrier=retrier)


def wire_session(
    *,
    engine: str,
    data_dir: Path,
    store: Store,
    exchange: Exchange,
    setups: Sequence[BookSetup],
    seed: int = 0,
    faults: FaultPlan | None = None,
    polling_interval_s: float = 0.1,
    notices: NoticeSink | None = None,
) -> Session:
    """One bot over ``store`` trading ``setups`` on ``exchange`` (behind ``faults``).

    The session owns ``store`` once returned (``Session.close`` closes it); ``exchange`` stays
    its opener's to close. ``seed`` makes the retrier's jitter reproducible; tests poll the
    durable engine's queue faster (``polling_interval_s``); ``notices`` is where the bot tells
    its observers what it does (metrics, alerts, the API's event stream).
    """
    from gridmaker.engine.orchestrator import GridOrchestrator
    from gridmaker.engine.retry import Retrier

    venue = exchange
    if faults is not None:
        from gridmaker.exchange.faults import FaultyExchange

        venue = FaultyExchange(exchange, faults)
    retrier = Retrier(seed=seed)
    executor = make_executor(
        engine, data_dir, store, venue, retrier, polling_interval_s=polling_interval_s
    )
    orchestrator = GridOrchestrator(
        exchange=venue, executor=executor, setups=setups, retrier=retrier, notices=notices
    )
    return Session(orchestrator=orchestrator, executor=executor, exchange=venue, retrier=retrier)
