"""Shadow mode: both engines over the same feed, each on its own simulated exchange.

Each engine runs a full session (boot, the feed, the final fill poll) in its own directory;
a recording layer around each executor keeps every action with the event that caused it. The
streams (and the final books) must be identical: the engines share the orchestrator and
``decide``, so any difference is a bug in an executor.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from gridmaker.core.events import Action, Event
from gridmaker.core.setup import BookSetup
from gridmaker.core.state import Decision, GridState
from gridmaker.engine.executor import GridExecutor
from gridmaker.engine.orchestrator import GridOrchestrator
from gridmaker.engine.sessions.market import run_market_session
from gridmaker.engine.summary import summarize
from gridmaker.exchange.api import Exchange, SimulatedMarket
from gridmaker.feeds import MarketFeed
from gridmaker.store import Store

__all__ = ["ENGINES", "RecordingExecutor", "ShadowResult", "ShadowVenue", "Step", "run_shadow"]

ENGINES = ("simple", "durable")


@dataclass(frozen=True, slots=True)
class Step:
    """One action as sent (or recorded, when not sent), with the event that caused it."""

    action: Action
    cause: Event | None


class RecordingExecutor:
    """A ``GridExecutor`` that keeps every decision's actions, then delegates."""

    def __init__(self, inner: GridExecutor) -> None:
        self.inner = inner
        self.steps: list[Step] = []
        self.events = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def execute(
        self, decision: Decision, causes: Sequence[Event], *, send: bool = True
    ) -> list[Event]:
        self.events += len(causes)
        cause = causes[0] if causes else None
        self.steps.extend(Step(action, cause) for action in decision.actions)
        return await self.inner.execute(decision, causes, send=send)


@dataclass(frozen=True, slots=True)
class ShadowResult:
    trades: int
    events: int
    """Events each engine decided on (the simple engine's count; both agree when identical)."""
    actions: dict[str, list[Step]]
    summaries: dict[str, dict[str, object]]
    first_difference: int | None
    """Index of the first differing action (``None``: the streams are equal)."""

    @property
    def identical(self) -> bool:
        return self.first_difference is None and self._same_books()

    def _same_books(self) -> bool:
        a, b = (self.summaries[e] for e in ENGINES)
        return a == b

    def describe_difference(self) -> str:
        """The first differing action of each engine with its cause, or why the books differ."""
        if self.first_difference is None:
            if self._same_books():
                return "identical"
            a, b = (self.summaries[e] for e in ENGINES)
            differing = [k for k in sorted({*a, *b}) if a.get(k) != b.get(k)]
            return "same actions, different books: " + "; ".join(
                f"{k} simple {a.get(k, '-')} / durable {b.get(k, '-')}" for k in differing
            )
        i = self.first_difference
        lines = [f"first difference at action {i}:"]
        for engine in ENGINES:
            steps = self.actions[engine]
            if i < len(steps):
                lines.append(f"  {engine}: {steps[i].action}\n    caused by {steps[i].cause}")
            else:
                lines.append(f"  {engine}: no action (stream ended after {len(steps)})")
        return "\n".join(lines)


class ShadowVenue(Exchange, SimulatedMarket, Protocol):
    """A venue whose market the session prints: each engine trades its own one."""


_Venue = TypeVar("_Venue", bound=ShadowVenue)


async def run_shadow(
    *,
    feed: MarketFeed,
    setup: BookSetup,
    make_exchange: Callable[[Path], _Venue],
    make_store: Callable[[Path], Store],
    make_executor: Callable[[str, Path, Store, _Venue], GridExecutor],
    work_dir: Path,
    steps: int | None,
    reconcile_every: int = 1000,
) -> ShadowResult:
    """Run each engine over ``feed`` in ``work_dir/<engine>`` and compare the action streams.

    The exchange, the store and the executor of each engine's data dir come from the
    factories (the CLI's wiring), so this module builds no concrete venue or store itself.
    """
    recorded: dict[str, RecordingExecutor] = {}
    summaries: dict[str, dict[str, object]] = {}
    trades = 0
    for engine in ENGINES:
        data_dir = work_dir / engine
        data_dir.mkdir(parents=True, exist_ok=True)
        exchange = make_exchange(data_dir)
        store = make_store(data_dir)
        executor = RecordingExecutor(make_executor(engine, data_dir, store, exchange))
        orchestrator = GridOrchestrator(exchange=exchange, executor=executor, setups=[setup])
        try:
            await orchestrator.boot()
            result = await run_market_session(
                orchestrator,
                exchange,
                feed,
                setup.symbol,
                steps=steps,
                reconcile_every=reconcile_every,
            )
            trades = result.trades
            state: GridState | None = orchestrator.state(setup.symbol)
            summaries[engine] = summarize(state) if state is not None else {}
        finally:
            await executor.close()
            await exchange.close()
        recorded[engine] = executor
    streams = {e: recorded[e].steps for e in ENGINES}
    return ShadowResult(
        trades=trades,
        events=recorded["simple"].events,
        actions=streams,
        summaries=summaries,
        first_difference=_first_difference(*(streams[e] for e in ENGINES)),
    )


def _first_difference(a: Sequence[Step], b: Sequence[Step]) -> int | None:
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x.action != y.action:
            return i
    return None if len(a) == len(b) else min(len(a), len(b))
