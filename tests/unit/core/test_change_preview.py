"""``preview_change`` and ``preview_new_grid``: what a change or a start would send."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from gridmaker.core.change_preview import preview_change, preview_new_grid
from gridmaker.core.decide import decide
from gridmaker.core.events import (
    Event,
    Fill,
    OrderStatus,
    OrderUpdate,
    PlaceOrder,
    PriceTick,
    Reconfigure,
    Side,
)
from gridmaker.core.grid import GridKind, GridSpec, GridTemplate
from gridmaker.core.risk import RiskParams
from gridmaker.core.setup import BookSetup
from gridmaker.core.slots import OrderEvent, transition
from gridmaker.core.state import GridMode, GridState
from gridmaker.core.units import Atoms, Steps, Ticks
from tests import kit

P0 = 5_000_000
WIDE = 15_000  # 0.3 %: more than two 0.1 % fees


def _answered(state: GridState, event: Event) -> GridState:
    """``event`` decided, and every order it places acknowledged by the venue."""
    decision = decide(state, event)
    state = decision.state
    for action in decision.actions:
        assert isinstance(action, PlaceOrder)
        ack = OrderUpdate(
            symbol=state.symbol,
            client_order_id=action.client_order_id,
            status=OrderStatus.OPEN,
            filled_steps=Steps(0),
            ts_event=1,
        )
        state = decide(state, ack).state
    return state


def _tick(price: int) -> PriceTick:
    return PriceTick(symbol="BTC/USDT", price_ticks=Ticks(price), qty_steps=Steps(0), ts_event=1)


def _running(mode: GridMode = GridMode.NEUTRAL) -> GridState:
    """Levels -5..5 at 0.3 % around 50,000, started there, every order open at the venue."""
    state = kit.state(
        grid_=kit.grid(spacing_ticks=WIDE, min_level=-5, max_level=5),
        params_=kit.params(mode=mode),
    )
    return _answered(state, _tick(P0))


def _change(state: GridState, *, spacing_ticks: int, min_level: int, max_level: int) -> Reconfigure:
    spec = GridSpec(
        kind=GridKind.ARITHMETIC,
        anchor_ticks=P0,
        spacing_ticks=spacing_ticks,
        min_level=min_level,
        max_level=max_level,
    )
    return Reconfigure(
        symbol=state.symbol,
        grid=spec,
        params=state.params,
        risk_params=RiskParams(),
        allow_loss=False,
        ts_event=2,
    )


def _live(state: GridState) -> dict[str, int]:
    """Client id -> price of every live order."""
    return {s.order_cid: s.order_price_ticks for s in state.slots.values() if s.has_live_order}


def test_preview_change_wider_range_keeps_every_old_order() -> None:
    # Arrange
    state = _running()
    before = _live(state)

    # Act
    preview = preview_change(state, _change(state, spacing_ticks=WIDE, min_level=-8, max_level=8))

    # Assert
    assert preview.allowed
    assert set(preview.kept) == set(before) and len(before) == 10
    assert preview.cancels == ()
    assert preview.added == tuple(P0 + n * WIDE for n in (-8, -7, -6, 5, 6, 7))
    assert preview.removed == () and preview.repriced == ()
    placed = {(o.side, o.price_ticks) for o in preview.places}
    assert placed == {(Side.BUY, P0 + n * WIDE) for n in (-8, -7, -6)} | {
        (Side.SELL, P0 + n * WIDE) for n in (6, 7, 8)
    }


def test_preview_change_order_being_cancelled_is_not_kept() -> None:
    # Arrange: the venue has not yet confirmed the cancel of the buy at 49,850.
    state = _running()
    slot = state.slots[P0 - WIDE]
    going = transition(slot, OrderEvent.CANCEL_SENT)
    state = replace(state, slots={**state.slots, slot.buy_ticks: going})

    # Act
    preview = preview_change(state, _change(state, spacing_ticks=WIDE, min_level=-8, max_level=8))

    # Assert
    assert slot.order_cid not in preview.kept
    assert len(preview.kept) == 9


def test_preview_change_half_spacing_keeps_orders_on_common_prices() -> None:
    # Arrange: every old price is a price of the new grid; the sells' prices move down.
    state = _running()
    buys = {c for c, s in _live_sides(state).items() if s is Side.BUY}
    sells = {c for c, s in _live_sides(state).items() if s is Side.SELL}

    # Act
    preview = preview_change(
        state, _change(state, spacing_ticks=WIDE // 2, min_level=-10, max_level=10)
    )

    # Assert: the buys stay where they are; each held level re-places its sell half as far up.
    assert preview.allowed
    assert set(preview.kept) == buys
    assert set(preview.cancels) == sells
    assert len(preview.repriced) == 10 and preview.removed == ()
    assert all(r.new_sell_ticks == r.buy_ticks + WIDE // 2 for r in preview.repriced)
    assert preview.book is not None
    assert set(_live(preview.book)) == set(preview.kept) | {o.cid for o in preview.places}


def _live_sides(state: GridState) -> dict[str, Side | None]:
    return {s.order_cid: s.order_side for s in state.slots.values() if s.has_live_order}


def test_preview_change_removed_level_holding_inventory_shows_its_lot_moving() -> None:
    # Arrange: a long grid whose level -1 bought and now sells at 50,000.
    state = _answered(_running(GridMode.LONG), _tick(P0 - WIDE))
    level = state.slots[P0 - WIDE]
    fill = Fill(
        symbol=state.symbol,
        trade_id="t1",
        client_order_id=level.order_cid,
        side=Side.BUY,
        price_ticks=Ticks(P0 - WIDE),
        qty_steps=Steps(100),
        fee_atoms=Atoms(0),
        ts_event=3,
    )
    state = _answered(state, fill)
    lot = state.slots[P0 - WIDE]
    assert lot.position_steps == 100 and lot.order_side is Side.SELL

    # Act: the new grid starts at 50,000; level -1 and those below are gone.
    preview = preview_change(state, _change(state, spacing_ticks=WIDE, min_level=0, max_level=5))

    # Assert: its sell is cancelled, and its lot goes to 50,000, which sells at 50,150.
    assert preview.allowed
    assert lot.order_cid in preview.cancels
    (move,) = preview.moves
    assert (move.from_ticks, move.to_ticks, move.qty_steps) == (P0 - WIDE, P0, 100)
    assert move.cost_atoms == lot.cost_atoms
    assert any(o.side is Side.SELL and o.price_ticks == P0 + WIDE for o in preview.places)


def test_preview_change_refused_change_shows_only_its_problems() -> None:
    # Arrange
    state = _running()
    change = replace(
        _change(state, spacing_ticks=WIDE, min_level=-5, max_level=5),
        params=replace(state.params, strategy_id="other"),
    )

    # Act
    preview = preview_change(state, change)

    # Assert
    assert not preview.allowed
    assert any("strategy_id" in p for p in preview.problems)
    assert preview.places == () and preview.cancels == () and preview.book is None


def test_preview_change_narrow_spacing_and_small_orders_are_flagged() -> None:
    # Arrange: 0.1 % spacing is two maker fees; 0.00009 BTC is under 5 USDT at any level.
    state = _running()
    change = replace(
        _change(state, spacing_ticks=5_000, min_level=-15, max_level=15),
        params=replace(state.params, order_qty_steps=Steps(9)),
        allow_loss=True,  # the held levels' new sells are too close to recover their cost
    )

    # Act
    preview = preview_change(state, change)

    # Assert
    assert preview.economics is not None
    e = preview.economics
    assert e.round_trip_fee_ppm == 2_000 and e.narrowest_spacing_ppm < 1_000
    assert len(e.thin_levels) == 30
    assert len(e.below_minimum) == 30


def _setup(**template: object) -> BookSetup:
    fields: dict[str, object] = {
        "kind": GridKind.ARITHMETIC,
        "spacing_ticks": WIDE,
        "buy_levels": 5,
        "sell_levels": 5,
    }
    fields.update(template)
    return BookSetup(
        symbol="BTC/USDT",
        params=kit.params(),
        template=GridTemplate(**fields),  # type: ignore[arg-type]
    )


def test_preview_new_grid_places_what_the_first_price_places() -> None:
    # Arrange
    inst = kit.instrument()
    setup = _setup()
    base, quote = inst.to_steps(Decimal(1)), inst.to_atoms(Decimal(100_000))

    # Act
    preview = preview_new_grid(setup, inst, P0, base, quote)

    # Assert: five buys below, five sells above (neutral), enough of both, fees covered.
    assert preview.allowed
    sides = [o.side for o in preview.places]
    assert sides.count(Side.BUY) == 5 and sides.count(Side.SELL) == 5
    assert preview.economics is not None
    assert preview.economics.working_buys == 5
    reserve = sum(
        o.price_ticks * o.qty_steps * 1_001_000 for o in preview.places if o.side is Side.BUY
    )
    assert preview.economics.buy_reserve_atoms == reserve
    assert preview.economics.base_held_steps == 500


def test_preview_new_grid_names_the_preflight_refusals() -> None:
    # Arrange: 0.1 % spacing, and far too little quote for the buys.
    inst = kit.instrument()

    # Act
    preview = preview_new_grid(_setup(spacing_ticks=5_000), inst, P0, 0, inst.to_atoms(Decimal(10)))

    # Assert
    assert not preview.allowed
    assert any("round-trip fees" in p for p in preview.problems)
    assert any("buys need" in p for p in preview.problems)


def test_preview_new_grid_with_a_trigger_is_centred_on_it() -> None:
    # Arrange
    inst = kit.instrument()
    setup = replace(_setup(), trigger_ticks=P0 + 10 * WIDE)

    # Act
    preview = preview_new_grid(setup, inst, P0, 100_000, inst.to_atoms(Decimal(100_000)))

    # Assert: the grid is built around the trigger, where it starts.
    assert preview.anchor_ticks == P0 + 10 * WIDE
    assert min(o.price_ticks for o in preview.places) == P0 + 5 * WIDE
