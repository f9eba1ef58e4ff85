"""A grid's *mark*: what it is worth now, published by its owner for the fleet breaker.

The owner computes it from its book at the last price (``mark_of``: integer ticks, steps
and atoms, turned to ``Decimal`` here at the edge) and upserts it every few seconds
(``publish_mark``), under its epoch: a worker that lost the grid cannot overwrite the new
owner's mark, and nobody marks a grid the fleet removed (``breaker.forget_removed`` takes its
last mark out of the sums and the high waters at once).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Final

import psycopg

from gridmaker.core.display import money_text, plain
from gridmaker.core.state import GridState
from gridmaker.core.units import FEE_SCALE
from gridmaker.store.pg_schema import PG_SCHEMA

__all__ = ["mark_of", "publish_mark"]

_S: Final = PG_SCHEMA
_Db = psycopg.Connection[tuple[Any, ...]]


def mark_of(state: GridState, last_price_ticks: int) -> tuple[str, Decimal, Decimal]:
    """(quote asset, equity, exposure) of a book at ``last_price_ticks``: equity is the quote
    balance plus the base at that price, exposure the base's value alone (both exact)."""
    inventory_atoms = state.base_steps * last_price_ticks * FEE_SCALE
    inst = state.instrument
    return (
        inst.quote,
        Decimal(money_text(inst, state.quote_atoms + inventory_atoms)),
        Decimal(money_text(inst, inventory_atoms)),
    )


def publish_mark(
    db: _Db,
    grid: str,
    account: str,
    quote: str,
    equity: Decimal,
    exposure: Decimal,
    epoch: int,
) -> bool:
    """Record ``grid``'s mark; False when a later epoch's mark is already there (a worker
    that lost the grid never overwrites its new owner's mark) or the grid is not declared or
    was removed (its share of the sums was taken out with its last mark: it must not return).

    The grid's row is read ``FOR SHARE``: a removal waits for a mark being written, so the
    removal's ``forget_removed`` always finds the last mark there was.
    """
    with db.transaction():
        declared = db.execute(
            f"SELECT 1 FROM {_S}.fleet_grids WHERE name = %s AND removed_at IS NULL FOR SHARE",
            (grid,),
        ).fetchone()
        if declared is None:
            return False
        row = db.execute(
            f"INSERT INTO {_S}.fleet_marks (grid, account, quote, equity, exposure, epoch, at) "
            "VALUES (%s, %s, %s, %s, %s, %s, clock_timestamp()) ON CONFLICT (grid) DO UPDATE "
            "SET account = excluded.account, quote = excluded.quote, equity = excluded.equity, "
            "exposure = excluded.exposure, epoch = excluded.epoch, at = excluded.at "
            f"WHERE {_S}.fleet_marks.epoch <= excluded.epoch RETURNING 1",
            (grid, account, quote, plain(equity), plain(exposure), epoch),
        ).fetchone()
    return row is not None
