from __future__ import annotations

from collections import Counter
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from gridmaker.core.decide import decide
from gridmaker.core.events import (
    CancelOrder,
    OrderStatus,
    OrderUpdate,
    PlaceOrder,
    PriceTick,
    Side,
)
from gridmaker.core.grid import GridKind
from gridmaker.core.ids import decode_cid
from gridmaker.core.slots import OrderState, Phase
from gridmaker.core.state import GridMode, GridState
from gridmaker.core.units import Steps, Ticks
from tests import kit
from tests.kit.venue import PaperVenue, run_session

P0 = 5_000_000
SP = 5_000


def _tick(state: GridState, price: int) -> PriceTick:
    return PriceTick(symbol=state.symbol, price_ticks=Ticks(price), qty_steps=Steps(1), ts_event=0)


def _venue(state: GridState) -> PaperVenue:
    return PaperVenue(state.instrument, state.base_steps, state.quote_atoms)


def test_neutral_start_places_buys_below_and_sells_above() -> None:
    # Arrange
    state = kit.state()

    # Act
    decision = decide(state, _tick(state, P0))

    # Assert
    places = [a for a in decision.actions if isinstance(a, PlaceOrder)]
    buys = sorted(a.price_ticks for a in places if a.side is Side.BUY)
    sells = sorted(a.price_ticks for a in places if a.side is Side.SELL)
    assert buys == [P0 - k * SP for k in range(20, 0, -1)]
    assert sells == [P0 + k * SP for k in range(1, 21)]
    assert all(s.order is OrderState.PLACING for s in decision.state.slots.values())


def test_long_start_places_only_buys() -> None:
    state = kit.state(params_=kit.params(mode=GridMode.LONG))
    decision = decide(state, _tick(state, P0))
    assert {a.side for a in decision.actions if isinstance(a, PlaceOrder)} == {Side.BUY}
    assert len(decision.actions) == 20


def test_neutral_start_without_base_places_no_sells() -> None:
    state = kit.state(base="0")
    decision = decide(state, _tick(state, P0))
    assert all(a.side is Side.BUY for a in decision.actions if isinstance(a, PlaceOrder))


def test_buys_stop_where_quote_runs_out() -> None:
    # 50 USDT per order + 0.1 % fee: 120 USDT pays for two buys, not three.
    state = kit.state(quote="120", base="0")
    decision = decide(state, _tick(state, P0))
    places = [a for a in decision.actions if isinstance(a, PlaceOrder)]
    assert [a.price_ticks for a in places] == [P0 - SP, P0 - 2 * SP]


def test_filled_buy_is_answered_by_a_sell_one_level_up() -> None:
    # Arrange
    state = kit.state()
    venue = _venue(state)
    state, _ = run_session(state, venue, [(P0, None)])

    # Act
    state, actions = run_session(state, venue, [(P0 - SP, None)])

    # Assert
    assert [(a.side, a.price_ticks) for a in actions if isinstance(a, PlaceOrder)] == [
        (Side.SELL, P0)
    ]
    assert state.buy_fills == 1


def test_round_trip_realizes_spacing_minus_fees_and_buys_back() -> None:
    # Arrange
    state = kit.state(params_=kit.params(mode=GridMode.LONG))
    venue = _venue(state)
    state, _ = run_session(state, venue, [(P0, None), (P0 - SP, None)])

    # Act
    state, actions = run_session(state, venue, [(P0, None)])

    # Assert: bought 0.001 at 49,950, sold at 50,000; fees 0.04995 + 0.05.
    inst = state.instrument
    assert inst.from_atoms(state.realized_pnl_atoms) == Decimal("0.05") - Decimal("0.09995")
    assert state.completed_cycles == 1
    buy_back = [a for a in actions if isinstance(a, PlaceOrder)]
    assert [(a.side, a.price_ticks) for a in buy_back] == [(Side.BUY, P0 - SP)]
    assert decode_cid(buy_back[0].client_order_id).cycle == 1  # type: ignore[union-attr]


def test_partial_fill_waits_for_the_rest_before_selling() -> None:
    # Arrange
    state = kit.state(params_=kit.params(mode=GridMode.LONG))
    venue = _venue(state)
    state, _ = run_session(state, venue, [(P0, None)])

    # Act: 40 of 100 steps, then the remaining 60.
    state, first = run_session(state, venue, [(P0 - SP, 40)])
    state, second = run_session(state, venue, [(P0 - SP, 60)])

    # Assert
    assert first == []
    assert [(a.side, a.qty_steps) for a in second if isinstance(a, PlaceOrder)] == [
        (Side.SELL, 100)
    ]
    slot = state.slots[P0 - SP]
    assert (slot.phase, slot.position_steps) == (Phase.SELL, 100)


def test_rejected_order_is_not_resent_at_once_and_gets_a_fresh_id() -> None:
    # Arrange
    state = kit.state(params_=kit.params(mode=GridMode.LONG))
    first = decide(state, _tick(state, P0))
    place = first.actions[-1]
    assert isinstance(place, PlaceOrder)

    # Act
    rejected = OrderUpdate(
        symbol=state.symbol,
        client_order_id=place.client_order_id,
        status=OrderStatus.REJECTED,
        filled_steps=Steps(0),
        ts_event=0,
    )
    after = decide(first.state, rejected)
    replanned = decide(after.state, _tick(after.state, P0 + SP))

    # Assert
    assert after.actions == ()
    again = [a for a in replanned.actions if isinstance(a, PlaceOrder) and a.level == place.level]
    assert len(again) == 1 and again[0].client_order_id != place.client_order_id


