"""Reconfigurations mixed into the crash torture (``crash_torture.py --reconfigs N``).

The torture queues ``reconfigure`` commands into the tortured data dir's store exactly as
``gridmaker reconfigure`` does (``Store.add_command`` with ``reconfigure_payload(setup,
allow_loss=False)``), at seeded moments: while the bot is down (the next boot's loop applies
it) and while it runs (its loop picks the command up within its next hundred trades). The
setups alternate between three grids of one market: the spacing and the level counts change,
and some levels stay common, so a reshape keeps some orders, reprices some and retires others.

Each life runs with the config an operator would start it with: the one the last queued,
not yet applied reconfiguration asks for (the boot then continues the book on its old grid and
the loop reshapes it), else the one the stored book's grid was made from.

The judge adds, from the store's own records:
- reconfigs_pending: queued ones never applied (must be 0);
- reshape_count_mismatch: the book's ``reshapes`` minus the ones applied without a refusal
  (each applied exactly once: must be 0);
- final_grid_is_last: the book's grid and strategy are those of the last reconfiguration the
  loop accepted.
"""

from __future__ import annotations

import random
import sqlite3
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gridmaker.config import book_setups, load_config, sim_instrument
from gridmaker.core.setup import BookSetup
from gridmaker.core.state import GridState
from gridmaker.engine.changes import reconfigure_payload, target_setup
from gridmaker.store import Store

__all__ = ["GRIDS", "POINTS", "LifePlan", "Reconfigs"]

SYMBOL = "BTC/USDT"
GRIDS = {  # name -> (absolute spacing, buy levels, sell levels); start price 50000
    "A": ("125", 20, 20),
    "B": ("250", 10, 12),  # every other level of A (twice the spacing), fewer of them
    "C": ("125", 14, 26),  # A's spacing, the levels shifted up
}
FIRST = "A"
POINTS = ("reconfigure:before-commit", "reconfigure:after-commit")
"""The failpoints on the reconfiguration path (``engine/command_loop.py``): the command read
and its book not saved yet; its book saved and its cancels and places sent. Saved with its
cancels not sent yet is ``intent:recorded`` (and ``send:done`` between them), armed with a
small passage in a life that boots with a reconfiguration due."""


def _market_text(grid: str) -> str:
    spacing, below, above = GRIDS[grid]
    return (
        f"markets:\n  - symbol: {SYMBOL}\n    order_size: '0.001'\n    grid:\n"
        f"      spacing: '{spacing}'\n      buy_levels: {below}\n      sell_levels: {above}\n"
    )


@dataclass(frozen=True)
class LifePlan:
    """What one life of the bot does about reconfigurations."""

    point: str = ""
    """A failpoint armed for this life ("": the torture draws one as without reconfigs)."""
    passage: int = 0
    queue_at: int = 0
    """Queue a reconfiguration once the market reaches this position, the bot running (0: no)."""


