"""The control API's commands with arguments: ``reconfigure``, ``capital`` and ``stop_sell``.

Over a real bot (``GridOrchestrator`` on the in-process ``SimExchange``, see
``test_control_api``): a malformed argument is a 422 naming the field, a change the book
refuses a 409 with why, and neither journals anything; an accepted one is applied by the loop,
and the command's JSON shows its arguments and whether the loop refused it.
"""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from gridmaker.config import book_setup
from gridmaker.config.sections import MarketConfig
from gridmaker.core.planning import free_funds
from gridmaker.engine.changes import reconfigure_payload
from tests.integration.test_control_api import Bot, running_bot
from tests.kit.world import SYMBOL

pytestmark = pytest.mark.integration


async def _post(bot: Bot, command: str, request_id: str, **fields: Any) -> Any:
    body = {"command": command, "symbol": SYMBOL, "request_id": request_id, **fields}
    return await bot.api.post("/api/commands", json=body)


def _open_cids(bot: Bot) -> set[str]:
    return {o.client_order_id for o in bot.world.sim.all_orders(SYMBOL) if o.status.value == "open"}


def test_api_reconfigure_moves_the_book_and_keeps_the_common_orders(tmp_path: Path) -> None:
    async def main() -> None:
        async with running_bot(tmp_path) as bot:
            # Arrange: default grid 0.25% x 20/20; the new one keeps every other level
            before = _open_cids(bot)
            section = {"grid": {"spacing": "0.5%", "buy_levels": 10, "sell_levels": 10}}

            # Act
            answer = await _post(bot, "reconfigure", "r1", config=section)
            await bot.world.orchestrator.apply_commands(bot.ts)
            record = (await bot.api.get(f"/api/commands/{answer.json()['id']}")).json()

            # Assert
            assert answer.status_code == 202, answer.text
            assert record["status"] == "applied" and not record["refused"]
            assert record["outcome"] == "" and record["payload"]["allow_loss"] is False
            state = bot.world.orchestrator.state(SYMBOL)
            assert state is not None and state.reshapes == 1
            assert len([t for t, s in state.slots.items() if not s.retiring]) <= 21
            kept = before & _open_cids(bot)
            assert kept and any(c.startswith("gmbtcusdtBN") for c in kept)

    asyncio.run(main())


@pytest.mark.parametrize(
    ("fields", "status", "names"),
    [
        ({"config": {"strategy_id": "other"}}, 409, "strategy_id"),
        ({"config": {"grid": {"spacing": "-5"}}}, 422, "config.grid.spacing"),
        ({"config": {"grdi": {}}}, 422, "did you mean 'grid'"),
        ({"config": {"symbol": "ETH/USDT"}}, 422, "config.symbol"),
        ({"config": "spacing: 1%"}, 422, "config"),
        ({}, 422, "config must be"),
        ({"config": {}, "amount": "1"}, 422, "amount does not go with reconfigure"),
    ],
    ids=["strategy-id", "spacing", "unknown-key", "other-symbol", "text", "none", "extra"],
)
def test_api_bad_reconfigure_is_refused_and_journals_nothing(
    tmp_path: Path, fields: dict[str, Any], status: int, names: str
) -> None:
    async def main() -> None:
        async with running_bot(tmp_path) as bot:
            grid_before = bot.world.orchestrator.state(SYMBOL)

            answer = await _post(bot, "reconfigure", "bad", **fields)

            assert answer.status_code == status, answer.text
            assert names in answer.text
            assert bot.world.store.recent_commands(10) == []
            assert bot.world.orchestrator.state(SYMBOL) == grid_before

    asyncio.run(main())


def test_api_capital_amount_is_journaled_in_atoms(tmp_path: Path) -> None:
    async def main() -> None:
        async with running_bot(tmp_path) as bot:
            state = bot.world.orchestrator.state(SYMBOL)
            assert state is not None

            answer = await _post(bot, "capital", "c1", amount="100.5")

            assert answer.status_code == 202, answer.text
            atoms = state.instrument.to_atoms(Decimal("100.5"))
            assert answer.json()["payload"] == {"delta_atoms": atoms}

    asyncio.run(main())


