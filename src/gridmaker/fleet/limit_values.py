"""The fleet breaker's words: its scopes and its limits, checked as a person types them.

A scope is ``fleet`` (every grid) or ``account:NAME`` (one account's grids, ``NAME`` as the
registry spells account names). A drawdown limit is a fraction strictly between 0 and 1, an
exposure limit an amount above 0 of the scope's quote asset; both are plain decimals (no
exponent, no percent sign), because a person reads them back as typed.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Final

from gridmaker.fleet.registry import NAME_RULE

__all__ = [
    "ACCOUNT",
    "FLEET",
    "LimitsInvalid",
    "account_scope",
    "check_drawdown",
    "check_exposure",
    "check_scope",
]

FLEET: Final = "fleet"
ACCOUNT: Final = "account:"


class LimitsInvalid(ValueError):
    """A scope or a limit that cannot be used (the message names it and what is allowed)."""


def account_scope(account: str) -> str:
    """The scope of one account's grids; ``LimitsInvalid`` for a name no grid can have."""
    if not NAME_RULE.match(account):
        raise LimitsInvalid(
            "--account must be 1 to 63 letters, digits, '_', '.' or '-' (first a letter or "
            f"digit); was {account!r}"
        )
    return f"{ACCOUNT}{account}"


_PLAIN: Final = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
"""A decimal as a person writes it: digits and one point (no exponent, ``_`` or ``%``)."""


def _decimal(text: str, option: str) -> Decimal:
    if not _PLAIN.fullmatch(text.strip()):
        raise LimitsInvalid(f"{option} must be a plain decimal number; was {text!r}")
    return Decimal(text.strip())


def check_drawdown(text: str) -> Decimal:
    """A drawdown limit: a fraction strictly between 0 and 1 (0.05 is 5 %)."""
    value = _decimal(text, "--max-drawdown")
    if not Decimal(0) < value < Decimal(1):
        raise LimitsInvalid(
            f"--max-drawdown must be a fraction between 0 and 1, e.g. 0.05 for 5%; was {text!r}"
        )
    return value


def check_exposure(text: str) -> Decimal:
    """An exposure limit: a positive amount of the scope's quote asset."""
    value = _decimal(text, "--max-exposure")
    if value <= 0:
        raise LimitsInvalid(f"--max-exposure must be above 0 (in the quote asset); was {text!r}")
    return value


def check_scope(scope: str) -> None:
    """``LimitsInvalid`` unless ``scope`` is ``fleet`` or ``account:NAME``."""
    if scope != FLEET and not (
        scope.startswith(ACCOUNT) and NAME_RULE.match(scope[len(ACCOUNT) :])
    ):
        raise LimitsInvalid(f"a scope is 'fleet' or 'account:NAME'; was {scope!r}")
