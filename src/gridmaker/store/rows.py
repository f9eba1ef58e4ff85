"""The store's rows as the engine, the CLI and the control API read them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["BootRow", "CommandRecord", "CommandRow", "FillRow", "IntentRow", "RequestConflict"]


@dataclass(frozen=True, slots=True)
class BootRow:
    revision: int
    """Commits made before this boot's sync; everything sent after it has a higher revision."""
    report: dict[str, int]
    halted: str
    at: str


@dataclass(frozen=True, slots=True)
class CommandRow:
    id: int
    symbol: str
    command: str
    reason: str
    payload: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandRecord:
    """A queued command as an operator asks after it: applied once ``applied_at`` is set."""

    id: int
    symbol: str
    command: str
    reason: str
    request_id: str
    created_at: str
    applied_at: str | None
    payload: str = ""
    outcome: str = ""
    """Why the loop refused it ("" once applied, or while queued)."""

    @classmethod
    def of_row(cls, row: Sequence[Any]) -> CommandRecord:
        """From a row selected in the fields' order (both stores select the same columns)."""
        fields = ("id", "symbol", "command", "reason", "request_id", "created_at", "applied_at")
        return cls(**dict(zip(fields, row[:7], strict=True)), payload=row[7], outcome=row[8])


class RequestConflict(ValueError):
    """A request id already names another command: a retry must repeat its request."""


@dataclass(frozen=True, slots=True)
class FillRow:
    seq: int
    trade_id: str
    client_order_id: str
    side: str
    price_ticks: int
    qty_steps: int
    fee_atoms: int
    ts_event: int


@dataclass(frozen=True, slots=True)
class IntentRow:
    symbol: str
    client_order_id: str
    kind: str
    status: str
    reason: str
