"""Commands that change a running grid: a reconfiguration, capital added or withdrawn.

They carry their arguments as JSON (the journal's ``payload``) and become core events only
against the book they change, when the one loop applies them (``change_event``): the new grid
is built at that book's own anchor, so ``gridmaker plan`` and the loop compute the same
transition from the same book. A change the core would refuse raises ``CommandRefused`` with
the reasons; the loop records them as the command's outcome.
"""

from __future__ import annotations

import json
from typing import Final

from gridmaker.core.errors import CoreError
from gridmaker.core.events import CapitalChange, Reconfigure
from gridmaker.core.reshape import capital_problems, reshape_problems
from gridmaker.core.setup import BookSetup
from gridmaker.core.state import GridState
from gridmaker.store.setup_codec import decode_setup, encode_setup

__all__ = [
    "CHANGES",
    "CommandRefused",
    "capital_payload",
    "change_event",
    "reconfigure_event",
    "reconfigure_payload",
    "stop_sell_payload",
    "stop_sell_ppm",
    "target_setup",
]

_UNREADABLE: Final = (ValueError, KeyError, TypeError, ArithmeticError)
"""What a malformed payload raises: ``ArithmeticError`` is a bad ``Decimal`` (``InvalidOperation``)
or an infinite integer (``OverflowError``); refused, so the loop never crashes on it."""

CHANGES: Final = ("reconfigure", "capital")
"""Commands for one book, with a payload, applied only by a running loop."""


class CommandRefused(ValueError):
    """The command cannot be applied to this book; the message says why."""


def reconfigure_payload(setup: BookSetup, allow_loss: bool) -> str:
    return json.dumps({"setup": encode_setup(setup), "allow_loss": allow_loss}, sort_keys=True)


def capital_payload(delta_atoms: int) -> str:
    return json.dumps({"delta_atoms": delta_atoms})


def stop_sell_payload(limit_ppm: int) -> str:
    return json.dumps({"limit_ppm": limit_ppm})


def stop_sell_ppm(payload: str) -> int:
    """The limit of a ``stop_sell`` (how far under the last price the sale may go)."""
    try:
        ppm = int(json.loads(payload)["limit_ppm"]) if payload else 0
    except _UNREADABLE as e:
        raise CommandRefused(f"stop_sell: unreadable limit ({e})") from None
    if not 0 < ppm < 1_000_000:
        raise CommandRefused(f"stop_sell: the limit must be between 0% and 100%; was {ppm} ppm")
    return ppm


def target_setup(payload: str) -> BookSetup:
    """The setup a ``reconfigure`` asks for; raises ``CommandRefused`` when unreadable."""
    try:
        return decode_setup(json.loads(payload)["setup"])
    except _UNREADABLE as e:
        raise CommandRefused(f"reconfigure: unreadable payload ({e})") from None


def reconfigure_event(
    state: GridState, setup: BookSetup, allow_loss: bool, ts_event: int, command_id: int = 0
) -> Reconfigure:
    """The core event that moves ``state`` onto ``setup``'s grid, built at the book's anchor.

    Raises ``CommandRefused`` when the grid is invalid there or the core refuses the change.
    """
    if setup.symbol != state.symbol:
        raise CommandRefused(f"the new setup is for {setup.symbol}, the book is {state.symbol}")
    if not state.is_started and setup.trigger_ticks != state.trigger_ticks:
        raise CommandRefused(
            f"{state.symbol}: trigger_price: this grid still waits for the trigger it was made "
            "with (its levels are built around it); keep it, or start a new grid in a new "
            "data dir"
        )
    try:
        grid = setup.template.build(state.grid.anchor_ticks)
    except CoreError as e:
        raise CommandRefused(f"{state.symbol}: the new grid is invalid: {e}") from None
    change = Reconfigure(
        symbol=state.symbol,
        grid=grid,
        params=setup.params,
        risk_params=setup.risk,
        allow_loss=allow_loss,
        ts_event=ts_event,
        command_id=command_id,
    )
    if problems := reshape_problems(state, change):
        raise CommandRefused(f"{state.symbol}: " + "; ".join(problems))
    return change


def change_event(
    state: GridState, command: str, reason: str, payload: str, ts_event: int, command_id: int
) -> Reconfigure | CapitalChange:
    """The event a queued change becomes for ``state``; raises ``CommandRefused``."""
    if command == "reconfigure":
        try:
            allow_loss = bool(json.loads(payload)["allow_loss"])
        except _UNREADABLE as e:
            raise CommandRefused(f"reconfigure: unreadable payload ({e})") from None
        return reconfigure_event(state, target_setup(payload), allow_loss, ts_event, command_id)
    if command == "capital":
        try:
            delta = int(json.loads(payload)["delta_atoms"])
        except _UNREADABLE as e:
            raise CommandRefused(f"capital: unreadable payload ({e})") from None
        change = CapitalChange(
            symbol=state.symbol,
            delta_atoms=delta,
            reason=reason,
            ts_event=ts_event,
            command_id=command_id,
        )
        if problems := capital_problems(state, change):
            raise CommandRefused(f"{state.symbol}: " + "; ".join(problems))
        return change
    raise CommandRefused(f"unknown change {command!r}; known: {', '.join(CHANGES)}")