@dataclass
class Reconfigs:
    """The grids' configs and setups, and what the torture queued (command ids by grid)."""

    root: Path
    base_text: str
    wanted: int
    rng: random.Random
    configs: dict[str, Path] = field(default_factory=dict)
    setups: dict[str, BookSetup] = field(default_factory=dict)
    queued: list[tuple[int, str]] = field(default_factory=list)
    while_down: int = 0
    while_running: int = 0
    armed: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        for name in GRIDS:
            path = self.root / f"config-{name}.yaml"
            path.write_text(self.base_text + _market_text(name))
            config = load_config(path)
            [self.setups[name]] = book_setups(config, [sim_instrument(config, SYMBOL)])
            self.configs[name] = path

    # --- queueing ----------------------------------------------------------------------------

    def plan_life(self, data_dir: Path, position: int) -> LifePlan:
        """Queue one now (the bot is down), or plan one while it runs; arm a failpoint on the
        reconfiguration path when one will be applied in this life."""
        rng = self.rng
        queue_at = 0
        if len(self.queued) < self.wanted and self.has_book(data_dir):
            draw = rng.random()
            if draw < 0.4:
                self.queue(data_dir)
                self.while_down += 1
            elif draw < 0.7:
                queue_at = position + rng.randint(5, 95)
        due = self.pending(data_dir)
        if not (due or queue_at) or rng.random() >= 0.6:
            return LifePlan(queue_at=queue_at)
        # Queued while running, it is applied at the loop's next turn (every 100 trades): only
        # the reconfiguration's own points are sure to come after it.
        choices = POINTS if not due else (*POINTS, "intent:recorded", "send:done")
        point = rng.choice(choices)
        if unarmed := [p for p in POINTS if p not in self.armed]:
            point = unarmed[0]  # each of the reconfiguration's own points early in any run
        self.armed.add(point)
        passage = {"intent:recorded": rng.randint(1, 3), "send:done": rng.randint(1, 6)}
        return LifePlan(point=point, passage=passage.get(point, 1), queue_at=queue_at)

    def queue_running(self, data_dir: Path) -> None:
        self.queue(data_dir)
        self.while_running += 1

    def queue(self, data_dir: Path) -> str:
        """Queue a reconfiguration to a grid other than the one the next life would run."""
        current = self.grid_for(data_dir)
        name = self.rng.choice([g for g in sorted(GRIDS) if g != current])
        store = Store(data_dir / "gridmaker.sqlite")
        try:
            payload = reconfigure_payload(self.setups[name], allow_loss=False)
            command_id = store.add_command(SYMBOL, "reconfigure", f"torture to {name}", payload)
        finally:
            store.close()
        self.queued.append((command_id, name))
        return name

    def has_book(self, data_dir: Path) -> bool:
        return self._book(data_dir) is not None

    def pending(self, data_dir: Path) -> bool:
        return bool(self._pending(data_dir))

    # --- which config a life runs with -------------------------------------------------------

    def config_for(self, data_dir: Path) -> Path:
        return self.configs[self.grid_for(data_dir)]

    def grid_for(self, data_dir: Path) -> str:
        """The last pending reconfiguration's grid, else the stored book's, else the first."""
        if pending := self._pending(data_dir):
            return self._name_of(target_setup(pending[-1]))
        state = self._book(data_dir)
        return FIRST if state is None else self._grid_of(state)

    # --- the judge ---------------------------------------------------------------------------

    def judge(self, data_dir: Path) -> dict[str, Any]:
        state = self._book(data_dir)
        assert state is not None
        rows = self._commands(data_dir)
        applied = [r for r in rows if r[1] is not None]
        accepted = [r for r in applied if not r[2]]
        last = self._name_of(target_setup(accepted[-1][3])) if accepted else FIRST
        return {
            "reconfigs_queued": len(rows),
            "queued_while_down": self.while_down,
            "queued_while_running": self.while_running,
            "reconfigs_applied": len(accepted),
            "reconfigs_refused": len(applied) - len(accepted),
            "reconfigs_pending": len(rows) - len(applied),
            "reshape_count_mismatch": state.reshapes - len(accepted),
            "final_grid": self._grid_of(state),
            "final_grid_is_last": self._grid_of(state) == last,
            "refusals": sorted({r[2] for r in applied if r[2]}),
        }

    # --- reading the store -------------------------------------------------------------------

    def _commands(self, data_dir: Path) -> list[tuple[int, str | None, str, str]]:
        """(id, applied_at, outcome, payload) of every reconfiguration, by id. The connection
        is closed at once: the bot of the next life writes this file."""
        path = data_dir / "gridmaker.sqlite"
        if not path.exists():
            return []
        with closing(sqlite3.connect(path)) as db:
            rows = db.execute(
                "SELECT id, applied_at, coalesce(outcome, ''), coalesce(payload, '') "
                "FROM commands WHERE command = 'reconfigure' ORDER BY id"
            ).fetchall()
        return [(int(r[0]), r[1], str(r[2]), str(r[3])) for r in rows]

    def _pending(self, data_dir: Path) -> list[str]:
        return [r[3] for r in self._commands(data_dir) if r[1] is None]

    def _book(self, data_dir: Path) -> GridState | None:
        path = data_dir / "gridmaker.sqlite"
        if not path.exists():
            return None
        store = Store(path, read_only=True)
        try:
            return store.load_book(SYMBOL)
        finally:
            store.close()

    def _name_of(self, setup: BookSetup) -> str:
        [name] = [n for n, s in self.setups.items() if s == setup]
        return name

    def _grid_of(self, state: GridState) -> str:
        """The grid the book is on (each of ours built at the book's anchor, as a reshape)."""
        names = [
            n
            for n, s in self.setups.items()
            if s.template.build(state.grid.anchor_ticks) == state.grid and s.params == state.params
        ]
        if len(names) != 1:
            raise SystemExit(f"the stored book is on none of the torture's grids: {state.grid}")
        return names[0]
