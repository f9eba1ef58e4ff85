"""Reshaping a running grid, case by case (``core.reshape``): what is kept, moved, refused."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from gridmaker.core.decide import decide
from gridmaker.core.events import Fill, OrderStatus, OrderUpdate, Reconfigure, Side
from gridmaker.core.grid import GridKind, GridSpec
from gridmaker.core.ids import decode_cid
from gridmaker.core.planning import is_parked
from gridmaker.core.reshape import reshape_problems
from gridmaker.core.risk import RiskParams
from gridmaker.core.slots import OrderState, Slot
from gridmaker.core.state import GridMode, GridState, StrategyParams
from gridmaker.core.units import Atoms, Steps, Ticks, notional_atoms
from tests import kit
from tests.unit.core.paper_book import P0, SP, PaperBook, answer, cancels, live, places, tick

LONG = kit.params(mode=GridMode.LONG)


def _running(grid: GridSpec | None = None, params: StrategyParams = LONG) -> PaperBook:
    """A long book started at P0 on the paper venue, every order acknowledged."""
    book = PaperBook.of(kit.state(base="0", grid_=grid or kit.grid(), params_=params))
    book.trade(P0)
    return book


def _change(
    state: GridState,
    grid: GridSpec | None = None,
    params: StrategyParams | None = None,
    allow_loss: bool = False,
) -> Reconfigure:
    return Reconfigure(
        symbol=state.symbol,
        grid=grid or state.grid,
        params=params or state.params,
        risk_params=RiskParams(),
        allow_loss=allow_loss,
        ts_event=0,
    )


def _bought_one_level_down(book: PaperBook, spacing: int = SP) -> None:
    """The price falls one level: that level's buy fills and its sell goes up at P0."""
    book.trade(P0 - spacing)
    assert book.state.slots[P0 - spacing].position_steps == 100


WIDE = 50_000
"""A 1 % spacing: half of it still pays the fees of a round trip."""


def test_reshape_same_settings_changes_no_order() -> None:
    # Arrange
    book = _running()
    _bought_one_level_down(book)
    before = live(book.state)

    # Act
    sent = book.apply(_change(book.state))

    # Assert
    assert sent == []
    assert live(book.state) == before


def test_reshape_wider_range_keeps_every_order_and_buys_the_new_levels() -> None:
    # Arrange
    book = _running()
    _bought_one_level_down(book)
    before = live(book.state)

    # Act
    sent = book.apply(_change(book.state, kit.grid(min_level=-25, max_level=25)))

    # Assert: nothing cancelled; the five new levels below buy
    assert cancels(sent) == []
    assert {cid: before[cid] for cid in before} == {cid: live(book.state)[cid] for cid in before}
    assert sorted(p.price_ticks for p in places(sent)) == [P0 - k * SP for k in range(25, 20, -1)]
    assert all(p.side is Side.BUY for p in places(sent))


