from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from gridmaker.core.events import CancelOrder, Fill, OrderStatus, PlaceOrder, Side
from gridmaker.core.ids import encode_cid
from gridmaker.core.reconcile import Snapshot, VenueOrder, reconcile
from gridmaker.core.slots import OrderState
from gridmaker.core.state import GridMode, GridState
from gridmaker.core.units import Steps, Ticks
from tests import kit
from tests.kit.venue import PaperOrder, PaperVenue, run_session

P0 = 5_000_000
SP = 5_000


def _running() -> tuple[GridState, PaperVenue]:
    """A long grid with its buys resting at the venue."""
    state = kit.state(params_=kit.params(mode=GridMode.LONG))
    venue = PaperVenue(state.instrument, state.base_steps, state.quote_atoms)
    state, _ = run_session(state, venue, [(P0, None)])
    return state, venue


def _as_venue_orders(venue: PaperVenue) -> tuple[VenueOrder, ...]:
    return tuple(
        VenueOrder(
            client_order_id=o.cid,
            side=o.side,
            price_ticks=Ticks(o.price),
            qty_steps=Steps(o.qty),
            filled_steps=Steps(o.filled),
        )
        for o in venue.open()
    )


def _lookups(state: GridState, venue: PaperVenue) -> dict[str, OrderStatus]:
    """The shell's lookups: every order the book tracks that the venue does not list as open."""
    listed = {o.cid for o in venue.open()}
    return {
        s.order_cid: venue.lookup(s.order_cid)
        for s in state.slots.values()
        if s.has_live_order and s.order_cid not in listed
    }


def _snapshot(
    venue: PaperVenue, fills: tuple[Fill, ...] = (), state: GridState | None = None
) -> Snapshot:
    return Snapshot(
        open_orders=_as_venue_orders(venue),
        fills=fills,
        ts_event=1,
        last_price_ticks=Ticks(venue.last_price) if venue.last_price else None,
        lookups={} if state is None else _lookups(state, venue),
    )


def test_reconcile_open_orders_present_at_venue_are_matched() -> None:
    # Arrange
    state, venue = _running()

    # Act
    decision, report = reconcile(state, _snapshot(venue))

    # Assert
    assert len(report.matched) == 20 and decision.actions == ()
    assert report.counts()["zombies"] == report.counts()["ghost_fills"] == 0


def test_reconcile_open_order_missing_at_venue_without_fill_is_zombie() -> None:
    # Arrange
    state, venue = _running()
    gone = max(venue.open(), key=lambda o: o.price)
    gone.is_open = False  # cancelled behind our back

    # Act
    decision, report = reconcile(state, _snapshot(venue, state=state))

    # Assert
    assert report.zombies == (gone.cid,)
    slot = decision.state.slots[gone.price]
    assert slot.cycle == 1  # the spent id is never reused: the slot works on with a fresh one
    replaced = [a for a in decision.actions if isinstance(a, PlaceOrder)]
    assert [a.client_order_id for a in replaced] == [slot.order_cid]
    assert slot.order_cid != gone.cid


def test_reconcile_placing_order_that_never_arrived_is_resolved_and_resent_same_id() -> None:
    # Arrange: the intent was recorded, the process died before sending.
    state = kit.state(params_=kit.params(mode=GridMode.LONG))
    from gridmaker.core.decide import decide
    from gridmaker.core.events import PriceTick

    placing = decide(
        state, PriceTick(symbol=state.symbol, price_ticks=Ticks(P0), qty_steps=Steps(1), ts_event=0)
    )
    venue = PaperVenue(state.instrument, state.base_steps, state.quote_atoms)

    # Act
    decision, report = reconcile(placing.state, _snapshot(venue, state=placing.state))

    # Assert
    assert len(report.resolved) == 20
    resent = {a.client_order_id for a in decision.actions if isinstance(a, PlaceOrder)}
    assert resent == {a.client_order_id for a in placing.actions}


