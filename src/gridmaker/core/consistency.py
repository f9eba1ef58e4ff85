"""How far a book is from the venue's open orders: the audit's classification, pure.

The numbers an operator watches (and alerts fire on) are measured against the venue, never
against the book alone: an order the book holds open that the venue does not list is
*missing*; one with our strategy's id that the venue lists and the book does not hold is
*unexpected*; anything else the venue lists is *foreign* (never ours to touch).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from gridmaker.core.ids import decode_cid
from gridmaker.core.slots import OrderState
from gridmaker.core.state import GridState

__all__ = ["OrderCounts", "count_orders"]


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderCounts:
    expected: int
    """Orders the book holds open (acknowledged by the venue)."""
    open_at_venue: int
    """Orders with our strategy's ids that the venue lists as open."""
    missing: int
    unexpected: int
    foreign: int
    unknown: tuple[str, ...]
    """Client ids the book holds in UNKNOWN state (sent, outcome not proven)."""


def count_orders(
    state: GridState, venue_open: Iterable[str], filled: Iterable[str] = ()
) -> OrderCounts:
    """The book's orders against the client ids the venue lists as open for its symbol.

    An order still being placed or cancelled may or may not be listed yet, so it is neither
    expected nor unexpected; the stop-loss sale counts as one of the book's orders. An order
    the venue says ``filled`` (a lookup) is not missing: its fill has not been read yet.
    """
    strategy = state.params.strategy_id
    expected = {s.order_cid for s in state.slots.values() if s.order is OrderState.OPEN}
    in_flight = {
        s.order_cid
        for s in state.slots.values()
        if s.has_live_order and s.order is not OrderState.OPEN
    }
    if state.liquidation_cid:
        in_flight.add(state.liquidation_cid)
    ours: set[str] = set()
    foreign = 0
    for cid in set(venue_open):
        decoded = decode_cid(cid)
        if decoded is None or decoded.strategy != strategy:
            foreign += 1
        else:
            ours.add(cid)
    unknown = tuple(
        sorted(s.order_cid for s in state.slots.values() if s.order is OrderState.UNKNOWN)
    )
    return OrderCounts(
        expected=len(expected),
        open_at_venue=len(ours),
        missing=len(expected - ours - set(filled)),
        unexpected=len(ours - expected - in_flight),
        foreign=foreign,
        unknown=unknown,
    )