@pytest.mark.parametrize(
    ("fields", "status", "names"),
    [
        ({"amount": "abc"}, 422, "amount must be"),
        ({"amount": "0"}, 422, "other than 0"),
        ({"amount": "NaN"}, 422, "amount must be"),
        ({}, 422, "amount must be"),
        ({"amount": "-100000000"}, 409, "cannot withdraw"),
        ({"amount": "1", "limit": "1%"}, 422, "limit does not go with capital"),
    ],
    ids=["text", "zero", "nan", "none", "too-much", "extra"],
)
def test_api_bad_capital_is_refused_and_journals_nothing(
    tmp_path: Path, fields: dict[str, Any], status: int, names: str
) -> None:
    async def main() -> None:
        async with running_bot(tmp_path) as bot:
            answer = await _post(bot, "capital", "bad", **fields)

            assert answer.status_code == status, answer.text
            assert names in answer.text
            assert bot.world.store.recent_commands(10) == []

    asyncio.run(main())


@pytest.mark.parametrize(
    ("limit", "status", "names"),
    [("1%", 202, ""), ("100%", 422, "below 100%"), ("1", 422, "percent"), (None, 422, "limit")],
    ids=["one-percent", "all", "bare-number", "none"],
)
def test_api_stop_sell_limit_is_a_percent_below_100(
    tmp_path: Path, limit: str | None, status: int, names: str
) -> None:
    async def main() -> None:
        async with running_bot(tmp_path) as bot:
            fields = {} if limit is None else {"limit": limit}
            body = {"command": "stop_sell", "symbol": "*", "request_id": "s", **fields}

            answer = await bot.api.post("/api/commands", json=body)

            assert answer.status_code == status, answer.text
            assert names in answer.text
            if status == 202:
                assert answer.json()["payload"] == {"limit_ppm": 10_000}
            else:
                assert bot.world.store.recent_commands(10) == []

    asyncio.run(main())


def test_api_pause_with_an_argument_is_422(tmp_path: Path) -> None:
    async def main() -> None:
        async with running_bot(tmp_path) as bot:
            answer = await _post(bot, "pause", "p", limit="1%")

            assert answer.status_code == 422 and "limit does not go with pause" in answer.text
            assert bot.world.store.recent_commands(10) == []

    asyncio.run(main())


def test_api_command_the_loop_refused_shows_refused_and_why(tmp_path: Path) -> None:
    async def main() -> None:
        async with running_bot(tmp_path) as bot:
            # Arrange: journaled behind the API's back, as a change the book no longer takes
            state = bot.world.orchestrator.state(SYMBOL)
            assert state is not None
            market = MarketConfig.model_validate({"strategy_id": "other"})
            payload = reconfigure_payload(book_setup(market, state.instrument), False)
            command_id = bot.world.store.add_command(SYMBOL, "reconfigure", "test", payload)

            # Act
            await bot.world.orchestrator.apply_commands(bot.ts)
            record = (await bot.api.get(f"/api/commands/{command_id}")).json()

            # Assert
            assert record["status"] == "applied" and record["refused"] is True
            assert "strategy_id" in record["outcome"]
            assert record["payload"] == json.loads(payload)
            assert bot.world.orchestrator.state(SYMBOL) == state

    asyncio.run(main())


def test_api_withdrawal_retried_after_it_applied_is_the_same_command(tmp_path: Path) -> None:
    async def main() -> None:
        async with running_bot(tmp_path) as bot:
            # Arrange: a withdrawal of 60% of the free quote fits once, not twice
            state = bot.world.orchestrator.state(SYMBOL)
            assert state is not None
            free = free_funds(state, state.slots).quote
            amount = str(-state.instrument.from_atoms(free * 6 // 10))
            first = await _post(bot, "capital", "w1", amount=amount)
            await bot.world.orchestrator.apply_commands(bot.ts)

            # Act
            retry = await _post(bot, "capital", "w1", amount=amount)
            other = await _post(bot, "capital", "w2", amount=amount)

            # Assert
            assert first.status_code == 202, first.text
            assert retry.status_code == 200, retry.text
            assert retry.json()["id"] == first.json()["id"] and not retry.json()["refused"]
            assert other.status_code == 409 and "cannot withdraw" in other.text
            assert len(bot.world.store.recent_commands(10)) == 1

    asyncio.run(main())