def test_reconcile_absent_order_that_filled_without_its_trades_is_unproven_not_replaced() -> None:
    # Arrange: a buy filled while we were away, but the snapshot lacks its trade (a cursor from
    # another venue hid it). Its lookup says filled.
    state, venue = _running()
    filled = max(venue.open(), key=lambda o: o.price)
    venue.trade(filled.price, None)

    # Act
    decision, report = reconcile(state, _snapshot(venue, (), state=state))

    # Assert: never called a zombie, never placed again, left for the venue to explain.
    assert report.zombies == () and report.unproven == (filled.cid,)
    slot = decision.state.slots[filled.price]
    assert (slot.order, slot.order_cid, slot.cycle) == (OrderState.UNKNOWN, filled.cid, 0)
    assert not [a for a in decision.actions if a.level == slot.level]


def test_reconcile_absent_order_not_looked_up_is_unproven() -> None:
    # Arrange: an order vanished from the open orders; the shell could not ask about it.
    state, venue = _running()
    gone = max(venue.open(), key=lambda o: o.price)
    gone.is_open = False

    # Act
    decision, report = reconcile(state, _snapshot(venue))

    # Assert
    assert report.unproven == (gone.cid,) and report.zombies == ()
    assert decision.state.slots[gone.price].order is OrderState.UNKNOWN
    assert not [a for a in decision.actions if isinstance(a, PlaceOrder)]


def test_reconcile_placing_order_found_cancelled_is_a_zombie_with_a_fresh_id() -> None:
    # Arrange: the intent was sent, the venue took it and cancelled it while we were down.
    state = kit.state(params_=kit.params(mode=GridMode.LONG))
    from gridmaker.core.decide import decide
    from gridmaker.core.events import PriceTick

    placing = decide(
        state, PriceTick(symbol=state.symbol, price_ticks=Ticks(P0), qty_steps=Steps(1), ts_event=0)
    )
    venue = PaperVenue(state.instrument, state.base_steps, state.quote_atoms)
    first = placing.actions[0]
    assert isinstance(first, PlaceOrder)
    venue.send(first)
    venue.orders[first.client_order_id].is_open = False

    # Act
    decision, report = reconcile(placing.state, _snapshot(venue, state=placing.state))

    # Assert
    assert report.zombies == (first.client_order_id,)
    assert first.client_order_id not in {a.client_order_id for a in decision.actions}


def test_reconcile_fill_while_away_is_applied_and_answered() -> None:
    # Arrange
    state, venue = _running()
    fills = tuple(venue.trade(P0 - SP, None))

    # Act
    decision, report = reconcile(state, _snapshot(venue, fills))

    # Assert
    assert report.ghost_fills == tuple(f.trade_id for f in fills)
    assert decision.state.buy_fills == 1
    sells = [a for a in decision.actions if isinstance(a, PlaceOrder) and a.side is Side.SELL]
    assert [(s.price_ticks, s.qty_steps) for s in sells] == [(P0, 100)]


def test_reconcile_foreign_order_is_reported_and_never_touched() -> None:
    # Arrange
    state, venue = _running()
    venue.orders["manual-123"] = PaperOrder("manual-123", Side.BUY, P0 - 50 * SP, 10)

    # Act
    decision, report = reconcile(state, _snapshot(venue))

    # Assert
    assert report.foreign == ("manual-123",)
    assert all(a.client_order_id != "manual-123" for a in decision.actions)


def test_reconcile_our_order_unknown_locally_is_cancelled_without_intent() -> None:
    # Arrange: an order with our prefix the book does not know, and no journal entry.
    state, venue = _running()
    stray = encode_cid(state.params.strategy_id, -7, Side.BUY, 9)
    venue.orders[stray] = PaperOrder(stray, Side.BUY, P0 - 7 * SP, 100)

    # Act
    decision, report = reconcile(state, _snapshot(venue))

    # Assert
    assert report.unknown_ours == (stray,)
    assert [a.client_order_id for a in decision.actions if isinstance(a, CancelOrder)] == [stray]