def test_reshape_halved_spacing_keeps_every_buy_and_reprices_the_sell() -> None:
    # Arrange: buys at every level below, one sell at P0 for the level bought a level down
    book = _running(kit.grid(spacing_ticks=WIDE))
    _bought_one_level_down(book, WIDE)
    before = live(book.state)
    sell = next(cid for cid, (side, _) in before.items() if side is Side.SELL)
    book.hold = True

    # Act
    grid = kit.grid(spacing_ticks=WIDE // 2, min_level=-40, max_level=40)
    sent = book.apply(_change(book.state, grid))

    # Assert: every buy kept under its id; only the sell is cancelled, nothing placed below it
    assert [c.client_order_id for c in cancels(sent)] == [sell]
    kept = {cid: v for cid, v in before.items() if cid != sell}
    assert {cid: live(book.state)[cid] for cid in kept} == kept
    assert {p.side for p in places(sent)} <= {Side.BUY}


def test_reshape_repriced_sell_is_placed_again_once_its_cancel_is_confirmed() -> None:
    # Arrange
    book = _running(kit.grid(spacing_ticks=WIDE))
    _bought_one_level_down(book, WIDE)
    book.hold = True
    grid = kit.grid(spacing_ticks=WIDE // 2, min_level=-40, max_level=40)
    sent = book.apply(_change(book.state, grid))
    (cancel,) = cancels(sent)
    slot = book.state.slots[P0 - WIDE]
    assert slot.order is OrderState.CANCELLING and not [
        p for p in places(sent) if p.side is Side.SELL
    ]

    # Act: the venue confirms the cancel
    book.pending.clear()
    after = decide(book.state, answer(book.state, cancel.client_order_id, OrderStatus.CANCELED))

    # Assert: the same inventory offered at the new sell price, under a fresh id
    (again,) = places(after.actions)
    assert (again.side, again.price_ticks, again.qty_steps) == (Side.SELL, P0 - WIDE // 2, 100)
    assert again.client_order_id != cancel.client_order_id


def test_reshape_doubled_spacing_keeps_common_prices_and_cancels_the_rest() -> None:
    # Arrange
    book = _running()
    before = live(book.state)

    # Act
    sent = book.apply(_change(book.state, kit.grid(spacing_ticks=2 * SP, min_level=-10)))

    # Assert: buys at even levels kept; buys at odd levels cancelled (their slots forgotten)
    even = {cid for cid, (_, price) in before.items() if (P0 - price) % (2 * SP) == 0}
    assert sorted(c.client_order_id for c in cancels(sent)) == sorted(set(before) - even)
    assert set(live(book.state)) == even
    assert places(sent) == []
    assert all(s.buy_ticks % (2 * SP) == 0 for s in book.state.slots.values())


def test_reshape_reindexed_level_keeps_its_order_and_later_ids_are_fresh() -> None:
    # Arrange: the same prices, the anchor moved down 3 levels, so every level index moves
    book = _running()
    _bought_one_level_down(book)
    before = live(book.state)
    grid = kit.grid(anchor_ticks=P0 - 3 * SP, min_level=-17, max_level=23)

    # Act
    sent = book.apply(_change(book.state, grid))
    book.trade(P0)  # the sell kept under its old id fills, and the level buys again

    # Assert
    assert sent == []
    assert live(book.state).keys() >= before.keys() - {book.actions[-2].client_order_id}
    assert (book.state.completed_cycles, book.state.anomalies) == (1, 0)
    buy = places(book.actions)[-1]
    decoded = decode_cid(buy.client_order_id)
    assert (buy.side, buy.price_ticks) == (Side.BUY, P0 - SP)
    assert decoded is not None and decoded.level == 2 and decoded.cycle >= 1
    used = [p.client_order_id for p in places(book.actions)]
    assert len(used) == len(set(used))


def test_reshape_removed_level_hands_its_inventory_to_a_level_that_recovers_its_cost() -> None:
    # Arrange: a lot bought at P0 - SP; the new grid's prices are all off by half a level
    book = _running()
    _bought_one_level_down(book)
    lot = book.state.slots[P0 - SP]
    owed = lot.cost_atoms
    grid = kit.grid(anchor_ticks=P0 + SP // 2)

    # Act
    book.apply(_change(book.state, grid))

    # Assert: one sell of the lot, at the lowest sell price of the new grid that recovers it
    sells = [p for p in places(book.actions) if p.side is Side.SELL]
    fee = book.state.instrument.fee

    def net(price: int) -> int:
        return notional_atoms(price, 100) - fee(price, 100)

    assert [(p.price_ticks, p.qty_steps) for p in sells[1:]] == [(P0 + 3 * SP // 2, 100)]
    assert net(sells[-1].price_ticks) >= owed > net(sells[-1].price_ticks - SP)
    assert P0 - SP not in book.state.slots
    holder = book.state.slots[P0 + SP // 2]
    assert (holder.position_steps, holder.cost_atoms) == (100, owed)


NO_RECOVERING_LEVEL = GridSpec(
    kind=GridKind.ARITHMETIC,
    anchor_ticks=P0 - 4_000,
    spacing_ticks=3_000,
    min_level=-3,
    max_level=2,
)
"""Without P0 - SP; its free levels (above 4,995,000) sell at 4,999,000 and 5,002,000, both
below what a lot bought at P0 - SP cost (5,005,000 with fees both ways)."""


def test_reshape_lot_without_a_recovering_level_is_refused_and_the_book_unchanged() -> None:
    # Arrange
    book = _running()
    _bought_one_level_down(book)
    state = book.state
    change = _change(state, NO_RECOVERING_LEVEL)

    # Act
    problems = reshape_problems(state, change)
    decision = decide(state, change)

    # Assert
    assert problems and "allow_loss" in problems[0] and str(P0 - SP) in problems[0]
    assert decision.state == state and decision.actions == ()


def test_reshape_lot_without_a_recovering_level_moves_when_loss_is_allowed() -> None:
    # Arrange
    book = _running()
    _bought_one_level_down(book)
    change = _change(book.state, NO_RECOVERING_LEVEL, allow_loss=True)

    # Act
    sent = book.apply(change)

    # Assert: the lot goes to the highest free level, the nearest to its cost
    sells = [p for p in places(sent) if p.side is Side.SELL]
    assert [(p.price_ticks, p.qty_steps) for p in sells] == [(P0 + 2_000, 100)]
    assert book.state.loss_allowed


def test_reshape_kept_sell_repriced_below_its_cost_is_refused() -> None:
    # Arrange
    book = _running()
    _bought_one_level_down(book)
    grid = kit.grid(spacing_ticks=SP // 5, min_level=-100, max_level=100)

    # Act
    problems = reshape_problems(book.state, _change(book.state, grid))
    allowed = reshape_problems(book.state, _change(book.state, grid, allow_loss=True))

    # Assert
    assert len(problems) == 1 and "would not recover" in problems[0]
    assert allowed == []


def test_reshape_strategy_mode_or_trailing_change_is_refused_and_the_book_unchanged() -> None:
    # Arrange
    book = _running()
    _bought_one_level_down(book)
    state = book.state
    changes = {
        "strategy_id": replace(LONG, strategy_id="t2"),
        "mode": replace(LONG, mode=GridMode.NEUTRAL),
        "trailing": replace(LONG, trailing=True, buy_levels=3, sell_levels=3),
    }

    for field, params in changes.items():
        # Act
        change = _change(state, params=params)
        decision = decide(state, change)

        # Assert
        problems = reshape_problems(state, change)
        assert len(problems) == 1 and field in problems[0]
        assert decision.state is state and decision.actions == ()


def test_reshape_trailing_grid_keeps_the_sells_its_window_left_behind() -> None:
    # Arrange: a trailing long grid buys on the way down; the window leaves the sells above
    params = replace(LONG, trailing=True, buy_levels=3, sell_levels=2)
    book = _running(kit.grid(min_level=None, max_level=None), params)
    for k in range(1, 8):
        book.trade(P0 - k * SP)
    behind = {
        cid: v
        for cid, v in live(book.state).items()
        if v[0] is Side.SELL and not _slot(book.state, cid).is_engaged
    }
    assert behind

    # Act: the same grid, a smaller order size
    sent = book.apply(_change(book.state, params=replace(params, order_qty_steps=Steps(50))))

    # Assert
    assert sent == []
    assert {cid: live(book.state)[cid] for cid in behind} == behind


def _slot(state: GridState, cid: str) -> Slot:
    return next(s for s in state.slots.values() if s.order_cid == cid)


def test_reshape_retired_sell_that_fills_before_its_cancel_books_the_round_trip() -> None:
    # Arrange: the lot's sell at P0 is being cancelled by a reshape when the price reaches it
    book = _running()
    _bought_one_level_down(book)
    state = decide(book.state, _change(book.state, kit.grid(anchor_ticks=P0 + SP // 2))).state
    slot = state.slots[P0 - SP]
    assert slot.retiring and slot.order is OrderState.CANCELLING
    fee = state.instrument.fee(P0, 100)
    fill = Fill(
        symbol=state.symbol,
        trade_id="late",
        client_order_id=slot.order_cid,
        side=Side.SELL,
        price_ticks=Ticks(P0),
        qty_steps=Steps(100),
        fee_atoms=Atoms(fee),
        ts_event=0,
    )

    # Act
    after = decide(state, fill).state

    # Assert: the round trip counts, and the level is forgotten
    expected = notional_atoms(P0, 100) - fee - slot.cost_atoms
    assert after.realized_pnl_atoms == state.realized_pnl_atoms + expected
    assert after.completed_cycles == state.completed_cycles + 1
    assert P0 - SP not in after.slots


def test_reshape_keeps_the_round_trip_of_a_level_the_window_left_before_its_sell_filled() -> None:
    # Arrange: a trailing grid; the price jumps two levels up through a level's sell, which
    # leaves that level outside the window as its sell fills
    params = replace(LONG, trailing=True, buy_levels=2, sell_levels=1)
    book = _running(kit.grid(min_level=None, max_level=None), params)
    book.trade(P0 - SP)
    cost = book.state.slots[P0 - SP].cost_atoms
    book.trade(P0 + 2 * SP)
    (fill,) = [f for f in book.venue.orders.values() if f.side is Side.SELL]
    trip = notional_atoms(P0, 100) - book.state.instrument.fee(P0, 100) - cost
    booked = (book.state.completed_cycles, book.state.realized_pnl_atoms)
    assert fill.filled == 100 and not book.state.slots[P0 - SP].is_engaged

    # Act
    book.apply(_change(book.state))

    # Assert: booked when the sell filled, and still there after the reshape
    assert booked == (1, trip)
    assert (book.state.completed_cycles, book.state.realized_pnl_atoms) == (1, trip)


def test_reshape_back_before_a_retired_cancel_lands_never_reuses_a_client_id() -> None:
    # Arrange: a reshape retires the buy at P0 - SP (its cancel still in flight) and gives
    # level -1 to a new price, whose buy is sent under a fresh cycle
    book = _running(kit.grid(min_level=-6, max_level=6))
    book.hold = True
    ratio = GridSpec(kind=GridKind.GEOMETRIC, anchor_ticks=P0, ratio=Decimal("1.001"))
    book.apply(_change(book.state, replace(ratio, min_level=-1, max_level=1)))
    assert book.state.slots[P0 - SP].retiring

    # Act: back to the first prices before the venue answers anything, then every answer
    book.apply(_change(book.state, kit.grid(min_level=-1, max_level=1)))
    book.hold = False
    book.drain()

    # Assert: level -1 at P0 - SP buys again, under an id no order had before
    sent = [p.client_order_id for p in places(book.actions)]
    assert len(sent) == len(set(sent))
    assert live(book.state).get(book.state.slots[P0 - SP].order_cid) == (Side.BUY, P0 - SP)


def test_reshape_sell_still_being_placed_is_repriced_when_its_ack_arrives() -> None:
    # Arrange: a buy fills; its sell is sent, and the reshape arrives before the venue's ack
    book = _running(kit.grid(spacing_ticks=WIDE))
    fills = book.venue.trade(P0 - WIDE, None)
    book.step(tick(book.state, P0 - WIDE))
    book.drain()
    for fill in fills:
        book.step(fill)
    (ack,) = list(book.pending)
    assert isinstance(ack, OrderUpdate)
    book.pending.clear()
    grid = kit.grid(spacing_ticks=WIDE // 2, min_level=-40, max_level=40)
    state = decide(book.state, _change(book.state, grid)).state
    sell = state.slots[P0 - WIDE]
    assert (sell.order, sell.order_price_ticks) == (OrderState.PLACING, P0)

    # Act
    acked = decide(state, ack)
    done = decide(acked.state, answer(acked.state, ack.client_order_id, OrderStatus.CANCELED))

    # Assert: cancelled at once, then placed at the new sell price
    assert [c.client_order_id for c in cancels(list(acked.actions))] == [ack.client_order_id]
    assert [(p.side, p.price_ticks) for p in places(list(done.actions))] == [
        (Side.SELL, P0 - WIDE // 2)
    ]


def test_reshape_neutral_new_levels_take_only_base_no_level_holds() -> None:
    # Arrange: a neutral grid whose four levels from P0 up hold all its base (400 steps)
    state = kit.state(base="0.004", quote="1000", grid_=kit.grid(min_level=-6, max_level=6))
    book = PaperBook.of(state)
    book.trade(P0)
    assert sum(s.position_steps for s in book.state.slots.values()) == 400

    # Act: levels three times as wide: two holding levels removed, new ones added above
    sent = book.apply(
        _change(book.state, kit.grid(spacing_ticks=3 * SP, min_level=-2, max_level=3))
    )

    # Assert: nothing handed twice. One lot moves to the one free level (P0 + 6 SP); the
    # other, with no free level to take it, is parked: it sells at its own old sell price
    # under a level of its own, so no inventory is left unoffered
    held = sum(s.position_steps for s in book.state.slots.values())
    assert held == 400 == book.state.base_steps
    (parked,) = [s for s in book.state.slots.values() if s.retiring]
    assert is_parked(parked) and parked.position_steps == 100 and parked.has_live_order
    offered = sorted((o.price, o.qty) for o in book.venue.open() if o.side is Side.SELL)
    assert offered == sorted(
        [(P0 + 3 * SP, 100), (P0 + 6 * SP, 100), (P0 + 9 * SP, 100), (parked.sell_ticks, 100)]
    )
    assert cancels(sent) and places(sent)


def test_reshape_fill_after_its_retired_orders_cancel_still_moves_the_balances() -> None:
    # Arrange: a held level's sell is retired by a change; the venue confirms the cancel, and
    # only then reports 40 of it filled just before (its lot was handed on meanwhile)
    book = PaperBook.of(
        kit.state(base="0", grid_=kit.grid(), params_=kit.params(mode=GridMode.LONG))
    )
    book.trade(P0)
    book.trade(P0 - SP)
    cid = book.state.slots[P0 - SP].order_cid
    grid = kit.grid(anchor_ticks=P0 + SP // 2, min_level=0, max_level=10)
    state = decide(book.state, _change(book.state, grid, allow_loss=True)).state
    state = decide(state, answer(state, cid, OrderStatus.CANCELED)).state
    held = sum(s.position_steps for s in state.slots.values()) + state.dust_steps
    fill = Fill(
        symbol=state.symbol,
        client_order_id=cid,
        trade_id="late",
        side=Side.SELL,
        price_ticks=Ticks(P0),
        qty_steps=Steps(40),
        fee_atoms=Atoms(0),
        ts_event=0,
    )

    # Act
    after = decide(state, fill).state

    # Assert: the sale left the account: base, quote and the inventory the levels hold follow
    assert after.base_steps == state.base_steps - 40
    assert after.quote_atoms == state.quote_atoms + notional_atoms(P0, 40)
    assert sum(s.position_steps for s in after.slots.values()) + after.dust_steps == held - 40
    assert after.anomalies == state.anomalies + 1


def test_reshape_parked_lot_whose_sell_the_venue_ends_waits_for_the_next_level() -> None:
    # Arrange: the parked lot of the neutral case; the venue ends its sell (an expiry)
    state = kit.state(base="0.004", quote="1000", grid_=kit.grid(min_level=-6, max_level=6))
    book = PaperBook.of(state)
    book.trade(P0)
    book.apply(_change(book.state, kit.grid(spacing_ticks=3 * SP, min_level=-2, max_level=3)))
    (parked,) = [s for s in book.state.slots.values() if s.retiring]
    assert is_parked(parked) and parked.order is OrderState.OPEN

    # Act
    ended = decide(book.state, answer(book.state, parked.order_cid, OrderStatus.CANCELED))

    # Assert: not sent again at once into the market that ended it (no loop of new ids);
    # the lot is still held, offered again at the next level or fill
    assert places(list(ended.actions)) == []
    again = ended.state.slots[parked.buy_ticks]
    assert again.position_steps == parked.position_steps and not again.has_live_order
