"""Differential fuzzing: generated markets through both executors give the same actions and books.

Prices (moves of several levels at a time, so orders fill and the window trails), partial
fills, operator trips and resets (which cancel and re-place) and restarts of the bot, on each
engine against its own simulated exchange; and the durable engine on PostgreSQL against the
simple one on SQLite (the store's backend changes nothing either).
"""

from __future__ import annotations

import asyncio
import tempfile
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridmaker.engine.sessions.shadow import RecordingExecutor, Step
from gridmaker.engine.summary import summarize
from tests.kit.postgres import PgServer
from tests.kit.world import SYMBOL, World, open_world

pytestmark = pytest.mark.integration

Op = tuple[str, int]
SMALL, LARGE = Decimal("0.0004"), Decimal("0.0015")

ops = st.lists(
    st.one_of(
        st.tuples(st.just("trade"), st.integers(min_value=-600, max_value=600)),
        st.tuples(st.sampled_from(["trip", "reset", "restart"]), st.just(0)),
    ),
    min_size=5,
    max_size=40,
)


def _open(data_dir: Path, engine: str, store_url: str | None) -> tuple[World, RecordingExecutor]:
    world = open_world(data_dir, engine=engine, store_url=store_url)
    world.sim.partial_fills = True
    recorder = RecordingExecutor(world.executor)
    world.orchestrator.executor = recorder
    return world, recorder


async def _life(
    engine: str, data_dir: Path, script: list[Op], store_url: str | None = None
) -> tuple[list[Step], object]:
    world, recorder = _open(data_dir, engine, store_url)
    steps: list[Step] = []
    await world.orchestrator.boot()
    price = Decimal(50_000)
    for ts, (kind, move) in enumerate(script, start=1):
        if kind == "trade":
            price += move
            amount = SMALL if move % 2 else LARGE  # a small print fills an order partly
            world.sim.apply_trade(SYMBOL, price, amount, ts)
            await world.orchestrator.on_trade(SYMBOL, price, ts)
        elif kind == "restart":
            steps += recorder.steps
            await world.close()
            world, recorder = _open(data_dir, engine, store_url)
            await world.orchestrator.boot()
        else:
            world.store.add_command(SYMBOL, kind, "fuzz")
            await world.orchestrator.apply_commands(ts)
    await world.orchestrator.poll_fills(SYMBOL)
    steps += recorder.steps
    state = world.orchestrator.state(SYMBOL)
    await world.close()
    return steps, None if state is None else summarize(state)


@settings(max_examples=6, deadline=None)
@given(script=ops)
def test_both_engines_send_the_same_actions_and_end_in_the_same_book(script: list[Op]) -> None:
    # Arrange
    with tempfile.TemporaryDirectory() as tmp:
        # Act
        simple = asyncio.run(_life("simple", Path(tmp) / "simple", script))
        durable = asyncio.run(_life("durable", Path(tmp) / "durable", script))

    # Assert
    assert [s.action for s in simple[0]] == [s.action for s in durable[0]]
    assert simple[1] == durable[1]


@settings(max_examples=2, deadline=None)
@given(script=ops)
def test_durable_engine_on_postgresql_matches_simple_engine_on_sqlite(
    pg_server: PgServer, script: list[Op]
) -> None:
    # Arrange: a fresh database for each script
    url = pg_server.new_database() + "?grid=differential"
    with tempfile.TemporaryDirectory() as tmp:
        # Act
        simple = asyncio.run(_life("simple", Path(tmp) / "simple", script))
        durable = asyncio.run(_life("durable", Path(tmp) / "durable", script, url))

    # Assert
    assert [s.action for s in simple[0]] == [s.action for s in durable[0]]
    assert simple[1] == durable[1]
