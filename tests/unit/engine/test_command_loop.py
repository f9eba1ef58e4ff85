"""The one loop's commands: one for a market this run has no book for is spent, saying so."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from gridmaker.engine.book import Book
from gridmaker.engine.command_loop import CommandLoop, apply_commands
from gridmaker.engine.notices import CommandApplied


class _Journal:
    """The executor's command journal, kept in memory."""

    def __init__(self, *commands: tuple[int, str, str, str, str]) -> None:
        self.pending = list(commands)
        self.applied: dict[int, str] = {}

    def pending_commands(self) -> list[tuple[int, str, str, str, str]]:
        return [c for c in self.pending if c[0] not in self.applied]

    def mark_command_applied(self, command_id: int, outcome: str = "") -> None:
        self.applied[command_id] = outcome


class _Notices:
    def __init__(self) -> None:
        self.published: list[object] = []

    def publish(self, notice: object) -> None:
        self.published.append(notice)


class _Loop:
    """A run with no book at all: every symbol is unknown to it."""

    def __init__(self, journal: _Journal) -> None:
        self.executor = journal
        self.notices = _Notices()
        self.stop = asyncio.Event()
        self.commands_waiting = True
        self.commands_queued = asyncio.Event()
        self.closing = False
        self.symbols = ("BTC/USDT",)

    def book(self, symbol: str) -> Book | None:
        return None

    def awaits_book(self, symbol: str) -> bool:
        return False

    def check_closed(self) -> None:
        pass

    async def on_event(self, event: Any) -> None:
        raise AssertionError("no book, no event")


def test_apply_commands_for_a_market_not_in_this_run_spends_it_saying_so() -> None:
    # Arrange
    journal = _Journal((7, "DOGE/USDT", "trip", "test", ""))
    loop = _Loop(journal)

    # Act
    applied = asyncio.run(apply_commands(cast(CommandLoop, loop), 1))

    # Assert
    assert applied == 1
    assert journal.applied == {7: "DOGE/USDT: no such market in this run"}
    notice = loop.notices.published[0]
    assert isinstance(notice, CommandApplied)
    assert notice.outcome == "DOGE/USDT: no such market in this run"
