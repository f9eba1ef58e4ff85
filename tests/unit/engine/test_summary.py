"""The market summary ``run`` and ``status`` print: the operator's control and unrealized PnL."""

from __future__ import annotations

from dataclasses import replace

from gridmaker.core.slots import Phase, Slot
from gridmaker.core.state import Control, GridState
from gridmaker.core.units import Atoms, Steps, Ticks, notional_atoms
from gridmaker.engine.summary import summarize, unrealized_pnl_atoms
from tests import kit


def _holding(last_price: int) -> GridState:
    """A book holding 0.001 BTC bought at 49,950.00, last acting at ``last_price`` ticks."""
    state = kit.state()
    slot = Slot(
        level=-1,
        buy_ticks=Ticks(4_995_000),
        sell_ticks=Ticks(5_000_000),
        phase=Phase.SELL,
        position_steps=Steps(100),
        cost_atoms=Atoms(notional_atoms(4_995_000, 100)),
    )
    return replace(state, slots={4_995_000: slot}, last_price_ticks=Ticks(last_price))


def test_summary_marks_held_levels_at_the_last_price() -> None:
    up, down = _holding(5_000_000), _holding(4_990_000)

    assert summarize(up)["unrealized_pnl"] == "0.05"
    assert summarize(down)["unrealized_pnl"] == "-0.05"
    assert unrealized_pnl_atoms(kit.state()) == 0


def test_summary_shows_the_operators_control() -> None:
    state = replace(kit.state(), control=Control.PAUSED)

    assert summarize(state)["control"] == "paused"
    assert summarize(kit.state())["control"] == "trading"
