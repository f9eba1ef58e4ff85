"""A command's body as the API checks it, and the waiters woken by the loop's notice."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import ValidationError

from gridmaker.engine.commands import COMMANDS
from gridmaker.engine.notices import CommandApplied
from gridmaker.ops.api.commands import CommandBody, CommandWaiters


@pytest.mark.parametrize("command", COMMANDS)
def test_command_body_accepts_every_known_command(command: str) -> None:
    body = CommandBody(command=command, symbol="*", request_id="r")

    assert body.command == command and body.reason == ""


def test_command_body_unknown_command_lists_the_allowed_ones() -> None:
    with pytest.raises(ValidationError) as caught:
        CommandBody(command="liquidate", symbol="*", request_id="r")

    message = str(caught.value)
    assert "liquidate" in message and all(c in message for c in COMMANDS)


@pytest.mark.parametrize(
    "fields",
    [
        {"command": "pause", "symbol": "*", "request_id": ""},
        {"command": "pause", "symbol": "*", "request_id": "x" * 65},
        {"command": "pause", "symbol": "", "request_id": "r"},
        {"command": "pause", "symbol": "*", "request_id": "r", "token": "t"},
    ],
    ids=["empty-id", "long-id", "empty-symbol", "extra-field"],
)
def test_command_body_bad_fields_are_refused(fields: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        CommandBody(**fields)


def test_command_waiters_wake_on_the_commands_notice_only() -> None:
    async def main() -> tuple[bool, bool]:
        waiters = CommandWaiters()
        mine = asyncio.ensure_future(waiters.wait(7, 5))
        other = asyncio.ensure_future(waiters.wait(8, 0.05))
        await asyncio.sleep(0)
        waiters.observe(CommandApplied(command_id=7, symbol="*", command="pause"))
        await asyncio.wait_for(mine, 1)
        await other  # times out quietly
        return mine.done(), bool(waiters._waiting)

    assert asyncio.run(main()) == (True, False)
