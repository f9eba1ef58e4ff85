"""The operator's commands as the journal spells them, and the events they become.

A command is queued in the store (``gridmaker breaker``, the control API) and applied by the
one loop: breaker trips and resets, pauses, take-profit only and resumes become events that
``decide`` handles like any other (``command_event``); a stop (every book at once) ends the
session, cancelling our orders first when asked to. Commands found queued at a start act on
the stored books before the sync sends anything (``apply_at_rest``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from gridmaker.core.decide import apply_breaker_command, apply_operator_command
from gridmaker.core.events import BreakerCommand, BreakerOrder, OperatorCommand, OperatorOrder
from gridmaker.core.state import GridState
from gridmaker.engine.changes import CHANGES, stop_sell_ppm

__all__ = [
    "BREAKER_COMMANDS",
    "COMMANDS",
    "OPERATOR_COMMANDS",
    "STOPS",
    "apply_at_rest",
    "carried_commands",
    "command_event",
]

BREAKER_COMMANDS: Final = {"trip": BreakerCommand.TRIP, "reset": BreakerCommand.RESET}
OPERATOR_COMMANDS: Final = {
    "pause": OperatorCommand.PAUSE,
    "resume": OperatorCommand.RESUME,
    "take_profit_only": OperatorCommand.TAKE_PROFIT_ONLY,
}
STOPS: Final = {
    "stop_cancel": OperatorCommand.STOP,
    "stop_leave": None,
    "stop_sell": OperatorCommand.CLOSE,
}
"""Stops act on every book at once and end the run; ``stop_cancel`` cancels our orders,
``stop_sell`` cancels them and sells the inventory within a limit (its payload)."""
COMMANDS: Final = (*BREAKER_COMMANDS, *OPERATOR_COMMANDS, *STOPS, *CHANGES)


def command_event(
    symbol: str, command: str, reason: str, ts_event: int, command_id: int, payload: str = ""
) -> BreakerOrder | OperatorOrder | None:
    """The event ``command`` becomes for ``symbol``'s book (``None``: it changes no book).

    Raises ``ValueError`` for a command this version does not know (``CommandRefused`` for a
    ``stop_sell`` whose limit is unreadable). Changes (``CHANGES``) are ``change_event``'s.
    """
    if command in BREAKER_COMMANDS:
        return BreakerOrder(
            symbol=symbol,
            command=BREAKER_COMMANDS[command],
            reason=reason,
            ts_event=ts_event,
            command_id=command_id,
        )
    operator = OPERATOR_COMMANDS.get(command) or STOPS.get(command)
    if operator is None:
        if command in STOPS:
            return None
        raise ValueError(f"unknown operator command {command!r}; known: {', '.join(COMMANDS)}")
    return OperatorOrder(
        symbol=symbol,
        command=operator,
        reason=reason,
        ts_event=ts_event,
        command_id=command_id,
        limit_ppm=stop_sell_ppm(payload) if command == "stop_sell" else 0,
    )


def apply_at_rest(state: GridState, command: str, reason: str, ts_event: int) -> GridState:
    """A command queued while no bot ran, applied to the stored book. A stop asked of a bot
    that is not running changes nothing (it is already stopped)."""
    if command in BREAKER_COMMANDS:
        return apply_breaker_command(state, BREAKER_COMMANDS[command], reason, ts_event)
    if command in OPERATOR_COMMANDS:
        return apply_operator_command(state, OPERATOR_COMMANDS[command])
    if command in STOPS or command in CHANGES:
        return state  # changes wait for the running loop (``apply_pending_to_stored``)
    raise ValueError(f"unknown operator command {command!r}; known: {', '.join(COMMANDS)}")


def carried_commands(
    commands: Mapping[str, Sequence[BreakerOrder | OperatorOrder]],
    everywhere: Sequence[int],
    spent: Sequence[int],
) -> list[tuple[int, str, str]]:
    """(id, target, command) of every command the boot applied or spent, for observers."""
    done = [
        (o.command_id, o.symbol, o.command.value)
        for orders in commands.values()
        for o in orders
        if o.command_id
    ]
    return done + [(c, "*", "at boot") for c in (*everywhere, *spent)]
