"""The fleet's fence: a write for a grid commits only while its writer holds the grid's epoch.

A fleet worker owns a grid under an epoch in ``fleet_owners`` (``docs/adr/0009``). Every
transaction its store opens for that grid first takes a shared row lock on the owner row with
the worker's name and epoch; no row means the grid has moved on (or its lease was taken), and
nothing of the transaction is written. The lock is shared, so the owner's own writes never
wait on each other, and a takeover (an ``UPDATE`` of that row) waits for a write in flight to
commit, then sees the new epoch: no write of the old epoch can commit after the new one began.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from gridmaker.store.errors import StoreError

__all__ = ["FENCE_SQL", "Fence", "Fenced"]

FENCE_SQL: Final = (
    "SELECT 1 FROM gridmaker.fleet_owners WHERE grid = %s AND owner = %s AND epoch = %s "
    "AND lease_until > clock_timestamp() FOR SHARE"
)
"""The first statement of every fenced transaction (``FOR SHARE``: a plain read would let a
takeover commit between our check and our commit)."""


class Fenced(StoreError):
    """This worker no longer owns the grid (another epoch, or its lease ran out): nothing of
    the transaction was written, and the grid must stop here at once."""


@dataclass(frozen=True, slots=True)
class Fence:
    """Who may write a grid: the owner row a fenced store checks in each transaction."""

    grid: str
    owner: str
    epoch: int

    def args(self) -> tuple[str, str, int]:
        return (self.grid, self.owner, self.epoch)

    def refusal(self) -> Fenced:
        return Fenced(
            f"grid {self.grid}: worker {self.owner} no longer holds epoch {self.epoch} "
            "(the grid moved to another worker or its lease expired); nothing was written"
        )
