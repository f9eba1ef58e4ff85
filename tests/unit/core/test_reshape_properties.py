"""Properties of a running grid reshaped at random moments (``core.reshape``).

Random grids (arithmetic or geometric, bounded or trailing, long or neutral) trade a random walk
on the paper venue while reconfigurations (spacing, range, level counts, order size, anchor
shifts that re-index levels, refused changes) and capital changes arrive between prices, some
while the venue's answers are still in flight. Every decision is checked as it is made.

``RESHAPE_EXAMPLES=2500`` hunts longer than the default (120 examples, a few seconds).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridmaker.core.decide import decide
from gridmaker.core.events import (
    CancelOrder,
    CapitalChange,
    Event,
    Fill,
    PlaceOrder,
    Reconfigure,
    Side,
)
from gridmaker.core.evolve import evolve
from gridmaker.core.grid import GridKind, GridSpec
from gridmaker.core.planning import engaged_window, is_parked
from gridmaker.core.reshape import capital_problems, reshape_problems
from gridmaker.core.risk import RiskParams
from gridmaker.core.slots import OrderState
from gridmaker.core.state import Control, Decision, GridMode, GridState
from gridmaker.core.units import Steps
from gridmaker.store.codec import canonical_json, decode_state, encode_state
from tests import kit
from tests.unit.core.paper_book import P0, SP, PaperBook, on_grid

RATIOS = [Decimal("1.001"), Decimal("1.002"), Decimal("1.0005"), Decimal("1.003")]
SPACINGS = [SP, 2 * SP, SP // 2, 3 * SP, SP]


@dataclass(frozen=True)
class Shape:
    """A grid as the tests draw it: the spec is built at a book's anchor (as the engine does)."""

    kind: GridKind
    pick: int
    """Index into ``SPACINGS`` or ``RATIOS``."""
    below: int
    above: int
    shift: int
    """Anchor moved by this many base spacings (arithmetic: the same prices, re-indexed)."""
    qty: int
    allow_loss: bool = False
    bad: str = ""
    compound: bool = False

    def grid(self, anchor: int, trailing: bool) -> GridSpec:
        if self.kind is GridKind.ARITHMETIC:
            spec = GridSpec(
                kind=self.kind,
                anchor_ticks=anchor + self.shift * SP,
                spacing_ticks=SPACINGS[self.pick],
            )
        else:
            spec = GridSpec(kind=self.kind, anchor_ticks=anchor, ratio=RATIOS[self.pick])
        if trailing:
            return spec
        return evolve(spec, min_level=-self.below, max_level=self.above)


shapes = st.builds(
    Shape,
    kind=st.sampled_from(GridKind),
    pick=st.integers(0, 3),
    below=st.integers(1, 7),
    above=st.integers(1, 7),
    shift=st.integers(-2, 2),
    qty=st.sampled_from([50, 100, 150, 200]),
    allow_loss=st.booleans(),
    bad=st.sampled_from(["", "", "", "", "", "", "strategy", "mode", "trailing"]),
    compound=st.booleans(),
)

ops = st.one_of(
    st.tuples(
        st.just("price"),
        st.integers(-3, 3),
        st.one_of(st.none(), st.integers(1, 250)),
        st.booleans(),
    ),
    st.tuples(st.just("reshape"), shapes, st.booleans()),
    st.tuples(st.just("capital"), st.integers(-6, 6), st.booleans()),
)


def _book(first: Shape, mode: GridMode, trailing: bool) -> GridState:
    params = kit.params(
        mode=mode,
        trailing=trailing,
        order_qty_steps=first.qty,
        buy_levels=first.below,
        sell_levels=first.above,
        compound=first.compound,
    )
    grid = Shape(first.kind, first.pick, 6, 6, 0, first.qty).grid(P0, trailing)
    return kit.state(base="0.004", quote="400", grid_=grid, params_=params)


def _reconfigure(state: GridState, shape: Shape) -> Reconfigure:
    old = state.params
    params = evolve(
        old,
        order_qty_steps=Steps(shape.qty),
        buy_levels=shape.below,
        sell_levels=shape.above,
        compound=shape.compound,
    )
    if shape.bad == "strategy":
        params = evolve(params, strategy_id="other")
    elif shape.bad == "mode":
        other = GridMode.LONG if old.mode is GridMode.NEUTRAL else GridMode.NEUTRAL
        params = evolve(params, mode=other)
    elif shape.bad == "trailing":
        params = evolve(params, trailing=not old.trailing)
    return Reconfigure(
        symbol=state.symbol,
        grid=shape.grid(state.grid.anchor_ticks, old.trailing),
        params=params,
        risk_params=RiskParams(),
        allow_loss=shape.allow_loss,
        ts_event=0,
    )


