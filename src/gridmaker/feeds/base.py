"""The public-trade record, the ``MarketFeed`` protocol every feed implements, and ``FeedError``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol, runtime_checkable

__all__ = ["FeedError", "MarketFeed", "MarketTrade"]


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