def test_not_found_order_is_resent_with_the_same_id() -> None:
    # Arrange: an intent recorded, never reached the venue.
    state = kit.state(params_=kit.params(mode=GridMode.LONG))
    first = decide(state, _tick(state, P0))
    place = first.actions[-1]
    assert isinstance(place, PlaceOrder)

    # Act
    gone = OrderUpdate(
        symbol=state.symbol,
        client_order_id=place.client_order_id,
        status=OrderStatus.NOT_FOUND,
        filled_steps=Steps(0),
        ts_event=0,
    )
    after = decide(first.state, gone)

    # Assert
    assert [a.client_order_id for a in after.actions] == [place.client_order_id]


def test_trailing_window_follows_the_price_up_and_cancels_the_lowest_buy() -> None:
    # Arrange
    params = kit.params(mode=GridMode.LONG, trailing=True, buy_levels=3, sell_levels=3)
    state = kit.state(params_=params, grid_=kit.grid(min_level=None, max_level=None))
    venue = _venue(state)
    state, _ = run_session(state, venue, [(P0 + 1, None)])

    # Act
    state, actions = run_session(state, venue, [(P0 + SP + 1, None)])

    # Assert
    cancels = [a for a in actions if isinstance(a, CancelOrder)]
    places = [a for a in actions if isinstance(a, PlaceOrder)]
    assert [c.level for c in cancels] == [-2]
    assert [(p.side, p.price_ticks) for p in places] == [(Side.BUY, P0 + SP)]


def test_geometric_grid_levels_come_from_the_ratio() -> None:
    grid = kit.grid(kind=GridKind.GEOMETRIC, spacing_ticks=0, ratio=Decimal("1.001"))
    state = kit.state(grid_=grid)
    decision = decide(state, _tick(state, P0))
    sells = sorted(a.price_ticks for a in decision.actions if a.side is Side.SELL)  # type: ignore[union-attr]
    assert sells[:2] == [5_005_000, 5_010_005]


# --- properties -----------------------------------------------------------------------------

walks = st.lists(
    st.tuples(
        st.integers(min_value=-3, max_value=3),
        st.one_of(st.none(), st.integers(min_value=1, max_value=250)),
    ),
    min_size=1,
    max_size=120,
)
modes = st.sampled_from(GridMode)


def _trades(steps: list[tuple[int, int | None]]) -> list[tuple[int, int | None]]:
    price = P0
    out: list[tuple[int, int | None]] = [(P0, None)]
    for delta, amount in steps:
        price += delta * SP // 2 + (1 if delta % 2 else 0)
        out.append((price, amount))
    return out


def _small_state(mode: GridMode, trailing: bool) -> GridState:
    grid = kit.grid(min_level=-6, max_level=6)
    if trailing:
        grid = kit.grid(min_level=None, max_level=None)
    params = kit.params(mode=mode, trailing=trailing, buy_levels=4, sell_levels=4)
    return kit.state(base="0.004", quote="400", grid_=grid, params_=params)


@settings(max_examples=150)
@given(walks, modes, st.booleans())
def test_balances_are_conserved_and_match_the_venue(steps, mode, trailing) -> None:
    # Arrange
    state = _small_state(mode, trailing)
    venue = _venue(state)
    base0, quote0 = state.base_steps, state.quote_atoms

    # Act
    state, _ = run_session(state, venue, _trades(steps))

    # Assert: the bot's balances are exactly the venue's, and both moved only by fills.
    assert (state.base_steps, state.quote_atoms) == (venue.base, venue.quote)
    held = sum(s.position_steps for s in state.slots.values()) + state.dust_steps
    assert 0 <= held <= state.base_steps
    bought = sum(o.filled for o in venue.orders.values() if o.side is Side.BUY)
    sold = sum(o.filled for o in venue.orders.values() if o.side is Side.SELL)
    assert state.base_steps == base0 + bought - sold
    assert state.quote_atoms <= quote0 + sum(
        state.instrument.notional(o.price, o.filled) for o in venue.orders.values()
    )


@settings(max_examples=150)
@given(walks, modes, st.booleans())
def test_never_two_live_orders_on_one_level_and_side(steps, mode, trailing) -> None:
    # Arrange
    state = _small_state(mode, trailing)
    venue = _venue(state)

    # Act
    state, _ = run_session(state, venue, _trades(steps))

    # Assert: at the venue and in the book.
    at_venue = Counter(
        (decode_cid(o.cid).level, o.side)  # type: ignore[union-attr]
        for o in venue.open()
    )
    assert all(n == 1 for n in at_venue.values())
    live = Counter(
        (s.order_price_ticks, s.order_side) for s in state.slots.values() if s.has_live_order
    )
    assert all(n == 1 for n in live.values())
    assert {o.cid for o in venue.open()} == {
        s.order_cid for s in state.slots.values() if s.has_live_order
    }


@settings(max_examples=100)
@given(walks, modes, st.booleans())
def test_decide_is_deterministic(steps, mode, trailing) -> None:
    # Arrange
    trades = _trades(steps)
    a, b = _small_state(mode, trailing), _small_state(mode, trailing)

    # Act
    state_a, actions_a = run_session(a, _venue(a), trades)
    state_b, actions_b = run_session(b, _venue(b), trades)

    # Assert
    assert actions_a == actions_b
    assert state_a == state_b


@settings(max_examples=100)
@given(walks)
def test_client_order_ids_are_never_sent_twice(steps) -> None:
    state = _small_state(GridMode.NEUTRAL, True)
    venue = _venue(state)
    run_session(state, venue, _trades(steps))
    placed = [a.client_order_id for a in venue.sent if isinstance(a, PlaceOrder)]
    accepted = [cid for cid in placed if cid in venue.orders]
    assert len(accepted) == len(set(accepted))