class Checker:
    """The invariants, checked on every decision (``PaperBook.check``)."""

    def __init__(self, quote: int) -> None:
        self.placed: set[str] = set()
        self.paid_in = quote
        """The quote the book was given: at its start and by capital changes since."""

    def __call__(self, before: GridState, event: Event, decision: Decision) -> None:
        after = decision.state
        # (e) decide is a function of its input
        assert decide(before, event) == decision
        # (f) the store's codec gives the same book back
        assert decode_state(json.loads(canonical_json(encode_state(after)))) == after
        # (a) a client id is placed once over the whole history
        for action in decision.actions:
            if isinstance(action, PlaceOrder):
                assert action.client_order_id not in self.placed, action
                self.placed.add(action.client_order_id)
        self._balances(before, event, after)
        if isinstance(event, Reconfigure):
            self._reshape(before, event, decision)
        self._orders_on_grid(after)

    @staticmethod
    def _balances(before: GridState, event: Event, after: GridState) -> None:
        """(b) balances move only on fills, by exactly what the fill says; capital by its delta."""
        base: int = before.base_steps
        quote: int = before.quote_atoms
        if isinstance(event, Fill):
            notional = event.price_ticks * event.qty_steps * 1_000_000
            buy = event.side is Side.BUY
            base += event.qty_steps if buy else -event.qty_steps
            quote += (-notional if buy else notional) - event.fee_atoms
        elif isinstance(event, CapitalChange) and not capital_problems(before, event):
            quote += event.delta_atoms
        assert (after.base_steps, after.quote_atoms) == (base, quote)
        held = sum(s.position_steps for s in after.slots.values()) + after.dust_steps
        assert 0 <= held <= after.base_steps, "the slots hold more base than the book has"

    @staticmethod
    def _reshape(before: GridState, change: Reconfigure, decision: Decision) -> None:
        after = decision.state
        if reshape_problems(before, change):
            assert decision.actions == () and after == before, "a refused change moved the book"
            return
        assert (after.grid, after.params) == (change.grid, change.params)
        # (d) an order whose prices the new grid keeps is neither cancelled nor re-identified
        cancelled = {a.client_order_id for a in decision.actions if isinstance(a, CancelOrder)}
        still = {s.order_cid: s for s in after.slots.values() if s.has_live_order}
        grid = change.grid
        low, high = engaged_window(after, after.price_level)
        for slot in before.slots.values():
            if not slot.has_live_order or slot.order is OrderState.CANCELLING:
                continue
            level = grid.level_at_or_below(slot.buy_ticks)
            if not (on_grid(grid, slot.buy_ticks) and grid.has_level(level + 1)):
                continue
            if slot.order_side is Side.BUY and not low <= level <= high:
                continue  # a trailing window that shrank disengages it: its buy goes
            if slot.order_side is Side.SELL and grid.price_ticks(level + 1) != slot.sell_ticks:
                continue  # repriced
            assert slot.order_cid not in cancelled, f"kept level's order cancelled: {slot}"
            kept = still.get(slot.order_cid)
            assert kept is not None and kept.buy_ticks == slot.buy_ticks, slot
            assert (kept.order, kept.order_price_ticks) == (slot.order, slot.order_price_ticks)

    @staticmethod
    def _orders_on_grid(state: GridState) -> None:
        """(c) every live order is where the current grid says, or on its way out."""
        grid = state.grid
        cids = [s.order_cid for s in state.slots.values() if s.has_live_order]
        assert len(cids) == len(set(cids))
        for tick, slot in state.slots.items():
            assert tick == slot.buy_ticks
            if slot.retiring:
                if is_parked(slot):
                    # A parked lot's only order: a sell of what it holds at its own sell price.
                    if slot.order is OrderState.OPEN:
                        assert slot.order_side is Side.SELL, slot
                        assert slot.order_price_ticks == slot.sell_ticks, slot
                        # (a fill of a retired order that came after its cancel may have
                        # taken some of the lot since: never more than the order, though)
                        assert slot.order_qty_steps >= slot.position_steps, slot
                    continue
                assert slot.order is not OrderState.OPEN, f"a retiring slot's order works: {slot}"
                continue
            assert grid.price_ticks(slot.level) == slot.buy_ticks, slot
            assert grid.price_ticks(slot.level + 1) == slot.sell_ticks, slot
            if slot.order is not OrderState.OPEN:
                continue
            want = slot.buy_ticks if slot.order_side is Side.BUY else slot.sell_ticks
            assert slot.order_price_ticks == want, f"an open order off its level: {slot}"

    def quiet(self, book: PaperBook) -> None:
        """With nothing in flight: the book's balances and orders are the venue's."""
        state, venue = book.state, book.venue
        assert (state.base_steps, state.quote_atoms) == (venue.base, venue.quote)
        assert {o.cid for o in venue.open()} == {
            s.order_cid for s in state.slots.values() if s.has_live_order
        }
        for slot in state.slots.values():
            assert slot.order in (OrderState.NONE, OrderState.OPEN), slot
            assert not (slot.retiring and slot.has_live_order and not is_parked(slot)), slot
            if slot.retiring and not slot.has_live_order and not is_parked(slot):
                # A retired lot with nowhere to go is parked and offered at its own price,
                # unless it cannot be (its sell price is at or under the last price, or trading
                # is held); a parked one whose sell the venue ended waits for the next level.
                assert (
                    slot.position_steps == 0
                    or slot.sell_ticks <= state.last_price_ticks
                    or not state.risk.is_active
                    or state.control is not Control.TRADING
                    or not state.instrument.is_tradeable(slot.sell_ticks, slot.position_steps)
                ), f"a retired lot offered nowhere: {slot}"
            assert not (slot.retiring and slot.is_idle), f"a retired level not forgotten: {slot}"
        if state.params.mode is GridMode.LONG:
            # Every atom of quote spent or earned is in a level's round trip or the realized PnL.
            open_trips = sum(s.proceeds_atoms - s.cost_atoms for s in state.slots.values())
            assert state.quote_atoms - self.paid_in == state.realized_pnl_atoms + open_trips


