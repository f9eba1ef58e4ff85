"""The arguments of the commands that carry one, checked before anything is journaled.

``reconfigure`` takes a market's section as the YAML has it (``config``), checked with the
config's own models against the running book's instrument, then against the book itself as the
loop will check it (``engine.changes.reconfigure_event``); ``capital`` an ``amount`` in the
quote currency (negative withdraws); ``stop_sell`` a ``limit`` percent. A malformed argument is
a 422 naming the field, a change the book refuses a 409 with the reason: either way nothing is
queued. The loop checks again when it applies the command (the book may have moved on).
"""

from __future__ import annotations

import time
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import HTTPException
from pydantic import BaseModel, ValidationError

from gridmaker.config import ConfigError, MarketConfig, book_setup
from gridmaker.config.messages import format_error
from gridmaker.config.values import percent_ppm
from gridmaker.core.errors import CoreError
from gridmaker.core.events import CapitalChange
from gridmaker.core.reshape import capital_problems
from gridmaker.core.state import GridState
from gridmaker.engine.changes import (
    CommandRefused,
    capital_payload,
    reconfigure_event,
    reconfigure_payload,
    stop_sell_payload,
)
from gridmaker.ops.surface import Surface

__all__ = ["ARGUMENTS", "command_payload"]

ARGUMENTS = {
    "reconfigure": ("config", "allow_loss"),
    "capital": ("amount",),
    "stop_sell": ("limit",),
}
"""The body fields each command takes beyond command, symbol, reason and request_id."""


class _Markets(BaseModel):
    """The section's place in a config file, so errors name keys as ``config`` does."""

    markets: list[MarketConfig]


def command_payload(surface: Surface, command: str, symbol: str, given: dict[str, Any]) -> str:
    """The journal's payload for ``command`` on ``symbol`` ("" for a command without one).

    ``given`` holds the optional fields the body set. Raises 422 for a field that does not
    belong to the command or is malformed, 409 when the book refuses the change.
    """
    allowed = ARGUMENTS.get(command, ())
    for name in given:
        if name not in allowed:
            takes = ", ".join(f"{c} ({', '.join(f)})" for c, f in ARGUMENTS.items())
            raise _invalid(f"{name} does not go with {command}; only {takes} take arguments")
    if command == "stop_sell":
        return stop_sell_payload(_limit_ppm(given.get("limit")))
    if command not in ("reconfigure", "capital"):
        return ""
    state = _book(surface, command, symbol)
    if command == "capital":
        return capital_payload(_capital_atoms(state, given.get("amount")))
    return _reconfigure(state, given.get("config"), bool(given.get("allow_loss", False)))


def _invalid(detail: str) -> HTTPException:
    return HTTPException(status_code=422, detail=detail)


def _refused(detail: str) -> HTTPException:
    return HTTPException(status_code=409, detail=detail)


def _book(surface: Surface, command: str, symbol: str) -> GridState:
    if symbol == "*":
        raise _invalid(f'{command} changes one market: symbol must name it; was "*"')
    state = surface.orchestrator.view(symbol).state
    if state is None:
        raise _refused(f"{symbol} has no book yet (it is made at the first price); try again")
    return state


def _limit_ppm(limit: object) -> int:
    if not isinstance(limit, str):
        raise _invalid(f"limit must be a percent like '1%' (text); was {limit!r}")
    try:
        ppm = percent_ppm(limit)
    except ValueError as e:
        raise _invalid(f"limit {e}") from None
    if ppm >= 1_000_000:
        raise _invalid(f"limit must be below 100%; was {limit!r}")
    return ppm


def _capital_atoms(state: GridState, amount: object) -> int:
    refusal = f"amount must be a decimal string like '100' or '-50' (quote); was {amount!r}"
    if not isinstance(amount, str):
        raise _invalid(refusal)
    try:
        value = Decimal(amount.strip())
    except InvalidOperation:
        raise _invalid(refusal) from None
    if not value.is_finite() or value.is_zero():
        raise _invalid(refusal.replace("like", "other than 0, like"))
    try:
        atoms = state.instrument.to_atoms(value)
    except CoreError as e:
        raise _invalid(f"amount: {e}") from None
    change = CapitalChange(
        symbol=state.symbol,
        delta_atoms=atoms,
        reason="",
        ts_event=int(time.time() * 1000),
    )
    if problems := capital_problems(state, change):
        raise _refused(f"{state.symbol}: " + "; ".join(problems))
    return atoms


def _reconfigure(state: GridState, section: object, allow_loss: bool) -> str:
    if not isinstance(section, dict):
        raise _invalid(
            f"config must be the market's section as in the YAML (a mapping); was {section!r}"
        )
    section = {"symbol": state.symbol, **section}
    if section["symbol"] != state.symbol:
        raise _invalid(f"config.symbol must be {state.symbol}; was {section['symbol']!r}")
    try:
        market = _Markets.model_validate({"markets": [section]}).markets[0]
    except ValidationError as e:
        text = format_error(e, "the request's config").replace("markets[0].", "config.")
        raise _invalid(text) from None
    try:
        setup = book_setup(market, state.instrument)
    except ConfigError as e:
        raise _invalid(str(e)) from None
    try:
        reconfigure_event(state, setup, allow_loss, int(time.time() * 1000))
    except CommandRefused as e:
        raise _refused(str(e)) from None
    return reconfigure_payload(setup, allow_loss)