def test_reconcile_our_journaled_order_for_a_free_slot_is_adopted() -> None:
    # Arrange: the book lost track of the order its free slot would send; the journal has it.
    state, venue = _running()
    order = max(venue.open(), key=lambda o: o.price)
    slot = state.slots[order.price]
    freed = replace(
        slot,
        order=OrderState.NONE,
        order_cid="",
        order_side=None,
        order_price_ticks=Ticks(0),
        order_qty_steps=Steps(0),
    )
    state = replace(state, slots={**state.slots, order.price: freed})
    snapshot = replace(_snapshot(venue), journaled=frozenset({order.cid}))

    # Act
    decision, report = reconcile(state, snapshot)

    # Assert
    assert report.unknown_ours == (order.cid,)
    adopted = decision.state.slots[order.price]
    assert (adopted.order, adopted.order_cid) == (OrderState.OPEN, order.cid)
    assert not any(a.client_order_id == order.cid for a in decision.actions)


# --- invariants under shuffled, duplicated and dropped fills ----------------------------------


@settings(max_examples=100)
@given(st.lists(st.integers(min_value=-6, max_value=6), min_size=1, max_size=30), st.randoms())
def test_reconcile_applies_each_fill_once_whatever_the_delivery(moves, rnd) -> None:
    # Arrange: fills happen while we are away; the snapshot repeats some.
    state, venue = _running()
    fills: list[Fill] = []
    for move in moves:
        fills.extend(venue.trade(P0 + move * SP, None))
    delivered = fills + [f for f in fills if rnd.random() < 0.3]  # duplicates
    rnd.shuffle(delivered)  # pages overlapping and out of order

    # Act
    decision, report = reconcile(state, _snapshot(venue, tuple(delivered), state=state))

    # Assert: balances are exactly the venue's; every fill counted once.
    assert decision.state.fills == state.fills + len(fills)
    assert (decision.state.base_steps, decision.state.quote_atoms) == (venue.base, venue.quote)
    assert sorted(report.ghost_fills) == sorted(f.trade_id for f in fills)


@settings(max_examples=100)
@given(st.lists(st.integers(min_value=-6, max_value=6), min_size=1, max_size=30))
def test_reconcile_is_deterministic(moves) -> None:
    state, venue = _running()
    fills: list[Fill] = []
    for move in moves:
        fills.extend(venue.trade(P0 + move * SP, None))
    snapshot = _snapshot(venue, tuple(fills))
    assert reconcile(state, snapshot) == reconcile(state, snapshot)


@settings(max_examples=100)
@given(st.lists(st.integers(min_value=-6, max_value=6), min_size=1, max_size=30), st.data())
def test_reconcile_never_leaves_two_live_orders_on_a_level_and_side(moves, data) -> None:
    # Arrange: some of the venue's orders vanish (dropped from the snapshot).
    state, venue = _running()
    fills: list[Fill] = []
    for move in moves:
        fills.extend(venue.trade(P0 + move * SP, None))
    orders = _as_venue_orders(venue)
    kept = tuple(o for o in orders if data.draw(st.booleans()))

    # Act
    decision, _ = reconcile(state, Snapshot(open_orders=kept, fills=tuple(fills), ts_event=1))

    # Assert
    live = [
        (s.order_price_ticks, s.order_side)
        for s in decision.state.slots.values()
        if s.has_live_order
    ]
    assert len(live) == len(set(live))


def test_reconcile_divergence_above_the_limit_trips_before_anything_is_planned() -> None:
    # Arrange: three of our open orders vanished at the venue; the limit is two.
    from gridmaker.core.risk import BreakerState, RiskParams, Trigger

    state, venue = _running()
    state = replace(state, risk_params=RiskParams(divergence_limit=2))
    for order in sorted(venue.open(), key=lambda o: o.price)[:3]:
        order.is_open = False

    # Act
    decision, report = reconcile(state, _snapshot(venue, state=state))

    # Assert: tripped, the zombies' slots are not re-placed, nothing new is bought.
    assert len(report.zombies) == 3
    assert decision.state.risk.breaker is BreakerState.REDUCING
    assert decision.state.risk.trigger == Trigger.DIVERGENCE
    assert not [a for a in decision.actions if isinstance(a, PlaceOrder) and a.side is Side.BUY]


def test_reconcile_divergence_within_the_limit_does_not_trip() -> None:
    from gridmaker.core.risk import RiskParams

    state, venue = _running()
    state = replace(state, risk_params=RiskParams(divergence_limit=2))
    sorted(venue.open(), key=lambda o: o.price)[0].is_open = False
    decision, _ = reconcile(state, _snapshot(venue, state=state))
    assert decision.state.risk.is_active
