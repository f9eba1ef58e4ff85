"""``SimpleExecutor``: asyncio and our own SQLite journal.

Per decision: record (book + causes + intents in one transaction) → send → return the answers.
Sending (``engine/sending.py``, shared with the durable engine) is idempotent by client id: a
duplicate means the order exists, an ambiguous error leaves it UNKNOWN for a lookup before
anything is sent again.
"""

from __future__ import annotations

from collections.abc import Sequence

from gridmaker import failpoints
from gridmaker.core.events import Event
from gridmaker.core.state import Decision
from gridmaker.engine.store_backed import StoreBackedExecutor

__all__ = ["SimpleExecutor"]


class SimpleExecutor(StoreBackedExecutor):
    async def execute(
        self, decision: Decision, causes: Sequence[Event], *, send: bool = True
    ) -> list[Event]:
        state = decision.state
        self.sender.instruments[state.symbol] = state.instrument
        self.store.commit(state, causes=causes, actions=decision.actions)
        if not send:
            return []
        if decision.actions:
            failpoints.hit("intent:recorded")
        return [await self.sender.send(action, state.instrument) for action in decision.actions]
