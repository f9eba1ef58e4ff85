"""``build_ledger``: round trips by client id, FIFO for the rest, fees, unrealized, per level."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from gridmaker.core.events import Fill, Side
from gridmaker.core.ids import encode_cid
from gridmaker.core.ledger import Ledger, build_ledger
from gridmaker.core.planning import LIQUIDATION_LEVEL
from gridmaker.core.units import Instrument, Steps, Ticks, notional_atoms

INST = Instrument(
    symbol="BTC/USDT",
    base="BTC",
    quote="USDT",
    tick_size=Decimal("0.01"),
    step_size=Decimal("0.001"),
    maker_fee=Decimal("0.001"),
)
START = 10_000
_seq = iter(range(1, 10_000))


def fill(
    side: Side,
    level: int,
    cycle: int,
    price: int,
    qty: int,
    *,
    strategy: str = "g1",
    cid: str | None = None,
    trade_id: str | None = None,
    ts: int | None = None,
) -> Fill:
    n = next(_seq)
    return Fill(
        symbol=INST.symbol,
        trade_id=trade_id or str(n),
        client_order_id=cid or encode_cid(strategy, level, side, cycle),
        side=side,
        price_ticks=Ticks(price),
        qty_steps=Steps(qty),
        fee_atoms=INST.fee(price, qty),
        ts_event=n if ts is None else ts,
    )


def ledger(fills: list[Fill], last: int = START) -> Ledger:
    return build_ledger(
        fills, strategy_id="g1", instrument=INST, start_price_ticks=START, last_price_ticks=last
    )


def cost(price: int, qty: int) -> int:
    return notional_atoms(price, qty) + INST.fee(price, qty)


def proceeds(price: int, qty: int) -> int:
    return notional_atoms(price, qty) - INST.fee(price, qty)


def test_ledger_round_trip_profit_is_after_both_fees() -> None:
    got = ledger([fill(Side.BUY, 1, 0, 9_900, 10), fill(Side.SELL, 1, 0, 10_000, 10)])
    assert got.grid_profit_atoms == got.realized_atoms == proceeds(10_000, 10) - cost(9_900, 10)
    assert got.fees_atoms == INST.fee(9_900, 10) + INST.fee(10_000, 10)
    assert (got.open_steps, got.unrealized_atoms, got.opening_sold_steps) == (0, 0, 0)
    (line,) = got.levels
    assert (line.level, line.buy_ticks, line.sell_ticks, line.round_trips) == (1, 9_900, 10_000, 1)
    assert line.profit_atoms == got.grid_profit_atoms and line.fees_atoms == got.fees_atoms


def test_ledger_partial_fills_book_one_round_trip_without_losing_an_atom() -> None:
    fills = [fill(Side.BUY, 1, 0, 9_901, q) for q in (4, 3)] + [
        fill(Side.SELL, 1, 0, 10_003, q) for q in (3, 3, 1)
    ]
    got = ledger(fills)
    bought = sum(cost(9_901, q) for q in (4, 3))
    sold = sum(proceeds(10_003, q) for q in (3, 3, 1))
    assert got.grid_profit_atoms == sold - bought
    assert got.levels[0].round_trips == 1
    assert (got.levels[0].buys, got.levels[0].sells, got.open_steps) == (2, 3, 0)


def test_ledger_neutral_opening_inventory_costs_the_start_price() -> None:
    got = ledger([fill(Side.SELL, 3, 0, 10_300, 10)])
    assert got.opening_sold_steps == 10
    assert got.grid_profit_atoms == proceeds(10_300, 10) - notional_atoms(START, 10)


def test_ledger_foreign_fills_are_listed_and_ignored() -> None:
    other = fill(Side.BUY, 1, 0, 9_900, 10, strategy="g2", trade_id="f1")
    manual = fill(Side.BUY, 1, 0, 9_900, 10, cid="web-order-1", trade_id="f2")
    got = ledger([other, manual, fill(Side.BUY, 1, 0, 9_900, 5, trade_id="ours")])
    assert got.foreign == ("f1", "f2")
    assert got.trade_ids == ("ours",)
    assert (got.buys, got.bought_steps, got.fees_atoms) == (1, 5, INST.fee(9_900, 5))


def test_ledger_handed_lot_is_matched_fifo_never_from_a_lot_awaiting_its_own_sell() -> None:
    waiting = fill(Side.BUY, 3, 0, 9_700, 10)  # the oldest lot, but its own sell comes later
    retired = fill(Side.BUY, 2, 0, 9_800, 10)  # its level was removed: never sold as (2, 0)
    handed = fill(Side.SELL, 7, 4, 9_950, 10)  # the new level selling what (2, 0) bought
    own = fill(Side.SELL, 3, 0, 9_800, 10)
    got = ledger([waiting, retired, handed, own])
    by_level = {line.level: line for line in got.levels}
    assert by_level[7].profit_atoms == proceeds(9_950, 10) - cost(9_800, 10)
    assert by_level[3].profit_atoms == proceeds(9_800, 10) - cost(9_700, 10)
    assert (got.open_steps, got.opening_sold_steps) == (0, 0)


def test_ledger_sell_replaced_under_the_next_cycle_still_sells_its_levels_buy() -> None:
    # A cancelled or refused sell spends its id: the level sells again as cycle 1.
    buy = fill(Side.BUY, 1, 0, 9_900, 10)
    handed = fill(Side.SELL, 5, 3, 10_100, 10)  # meanwhile: no lot of its own anywhere
    resold = fill(Side.SELL, 1, 1, 10_000, 10)
    got = ledger([buy, handed, resold])
    by_level = {line.level: line for line in got.levels}
    assert by_level[1].profit_atoms == proceeds(10_000, 10) - cost(9_900, 10)
    assert by_level[5].profit_atoms == proceeds(10_100, 10) - notional_atoms(START, 10)
    assert got.opening_sold_steps == 10


def test_ledger_level_that_sold_opening_inventory_leaves_its_later_lot_to_the_close_sale() -> None:
    opening = fill(Side.SELL, 2, 0, 10_200, 10)  # neutral: sold before the level ever bought
    bought = fill(Side.BUY, 2, 1, 10_100, 10)  # its buy-back, whose sell never comes
    sale = fill(Side.SELL, LIQUIDATION_LEVEL, 0, 9_900, 10)
    got = ledger([opening, bought, sale])
    assert got.opening_sold_steps == 10
    assert got.open_steps == 0
    by_level = {line.level: line for line in got.levels}
    assert by_level[LIQUIDATION_LEVEL].profit_atoms == proceeds(9_900, 10) - cost(10_100, 10)


def test_ledger_close_sale_takes_the_oldest_lots_then_the_opening_inventory() -> None:
    first = fill(Side.BUY, 1, 0, 9_900, 4)
    second = fill(Side.BUY, 0, 0, 9_800, 4)
    sale = fill(Side.SELL, LIQUIDATION_LEVEL, 0, 9_500, 10)
    got = ledger([first, second, sale], last=9_500)
    expected = proceeds(9_500, 10) - cost(9_900, 4) - cost(9_800, 4) - notional_atoms(START, 2)
    assert got.grid_profit_atoms == expected
    assert (got.opening_sold_steps, got.open_steps, got.unrealized_atoms) == (2, 0, 0)
    assert got.levels[0].level == LIQUIDATION_LEVEL


def test_ledger_open_lots_are_valued_at_the_last_price() -> None:
    got = ledger([fill(Side.BUY, 1, 0, 9_900, 10)], last=9_950)
    assert (got.open_steps, got.open_cost_atoms) == (10, cost(9_900, 10))
    assert got.unrealized_atoms == notional_atoms(9_950, 10) - cost(9_900, 10)
    assert got.grid_profit_atoms == 0


def test_ledger_takes_venue_order_whatever_order_the_fills_come_in() -> None:
    buy = fill(Side.BUY, 1, 0, 9_900, 10, trade_id="9", ts=5)
    sell = fill(Side.SELL, 1, 0, 10_000, 10, trade_id="10", ts=5)  # same time: "9" < "10"
    handed = fill(Side.SELL, 4, 1, 10_100, 10, trade_id="11", ts=6)
    forward = ledger([buy, sell, handed])
    assert ledger([handed, sell, buy, sell]) == forward  # a repeated trade id counts once
    assert forward.trade_ids == ("9", "10", "11")
    assert forward.opening_sold_steps == 10  # the (1, 0) lot was its own sell's, not handed's


_trades = st.lists(
    st.tuples(
        st.booleans(),  # a buy?
        st.integers(-3, 3),  # level
        st.integers(0, 2),  # cycle
        st.integers(9_000, 11_000),  # price in ticks
        st.integers(1, 7),  # size in steps
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(_trades, st.integers(9_000, 11_000))
def test_ledger_any_fills_lose_no_atom(
    trades: list[tuple[bool, int, int, int, int]], last: int
) -> None:
    fills = [
        fill(Side.BUY if is_buy else Side.SELL, level, cycle, price, qty)
        for is_buy, level, cycle, price, qty in trades
    ]
    got = ledger(fills, last=last)
    buys = [f for f in fills if f.side is Side.BUY]
    sells = [f for f in fills if f.side is Side.SELL]
    bought = sum(cost(f.price_ticks, f.qty_steps) for f in buys)
    sold = sum(proceeds(f.price_ticks, f.qty_steps) for f in sells)
    opening = notional_atoms(START, got.opening_sold_steps)
    # every atom paid is either matched by a sale or still held
    assert sold - got.grid_profit_atoms == bought - got.open_cost_atoms + opening
    assert got.open_steps == sum(f.qty_steps for f in buys) + got.opening_sold_steps - sum(
        f.qty_steps for f in sells
    )
    assert (
        got.fees_atoms == sum(f.fee_atoms for f in fills) == sum(x.fees_atoms for x in got.levels)
    )
    assert got.grid_profit_atoms == sum(x.profit_atoms for x in got.levels)
    assert got.unrealized_atoms == notional_atoms(last, got.open_steps) - got.open_cost_atoms