def _run(first: Shape, mode: GridMode, trailing: bool, steps: list[tuple[object, ...]]) -> None:
    state = _book(first, mode, trailing)
    checker = Checker(state.quote_atoms)
    book = PaperBook.of(state, checker)
    price = P0
    book.trade(price)
    for op in steps:
        kind, *args = op
        book.hold = bool(args[-1])
        if kind == "price":
            delta, amount = args[0], args[1]
            assert isinstance(delta, int)
            price += delta * SP // 2 + (1 if delta % 2 else 0)
            book.trade(price, amount)  # type: ignore[arg-type]
        elif kind == "reshape":
            assert isinstance(args[0], Shape)
            book.apply(_reconfigure(book.state, args[0]))
        else:
            assert isinstance(args[0], int)
            change = CapitalChange(
                symbol=book.state.symbol,
                delta_atoms=args[0] * 40 * 10**13,  # tenths of the 400 USDT the book starts with
                reason="test",
                ts_event=0,
            )
            if not capital_problems(book.state, change):
                book.venue.quote += change.delta_atoms
                checker.paid_in += change.delta_atoms
            book.apply(change)
        base, quote = book.unseen()  # fills the venue made that the book is yet to hear of
        assert (book.state.base_steps + base, book.state.quote_atoms + quote) == (
            book.venue.base,
            book.venue.quote,
        )
        if not book.pending:
            checker.quiet(book)
    book.hold = False
    book.drain()
    checker.quiet(book)


# Derandomized: each run draws the same examples, so CI does not turn red by chance on the
# known bug pinned below; RESHAPE_EXAMPLES (and a random seed) explore further by hand.
@settings(
    max_examples=int(os.environ.get("RESHAPE_EXAMPLES", "120")),
    deadline=None,
    derandomize="RESHAPE_EXAMPLES" not in os.environ,
)
@given(shapes, st.sampled_from(GridMode), st.booleans(), st.lists(ops, min_size=1, max_size=40))
def test_reshaped_book_keeps_every_invariant_on_every_decision(
    first, mode, trailing, steps
) -> None:
    _run(first, mode, trailing, steps)


@pytest.mark.xfail(
    strict=True,
    reason="known bug, found 2026-12-01: a long trailing grid reshaped to a finer spacing, "
    "whose buy fills as the window moves down, forgets the lot (base held, no slot, no sell)",
)
def test_trailing_long_grid_reshaped_finer_keeps_the_lot_a_moving_window_filled() -> None:
    first = Shape(GridKind.ARITHMETIC, 0, 1, 1, 0, 50, False, "", False)
    finer = Shape(GridKind.ARITHMETIC, 2, 1, 1, 0, 50, False, "", False)
    steps: list[tuple[object, ...]] = [
        ("price", -1, None, False),
        ("reshape", finer, False),
        ("price", -2, None, False),
    ]
    _run(first, GridMode.LONG, True, steps)
