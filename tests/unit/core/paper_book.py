"""A book driven against the paper venue one event at a time, for the reshape tests.

Unlike ``kit.venue.run_session`` it takes any event (a reconfiguration, a capital change, an
operator's order) between prices, can hold the venue's answers back (``hold``) so that a
change meets orders still in flight, and lets a test look at every decision as it is made.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from gridmaker.core.decide import decide, needs_decision
from gridmaker.core.events import (
    Action,
    CancelOrder,
    Event,
    Fill,
    OrderStatus,
    OrderUpdate,
    PlaceOrder,
    PriceTick,
    Side,
)
from gridmaker.core.grid import GridSpec
from gridmaker.core.state import Decision, GridState
from gridmaker.core.units import Steps, Ticks
from tests.kit.venue import PaperVenue

P0 = 5_000_000
SP = 5_000

Check = Callable[[GridState, Event, Decision], None]


@dataclass
class PaperBook:
    """One book and the venue it trades on; ``apply``/``trade`` run the loop's order."""

    state: GridState
    venue: PaperVenue
    check: Check | None = None
    hold: bool = False
    """Leave the venue's answers queued after an event (delivered by the next ``drain``)."""
    actions: list[Action] = field(default_factory=list)
    pending: deque[Event] = field(default_factory=deque)

    @classmethod
    def of(cls, state: GridState, check: Check | None = None) -> PaperBook:
        return cls(state, PaperVenue(state.instrument, state.base_steps, state.quote_atoms), check)

    def step(self, event: Event) -> Decision:
        decision = decide(self.state, event)
        if self.check is not None:
            self.check(self.state, event, decision)
        self.state = decision.state
        for action in decision.actions:
            self.actions.append(action)
            self.pending.append(self.venue.send(action))
        self.pending.extend(self.venue.taker_fills)
        self.venue.taker_fills.clear()
        return decision

    def drain(self) -> None:
        while self.pending:
            self.step(self.pending.popleft())

    def apply(self, event: Event) -> list[Action]:
        """One event, then (unless holding) every answer it leads to; the actions sent."""
        start = len(self.actions)
        self.step(event)
        if not self.hold:
            self.drain()
        return self.actions[start:]

    def trade(self, price: int, amount: int | None = None) -> list[Action]:
        """A trade prints at ``price``: the price event if it is worth one, then the fills."""
        start = len(self.actions)
        fills = self.venue.trade(price, amount)
        if needs_decision(self.state, price):
            self.step(tick(self.state, price))
        self.pending.extend(fills)
        if not self.hold:
            self.drain()
        return self.actions[start:]

    def unseen(self) -> tuple[int, int]:
        """Base and quote the venue moved by fills the book has not been told of yet."""
        base = quote = 0
        for event in self.pending:
            if isinstance(event, Fill):
                notional = event.price_ticks * event.qty_steps * 1_000_000
                sign = 1 if event.side is Side.BUY else -1
                base += sign * event.qty_steps
                quote += -sign * notional - event.fee_atoms
        return base, quote


def tick(state: GridState, price: int) -> PriceTick:
    return PriceTick(symbol=state.symbol, price_ticks=Ticks(price), qty_steps=Steps(1), ts_event=0)


def places(actions: list[Action] | tuple[Action, ...]) -> list[PlaceOrder]:
    return [a for a in actions if isinstance(a, PlaceOrder)]


def cancels(actions: list[Action] | tuple[Action, ...]) -> list[CancelOrder]:
    return [a for a in actions if isinstance(a, CancelOrder)]


def live(state: GridState) -> dict[str, tuple[Side | None, int]]:
    """Every live order of the book: client id -> (side, price)."""
    return {
        s.order_cid: (s.order_side, s.order_price_ticks)
        for s in state.slots.values()
        if s.has_live_order
    }


def on_grid(grid: GridSpec, price: int) -> bool:
    """True when ``price`` is one of ``grid``'s level prices."""
    level = grid.level_at_or_below(price)
    return grid.has_level(level) and grid.price_ticks(level) == price


def answer(state: GridState, cid: str, status: OrderStatus) -> OrderUpdate:
    return OrderUpdate(
        symbol=state.symbol,
        client_order_id=cid,
        status=status,
        filled_steps=Steps(0),
        ts_event=0,
    )
