"""Deterministic client order ids: ``encode_cid(strategy, level, side, cycle)`` and back.

Format (only ``[A-Za-z0-9]``, at most 32 characters, which fits Binance, OKX and Bybit)::

    gm <strategy: [a-z0-9]{1,8}> <side: B|S> <sign: P|N> <level: base36> C <cycle: base36>

Upper-case letters are the separators, lower-case base-36 the numbers, so the id parses without
ambiguity. Only the canonical spelling decodes (no leading zeros, no ``N0``): two distinct inputs
can never share an id, and the same input always gets the same one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Final, NewType

from gridmaker.core.events import Side

__all__ = [
    "CID_PREFIX",
    "MAX_CID_LEN",
    "ClientOrderId",
    "DecodedCid",
    "decode_cid",
    "encode_cid",
    "is_valid_strategy_id",
]

ClientOrderId = NewType("ClientOrderId", str)

CID_PREFIX: Final = "gm"
MAX_CID_LEN: Final = 32
MAX_STRATEGY_LEN: Final = 8
MAX_LEVEL_DIGITS: Final = 8
MAX_CYCLE_DIGITS: Final = 11
_STRATEGY_RE: Final = re.compile(r"[a-z0-9]{1,8}")
_CID_RE: Final = re.compile(r"gm([a-z0-9]{1,8})([BS])([PN])([0-9a-z]{1,8})C([0-9a-z]{1,11})")
_DIGITS: Final = "0123456789abcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True, slots=True)
class DecodedCid:
    strategy: str
    level: int
    side: Side
    cycle: int


def is_valid_strategy_id(strategy: str) -> bool:
    return _STRATEGY_RE.fullmatch(strategy) is not None


def _base36(n: int) -> str:
    if n == 0:
        return "0"
    out = []
    while n:
        n, r = divmod(n, 36)
        out.append(_DIGITS[r])
    return "".join(reversed(out))


def encode_cid(strategy: str, level: int, side: Side, cycle: int) -> ClientOrderId:
    """The one client order id of this (strategy, level, side, cycle); raises ``ValueError``."""
    if not is_valid_strategy_id(strategy):
        raise ValueError(f"strategy id must match [a-z0-9]{{1,8}}, was {strategy!r}")
    if cycle < 0:
        raise ValueError(f"cycle must be >= 0, was {cycle}")
    level_digits = _base36(abs(level))
    cycle_digits = _base36(cycle)
    if len(level_digits) > MAX_LEVEL_DIGITS or len(cycle_digits) > MAX_CYCLE_DIGITS:
        raise ValueError(f"level {level} or cycle {cycle} too large for a client order id")
    sign = "N" if level < 0 else "P"
    side_letter = "B" if side is Side.BUY else "S"
    return ClientOrderId(f"{CID_PREFIX}{strategy}{side_letter}{sign}{level_digits}C{cycle_digits}")


@lru_cache(maxsize=8192)
def decode_cid(cid: str) -> DecodedCid | None:
    """The inputs behind one of our ids, or ``None`` for an id that is not ours (foreign)."""
    match = _CID_RE.fullmatch(cid)
    if match is None:
        return None
    strategy, side_letter, sign, level_digits, cycle_digits = match.groups()
    level = int(level_digits, 36) * (-1 if sign == "N" else 1)
    side = Side.BUY if side_letter == "B" else Side.SELL
    decoded = DecodedCid(strategy, level, side, int(cycle_digits, 36))
    if encode_cid(strategy, level, side, decoded.cycle) != cid:
        return None  # non-canonical spelling: not an id we would ever have sent
    return decoded
