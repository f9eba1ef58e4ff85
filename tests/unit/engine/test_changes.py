"""Queued changes with an unreadable payload are refused, never a crash of the loop."""

from __future__ import annotations

import json

import pytest

from gridmaker.core.grid import GridKind, GridTemplate
from gridmaker.core.setup import BookSetup
from gridmaker.engine.changes import CommandRefused, change_event, target_setup
from gridmaker.store.setup_codec import encode_setup
from tests import kit


def _payload_with_budget(budget: str) -> str:
    setup = BookSetup(
        symbol="BTC/USDT",
        params=kit.params(),
        template=GridTemplate(
            kind=GridKind.ARITHMETIC, spacing_ticks=1_000, buy_levels=2, sell_levels=2
        ),
    )
    raw = json.loads(encode_setup(setup))
    raw["budget_base"] = budget
    return json.dumps({"setup": json.dumps(raw), "allow_loss": False})


def test_target_setup_malformed_decimal_is_refused() -> None:
    with pytest.raises(CommandRefused, match="reconfigure: unreadable payload"):
        target_setup(_payload_with_budget("not-a-number"))


def test_change_event_reconfigure_malformed_decimal_is_refused() -> None:
    with pytest.raises(CommandRefused, match="reconfigure: unreadable payload"):
        change_event(kit.state(), "reconfigure", "", _payload_with_budget("1.2.3"), 0, 7)


def test_change_event_capital_infinite_delta_is_refused() -> None:
    with pytest.raises(CommandRefused, match="capital: unreadable payload"):
        change_event(kit.state(), "capital", "", '{"delta_atoms": Infinity}', 0, 7)


def test_reconfigure_event_refuses_a_new_trigger_for_a_grid_still_waiting() -> None:
    # Arrange: a book made with a trigger, not started yet
    from dataclasses import replace as _replace

    from gridmaker.core.state import new_state
    from gridmaker.engine.changes import reconfigure_event

    template = GridTemplate(
        kind=GridKind.ARITHMETIC, spacing_ticks=1000, buy_levels=3, sell_levels=3
    )
    params = kit.params()
    state = new_state(
        symbol="BTC/USDT",
        instrument=kit.instrument(),
        grid=template.build(6_000_000),
        params=params,
        base_steps=0,
        quote_atoms=10**15,
        trigger_ticks=6_000_000,
    )
    setup = BookSetup(symbol="BTC/USDT", params=params, template=template, trigger_ticks=6_100_000)

    # Act / Assert
    with pytest.raises(CommandRefused, match="trigger_price"):
        reconfigure_event(state, setup, False, 0)
    reconfigure_event(state, _replace(setup, trigger_ticks=6_000_000), False, 0)  # same: fine
