"""The fleet's grids, declared in the database: what to trade, on which account, with which
config. Workers read it; ``gridmaker fleet add|remove|list`` write it.

A grid's name is also its store namespace (``?grid=NAME``): its book, fills and journal live
under that name whichever worker works it. Removing a grid only marks it (``removed_at``): its
owner stops it at its next renewal, and its rows stay for the record.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import psycopg

__all__ = [
    "NAME_RULE",
    "FleetGrid",
    "GridExists",
    "GridUnknown",
    "add_grid",
    "bump_generation",
    "declared_grids",
    "find_grid",
    "mark_removed",
]

NAME_RULE: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
"""Grid and account names: what a store namespace accepts (letters, digits, ``_.-``)."""

REMOVE_MODES: Final = ("cancel", "leave")

_Db = psycopg.Connection[tuple[Any, ...]]


class GridExists(ValueError):
    """``fleet add`` of a name the fleet already has (removed ones too: their rows remain)."""


class GridUnknown(LookupError):
    """A name the fleet does not have."""


@dataclass(frozen=True, slots=True)
class FleetGrid:
    """One declared grid."""

    name: str
    account: str
    config: str
    """The grid's YAML config, as it was added."""
    added_at: datetime
    removed_at: datetime | None
    remove_mode: str
    generation: int
    """How many owner workflows were started for it (the next one's id is ``generation + 1``)."""

    @property
    def removed(self) -> bool:
        return self.removed_at is not None


_COLUMNS: Final = "name, account, config, added_at, removed_at, remove_mode, generation"


def _grid(row: tuple[Any, ...]) -> FleetGrid:
    return FleetGrid(
        name=str(row[0]),
        account=str(row[1]),
        config=str(row[2]),
        added_at=row[3],
        removed_at=row[4],
        remove_mode=str(row[5]),
        generation=int(row[6]),
    )


def add_grid(db: _Db, name: str, account: str, config: str) -> FleetGrid:
    """Declare a grid; ``GridExists`` if the name is taken (nothing written then)."""
    with db.transaction():
        row = db.execute(
            f"INSERT INTO gridmaker.fleet_grids ({_COLUMNS}) "
            "VALUES (%s, %s, %s, clock_timestamp(), NULL, '', 0) ON CONFLICT (name) DO NOTHING "
            f"RETURNING {_COLUMNS}",
            (name, account, config),
        ).fetchone()
    if row is None:
        raise GridExists(f"the fleet already has a grid named {name!r}")
    return _grid(row)


def mark_removed(db: _Db, name: str, mode: str) -> FleetGrid:
    """Mark ``name`` removed (``mode``: cancel its orders, or leave them); idempotent."""
    if mode not in REMOVE_MODES:
        raise ValueError(f"remove mode must be one of {', '.join(REMOVE_MODES)}; was {mode!r}")
    with db.transaction():
        row = db.execute(
            "UPDATE gridmaker.fleet_grids SET removed_at = coalesce(removed_at, "
            "clock_timestamp()), remove_mode = CASE WHEN removed_at IS NULL THEN %s ELSE "
            f"remove_mode END WHERE name = %s RETURNING {_COLUMNS}",
            (mode, name),
        ).fetchone()
    if row is None:
        raise GridUnknown(f"the fleet has no grid named {name!r}")
    return _grid(row)


def find_grid(db: _Db, name: str) -> FleetGrid | None:
    row = db.execute(
        f"SELECT {_COLUMNS} FROM gridmaker.fleet_grids WHERE name = %s",
        (name,),
    ).fetchone()
    return _grid(row) if row else None


def declared_grids(db: _Db, *, include_removed: bool = False) -> list[FleetGrid]:
    where = "" if include_removed else "WHERE removed_at IS NULL "
    rows = db.execute(
        f"SELECT {_COLUMNS} FROM gridmaker.fleet_grids {where}ORDER BY name"
    ).fetchall()
    return [_grid(r) for r in rows]


def bump_generation(db: _Db, name: str, seen: int) -> int | None:
    """Claim the next owner-workflow generation of ``name`` if it is still ``seen`` (two
    workers starting one at the same moment: one wins, the other gets ``None``)."""
    with db.transaction():
        row = db.execute(
            "UPDATE gridmaker.fleet_grids SET generation = generation + 1 "
            "WHERE name = %s AND generation = %s AND removed_at IS NULL RETURNING generation",
            (name, seen),
        ).fetchone()
    return int(row[0]) if row else None
