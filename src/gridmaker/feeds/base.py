"""The public-trade record, the ``MarketFeed`` protocol every feed implements, and ``FeedError``."""

from __future__ import annotations

import decimal
import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Final, Protocol, runtime_checkable

from gridmaker.core.display import plain

__all__ = [
    "MAX_FEED_VALUE",
    "FeedError",
    "MarketFeed",
    "MarketTrade",
    "check_tick",
    "read_feed_file",
    "trades_from",
]

MAX_FEED_VALUE: Final = 10**15
"""Recorded prices and amounts stay below this: far above any real market, yet small enough that
ticks, steps and their products stay exact integers (and floats for charts stay finite)."""


class FeedError(Exception):
    """A feed's input is unreadable or malformed; the message names the file, row and value."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MarketTrade:
    """One public trade on the market, in venue units.

    ``price`` and ``amount`` are positive ``Decimal``; ``ts_event`` is epoch milliseconds.
    """

    price: Decimal
    amount: Decimal
    ts_event: int


@runtime_checkable
class MarketFeed(Protocol):
    """A deterministic, restartable stream of public trades.

    The same feed (same ``key``) always yields the same sequence, so a consumer that has processed
    ``n`` trades continues exactly with ``trades(n)`` after a restart.
    """

    @property
    def key(self) -> str:
        """A stable identity of the feed: its kind and every parameter, or file name and hash.

        A data dir stores it and refuses to continue with a feed whose key differs.
        """
        ...

    def trades(self, start: int = 0) -> Iterator[MarketTrade]:
        """Yield the trades from 0-based position ``start`` on; ``ValueError`` if ``start < 0``."""
        ...


def read_feed_file(path: Path, kind: str) -> tuple[bytes, str]:
    """A recorded feed's bytes and its key ``<kind>:<file name>:sha256=<first 16 hex>``.

    The key changes with the content, so a data dir refuses to continue an edited file.
    Raises ``FeedError`` when the file cannot be read.
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise FeedError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    return raw, f"{kind}:{path.name}:sha256={hashlib.sha256(raw).hexdigest()[:16]}"


def trades_from(trades: tuple[MarketTrade, ...], start: int) -> Iterator[MarketTrade]:
    """The loaded ``trades`` from 0-based position ``start`` on."""
    if not isinstance(start, int) or isinstance(start, bool) or start < 0:
        raise ValueError(f"invalid start, was {start!r}; must be an int >= 0")
    return map(trades.__getitem__, range(start, len(trades)))


def check_tick(
    trades: Sequence[MarketTrade], tick_size: Decimal, where: Callable[[int], str]
) -> None:
    """Raise ``FeedError`` at the first trade whose price is not a multiple of ``tick_size``.

    ``where(index)`` names the trade's file and row in the message.
    """
    exact = decimal.Context(prec=100, traps=[decimal.InvalidOperation])
    for index, trade in enumerate(trades):
        try:
            off = exact.remainder(trade.price, tick_size)
        except decimal.InvalidOperation:
            off = Decimal(1)  # more ticks than 100 digits hold: no venue prints that price
        if off:
            raise FeedError(
                f"{where(index)}: price {plain(trade.price)} is not a multiple of the tick "
                f"{plain(tick_size)}"
            )
