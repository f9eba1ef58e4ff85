from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import textwrap
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gridmaker.core.events import OrderStatus, Side
from gridmaker.exchange.api import (
    DuplicateClientOrderId,
    ExchangeFill,
    NotFound,
    OrderRequest,
    Rejected,
    Unavailable,
)
from gridmaker.exchange.sim import SimExchange
from tests import kit

run = asyncio.run
D = Decimal
SYMBOL = "BTC/USDT"
FEE = D("0.001")
INITIAL = {"BTC": D("1"), "USDT": D("100000")}


def make_sim(**overrides: Any) -> SimExchange:
    fields: dict[str, Any] = {"instruments": [kit.instrument()], "initial_balances": INITIAL}
    fields.update(overrides)
    return SimExchange(**fields)


def request(
    cid: str = "b1",
    side: Side = Side.BUY,
    price: str = "50000.00",
    amount: str = "0.001",
    **overrides: Any,
) -> OrderRequest:
    fields: dict[str, Any] = {
        "symbol": SYMBOL,
        "client_order_id": cid,
        "side": side,
        "price": D(price),
        "amount": D(amount),
    }
    fields.update(overrides)
    return OrderRequest(**fields)


def sell(cid: str = "s1", price: str = "51000.00", amount: str = "0.001") -> OrderRequest:
    return request(cid, Side.SELL, price, amount)


def totals(sim: SimExchange) -> dict[str, Decimal]:
    return {asset: b.total for asset, b in run(sim.fetch_balances()).items()}


def snapshot(sim: SimExchange) -> dict[str, Any]:
    return {
        "balances": dict(run(sim.fetch_balances())),
        "open": list(run(sim.fetch_open_orders(SYMBOL))),
        "orders": sim.all_orders(SYMBOL),
        "fills": sim.all_fills(SYMBOL),
        "page": run(sim.fetch_fills(SYMBOL, "")),
        "position": sim.feed_position(SYMBOL),
        "last_price": sim.last_price(SYMBOL),
    }


def busy_day(sim: SimExchange) -> None:
    """Places, fills (one partially when partial fills are on), cancels and binds a feed."""
    sim.bind_feed(SYMBOL, "walk:seed=1")
    run(sim.place_order(request("b1", price="50000.00", amount="0.002")))
    run(sim.place_order(request("b2", price="49900.00")))
    run(sim.place_order(sell("s1", price="50100.00")))
    sim.apply_trade(SYMBOL, D("49950.00"), D("0.001"), 1_000)
    run(sim.cancel_order(SYMBOL, "b2"))
    sim.apply_trade(SYMBOL, D("50200.00"), D("0.004"), 2_000)


# --- placing -----------------------------------------------------------------------------------


def test_place_order_valid_buy_is_open_and_locks_quote_with_fee() -> None:
    sim = make_sim()

    first = run(sim.place_order(request("b1")))
    second = run(sim.place_order(request("b2", price="49000.00")))

    assert (first.order_id, second.order_id) == ("1", "2")
    assert first.status is OrderStatus.OPEN
    assert first.filled == 0
    assert first.ts_event == 0
    usdt = run(sim.fetch_balances())["USDT"]
    locked = D("50000.00") * D("0.001") * (1 + FEE) + D("49000.00") * D("0.001") * (1 + FEE)
    assert usdt.locked == locked
    assert usdt.free == D("100000") - locked
    assert sim.place_calls["b1"] == 1


def test_place_order_ts_event_is_last_trade_time() -> None:
    sim = make_sim()
    sim.apply_trade(SYMBOL, D("50500.00"), D("0.1"), 1_700_000_000_000)

    order = run(sim.place_order(request("b1")))

    assert order.ts_event == 1_700_000_000_000


def test_place_order_unknown_symbol_is_rejected_unknown_symbol() -> None:
    sim = make_sim()

    with pytest.raises(Rejected) as caught:
        run(sim.place_order(request(symbol="ETH/USDT")))

    assert caught.value.reason == "unknown_symbol"


@pytest.mark.parametrize(
    ("price", "amount", "message"),
    [
        ("50000.005", "0.001", "price 50000.005 is not a multiple of tick 0.01"),
        ("50000.00", "0.000015", "amount 0.000015 is not a multiple of step 0.00001"),
        ("50000.00", "0.00001", "notional 0.5000000 is below min_notional 5"),
        ("0", "0.001", "price 0 must be > 0"),
        ("50000.00", "-0.001", "amount -0.001 must be > 0"),
    ],
)
def test_place_order_off_rules_is_rejected_invalid_order_naming_value(
    price: str, amount: str, message: str
) -> None:
    sim = make_sim()

    with pytest.raises(Rejected) as caught:
        run(sim.place_order(request(price=price, amount=amount)))

    assert caught.value.reason == "invalid_order"
    assert message in str(caught.value)
    assert run(sim.fetch_open_orders(SYMBOL)) == []


def test_place_order_below_min_qty_is_rejected_invalid_order() -> None:
    sim = make_sim(instruments=[kit.instrument(min_qty=D("0.001"), min_notional=D("0"))])

    with pytest.raises(Rejected, match=r"amount 0\.0005 is below min_qty 0\.001") as caught:
        run(sim.place_order(request(amount="0.0005")))

    assert caught.value.reason == "invalid_order"


@pytest.mark.parametrize(
    "order",
    [request("b1", price="50000.00"), sell("s1", price="50000.00")],
    ids=["buy_at_last", "sell_at_last"],
)
def test_place_order_post_only_at_last_trade_price_is_rejected_would_cross(
    order: OrderRequest,
) -> None:
    sim = make_sim()
    sim.apply_trade(SYMBOL, D("50000.00"), D("0.1"), 1)

    with pytest.raises(Rejected) as caught:
        run(sim.place_order(order))

    assert caught.value.reason == "post_only_would_cross"
    assert run(sim.fetch_open_orders(SYMBOL)) == []


def test_place_order_post_only_just_inside_last_price_rests() -> None:
    sim = make_sim()
    sim.apply_trade(SYMBOL, D("50000.00"), D("0.1"), 1)

    buy = run(sim.place_order(request("b1", price="49999.99")))
    ask = run(sim.place_order(sell("s1", price="50000.01")))

    assert (buy.status, ask.status) == (OrderStatus.OPEN, OrderStatus.OPEN)


def test_place_order_crossing_without_post_only_is_rejected_taker_not_supported() -> None:
    sim = make_sim()
    sim.apply_trade(SYMBOL, D("50000.00"), D("0.1"), 1)

    with pytest.raises(Rejected) as caught:
        run(sim.place_order(request(price="50001.00", post_only=False)))

    assert caught.value.reason == "taker_not_supported"


@pytest.mark.parametrize(
    "order",
    [request("b1", amount="2"), sell("s1", amount="1.00001")],
    ids=["buy_needs_100100_usdt", "sell_needs_more_btc"],
)
def test_place_order_beyond_free_balance_is_rejected_insufficient_balance(
    order: OrderRequest,
) -> None:
    sim = make_sim()

    with pytest.raises(Rejected) as caught:
        run(sim.place_order(order))

    assert caught.value.reason == "insufficient_balance"
    assert totals(sim) == INITIAL
    assert all(b.locked == 0 for b in run(sim.fetch_balances()).values())


def test_place_order_open_client_id_again_raises_duplicate_client_order_id() -> None:
    sim = make_sim()
    run(sim.place_order(request("b1")))

    with pytest.raises(DuplicateClientOrderId) as caught:
        run(sim.place_order(request("b1", price="49000.00")))

    assert caught.value.client_order_id == "b1"
    assert len(run(sim.fetch_open_orders(SYMBOL))) == 1
    assert sim.place_calls["b1"] == 2


def test_place_order_client_id_of_cancelled_order_is_accepted_as_new_order() -> None:
    sim = make_sim()
    run(sim.place_order(request("b1")))
    run(sim.cancel_order(SYMBOL, "b1"))

    again = run(sim.place_order(request("b1", price="49000.00")))

    assert again.order_id == "2"
    assert run(sim.fetch_order(SYMBOL, "b1")) == again


# --- cancelling and reading --------------------------------------------------------------------


def test_cancel_order_open_buy_unlocks_all_funds() -> None:
    sim = make_sim()
    run(sim.place_order(request("b1")))
    run(sim.place_order(sell("s1")))

    canceled = run(sim.cancel_order(SYMBOL, "b1"))
    run(sim.cancel_order(SYMBOL, "s1"))

    assert canceled.status is OrderStatus.CANCELED
    balances = run(sim.fetch_balances())
    assert {a: b.free for a, b in balances.items()} == INITIAL
    assert all(b.locked == 0 for b in balances.values())
    assert run(sim.fetch_open_orders(SYMBOL)) == []


def test_cancel_order_partially_filled_buy_unlocks_only_remainder() -> None:
    sim = make_sim(partial_fills=True)
    run(sim.place_order(request("b1", amount="0.003")))
    sim.apply_trade(SYMBOL, D("49000.00"), D("0.001"), 1)

    run(sim.cancel_order(SYMBOL, "b1"))

    usdt = run(sim.fetch_balances())["USDT"]
    assert usdt.locked == 0
    assert usdt.free == D("100000") - D("50000.00") * D("0.001") * (1 + FEE)


@pytest.mark.parametrize("cid", ["never", "done"])
def test_cancel_order_without_open_order_raises_not_found(cid: str) -> None:
    sim = make_sim()
    run(sim.place_order(request("done")))
    run(sim.cancel_order(SYMBOL, "done"))

    with pytest.raises(NotFound):
        run(sim.cancel_order(SYMBOL, cid))


def test_fetch_order_unknown_client_id_raises_not_found() -> None:
    sim = make_sim()

    with pytest.raises(NotFound) as caught:
        run(sim.fetch_order(SYMBOL, "nope"))

    assert caught.value.client_order_id == "nope"


def test_fetch_order_filled_order_reports_filled() -> None:
    sim = make_sim()
    run(sim.place_order(request("b1")))
    sim.apply_trade(SYMBOL, D("49000.00"), D("1"), 7)

    order = run(sim.fetch_order(SYMBOL, "b1"))

    assert (order.status, order.filled, order.ts_event) == (OrderStatus.FILLED, D("0.001"), 7)


def test_fetch_instrument_unknown_symbol_raises_not_found() -> None:
    sim = make_sim()

    with pytest.raises(NotFound):
        run(sim.fetch_instrument("ETH/USDT"))

    assert run(sim.fetch_instrument(SYMBOL)) == kit.instrument()


def test_fetch_open_orders_sorted_by_order_id() -> None:
    sim = make_sim()
    for i, price in enumerate(["49000.00", "49500.00", "48000.00"]):
        run(sim.place_order(request(f"b{i}", price=price)))

    orders = run(sim.fetch_open_orders(SYMBOL))

    assert [o.order_id for o in orders] == ["1", "2", "3"]


# --- trades and fills --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("trade", "is_filled"), [("50000.00", True), ("49999.99", True), ("50000.01", False)]
)
def test_apply_trade_fills_buy_only_at_or_below_its_price(trade: str, is_filled: bool) -> None:
    sim = make_sim()
    run(sim.place_order(request("b1", price="50000.00")))

    fills = sim.apply_trade(SYMBOL, D(trade), D("0.5"), 1)

    assert (len(fills) == 1) is is_filled
    assert (run(sim.fetch_order(SYMBOL, "b1")).status is OrderStatus.FILLED) is is_filled


@pytest.mark.parametrize(
    ("trade", "is_filled"), [("51000.00", True), ("51000.01", True), ("50999.99", False)]
)
def test_apply_trade_fills_sell_only_at_or_above_its_price(trade: str, is_filled: bool) -> None:
    sim = make_sim()
    run(sim.place_order(sell("s1", price="51000.00")))

    fills = sim.apply_trade(SYMBOL, D(trade), D("0.5"), 1)

    assert (len(fills) == 1) is is_filled
    assert (run(sim.fetch_order(SYMBOL, "s1")).status is OrderStatus.FILLED) is is_filled


def test_apply_trade_through_buy_fills_at_limit_price_with_exact_fee() -> None:
    sim = make_sim()
    order = run(sim.place_order(request("b1", price="50123.45", amount="0.00123")))

    fills = sim.apply_trade(SYMBOL, D("49000.00"), D("1"), 42)

    assert fills == [
        ExchangeFill(
            symbol=SYMBOL,
            trade_id="1",
            order_id=order.order_id,
            client_order_id="b1",
            side=Side.BUY,
            price=D("50123.45"),
            amount=D("0.00123"),
            fee=D("0.0616518435"),
            is_maker=True,
            ts_event=42,
        )
    ]
    assert sim.last_price(SYMBOL) == D("49000.00")
    assert sim.feed_position(SYMBOL) == 1


def test_apply_trade_balances_change_by_exactly_fills_and_fees() -> None:
    sim = make_sim()
    run(sim.place_order(request("b1", price="50000.00", amount="0.003")))
    run(sim.place_order(sell("s1", price="50100.00", amount="0.002")))

    sim.apply_trade(SYMBOL, D("49990.00"), D("0.01"), 1)
    sim.apply_trade(SYMBOL, D("50150.00"), D("0.01"), 2)

    buy_cost = D("50000.00") * D("0.003") * (1 + FEE)
    sell_proceeds = D("50100.00") * D("0.002") * (1 - FEE)
    balances = run(sim.fetch_balances())
    assert balances["BTC"].free == D("1") + D("0.003") - D("0.002")
    assert balances["USDT"].free == D("100000") - buy_cost + sell_proceeds
    assert all(b.locked == 0 for b in balances.values())


def test_apply_trade_without_partial_fills_fills_every_crossing_order_fully() -> None:
    sim = make_sim()
    run(sim.place_order(request("b1", price="50000.00", amount="0.002")))
    run(sim.place_order(request("b2", price="49900.00", amount="0.002")))

    fills = sim.apply_trade(SYMBOL, D("49800.00"), D("0.00001"), 1)

    assert [(f.client_order_id, f.amount) for f in fills] == [
        ("b1", D("0.002")),
        ("b2", D("0.002")),
    ]


def test_apply_trade_partial_fills_share_trade_amount_best_price_then_oldest() -> None:
    sim = make_sim(partial_fills=True)
    run(sim.place_order(request("low", price="49900.00", amount="0.002")))
    run(sim.place_order(request("old", price="50000.00", amount="0.002")))
    run(sim.place_order(request("new", price="50000.00", amount="0.002")))

    fills = sim.apply_trade(SYMBOL, D("49800.00"), D("0.005"), 1)

    assert [(f.client_order_id, f.amount) for f in fills] == [
        ("old", D("0.002")),
        ("new", D("0.002")),
        ("low", D("0.001")),
    ]
    low = run(sim.fetch_order(SYMBOL, "low"))
    assert (low.status, low.filled) == (OrderStatus.OPEN, D("0.001"))


def test_apply_trade_partial_fills_sells_lowest_price_first() -> None:
    sim = make_sim(partial_fills=True)
    run(sim.place_order(sell("high", price="50200.00", amount="0.002")))
    run(sim.place_order(sell("low", price="50100.00", amount="0.002")))

    fills = sim.apply_trade(SYMBOL, D("50300.00"), D("0.003"), 1)

    assert [(f.client_order_id, f.amount) for f in fills] == [
        ("low", D("0.002")),
        ("high", D("0.001")),
    ]


def test_apply_trade_partial_fill_then_rest_fills_order_completely() -> None:
    sim = make_sim(partial_fills=True)
    run(sim.place_order(request("b1", amount="0.003")))
    sim.apply_trade(SYMBOL, D("49000.00"), D("0.001"), 1)

    sim.apply_trade(SYMBOL, D("49000.00"), D("0.01"), 2)

    order = run(sim.fetch_order(SYMBOL, "b1"))
    assert (order.status, order.filled) == (OrderStatus.FILLED, D("0.003"))
    assert [f.amount for f in sim.all_fills(SYMBOL)] == [D("0.001"), D("0.002")]
    assert run(sim.fetch_balances())["USDT"].locked == 0


def test_apply_trade_non_positive_amount_raises_value_error() -> None:
    sim = make_sim()

    with pytest.raises(ValueError, match="amount 0 must both be > 0"):
        sim.apply_trade(SYMBOL, D("50000"), D("0"), 1)


def test_fetch_fills_pages_by_cursor_oldest_first() -> None:
    sim = make_sim()
    for i in range(5):
        run(sim.place_order(request(f"b{i}", price=f"{49000 + i}.00")))
    sim.apply_trade(SYMBOL, D("48000.00"), D("1"), 1)

    first = run(sim.fetch_fills(SYMBOL, "", limit=2))
    second = run(sim.fetch_fills(SYMBOL, first.cursor, limit=2))
    third = run(sim.fetch_fills(SYMBOL, second.cursor, limit=2))
    after = run(sim.fetch_fills(SYMBOL, third.cursor, limit=2))

    pages = [first, second, third]
    assert [len(p.fills) for p in pages] == [2, 2, 1]
    assert [p.has_more for p in pages] == [True, True, False]
    ids = [f.trade_id for p in pages for f in p.fills]
    assert ids == [f.trade_id for f in sim.all_fills(SYMBOL)] == ["1", "2", "3", "4", "5"]
    assert (after.fills, after.cursor, after.has_more) == ((), third.cursor, False)


def test_fetch_fills_bad_cursor_is_rejected() -> None:
    sim = make_sim()

    with pytest.raises(Rejected, match="cursor 'abc'"):
        run(sim.fetch_fills(SYMBOL, "abc"))


# --- persistence, feeds, determinism -----------------------------------------------------------


def test_reopen_same_path_restores_state_and_ignores_initial_balances(tmp_path: Path) -> None:
    path = tmp_path / "venue.sqlite"
    sim = make_sim(path=path, partial_fills=True)
    busy_day(sim)
    before = snapshot(sim)
    run(sim.close())

    reopened = make_sim(path=path, partial_fills=True, initial_balances={"USDT": D("1")})

    assert snapshot(reopened) == before
    assert before["position"] == 2
    assert before["fills"]
    assert reopened.bind_feed(SYMBOL, "walk:seed=1") == 2
    assert run(reopened.place_order(request("b9", price="40000.00"))).order_id == "4"
    reopened.close_sync()


def test_reopen_after_sigkill_finds_last_completed_operation(tmp_path: Path) -> None:
    path = tmp_path / "venue.sqlite"
    script = textwrap.dedent(
        f"""
        import asyncio, os, signal
        from decimal import Decimal as D
        from pathlib import Path
        from tests import kit
        from tests.unit.exchange.sim.test_matching import busy_day
        from gridmaker.exchange.sim import SimExchange
        sim = SimExchange(instruments=[kit.instrument()],
                          initial_balances={{"BTC": D("1"), "USDT": D("100000")}},
                          path=Path({str(path)!r}), partial_fills=True)
        busy_day(sim)
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    in_memory = make_sim(partial_fills=True)
    busy_day(in_memory)

    done = subprocess.run(
        [sys.executable, "-c", script], cwd=Path(__file__).parents[4], check=False
    )

    assert done.returncode == -9
    reopened = make_sim(path=path, partial_fills=True)
    assert snapshot(reopened) == snapshot(in_memory)
    reopened.close_sync()


def test_bind_feed_different_key_raises_value_error(tmp_path: Path) -> None:
    sim = make_sim(path=tmp_path / "venue.sqlite")
    assert sim.bind_feed(SYMBOL, "walk:seed=1") == 0

    with pytest.raises(ValueError, match=r"belongs to feed 'walk:seed=1'.*not 'walk:seed=2'"):
        sim.bind_feed(SYMBOL, "walk:seed=2")

    sim.close_sync()


def test_write_after_close_raises_unavailable_and_reads_still_work(tmp_path: Path) -> None:
    sim = make_sim(path=tmp_path / "venue.sqlite")
    sim.close_sync()

    with pytest.raises(Unavailable):
        run(sim.place_order(request("b1")))

    assert totals(sim) == INITIAL


def test_same_operations_on_two_fresh_exchanges_give_identical_fills() -> None:
    first, second = make_sim(partial_fills=True), make_sim(partial_fills=True)

    busy_day(first)
    busy_day(second)

    assert first.all_fills(SYMBOL) == second.all_fills(SYMBOL)
    assert first.all_orders(SYMBOL) == second.all_orders(SYMBOL)
    assert snapshot(first) == snapshot(second)


# --- property ----------------------------------------------------------------------------------

_PLACE = st.tuples(
    st.just("place"),
    st.sampled_from([Side.BUY, Side.SELL]),
    st.integers(49_950, 50_050),
    st.integers(1, 1_000),
)
_CANCEL = st.tuples(st.just("cancel"), st.integers(0, 50))
_TRADE = st.tuples(st.just("trade"), st.integers(49_950, 50_050), st.integers(1, 1_000))
_OPS = st.lists(st.one_of(_PLACE, _PLACE, _CANCEL, _TRADE), min_size=8, max_size=60)


_SMALL = {"BTC": D("0.01"), "USDT": D("600")}
"""Little enough that random orders also run out of funds."""


async def _play(sim: SimExchange, ops: list[tuple[Any, ...]]) -> None:
    """Runs ``ops``, checking conservation, non-negativity and exact locks after each one."""
    expected = dict(_SMALL)
    cids: list[str] = []
    step = D("0.00001")
    for i, op in enumerate(ops):
        if op[0] == "place":
            cids.append(f"c{i}")
            order = request(f"c{i}", op[1], f"{op[2]}.00", str(op[3] * step))
            with contextlib.suppress(Rejected):
                await sim.place_order(order)
        elif op[0] == "cancel" and cids:
            with contextlib.suppress(NotFound):
                await sim.cancel_order(SYMBOL, cids[op[1] % len(cids)])
        elif op[0] == "trade":
            for fill in sim.apply_trade(SYMBOL, D(op[1]), op[2] * step, i):
                sign = 1 if fill.side is Side.BUY else -1
                expected["BTC"] += sign * fill.amount
                expected["USDT"] -= sign * fill.price * fill.amount + fill.fee
        await _check(sim, expected)


async def _check(sim: SimExchange, expected: dict[str, Decimal]) -> None:
    balances = await sim.fetch_balances()
    assert {asset: b.total for asset, b in balances.items()} == expected
    assert all(b.free >= 0 and b.locked >= 0 for b in balances.values())
    open_orders = await sim.fetch_open_orders(SYMBOL)
    left = [(o.side, o.price, o.amount - o.filled) for o in open_orders]
    assert balances["BTC"].locked == sum((q for s, _, q in left if s is Side.SELL), D(0))
    quote = sum((p * q * (1 + FEE) for s, p, q in left if s is Side.BUY), D(0))
    assert balances["USDT"].locked == quote


@given(ops=_OPS, partial_fills=st.booleans())
def test_random_operations_conserve_balances_and_never_go_negative(
    ops: list[tuple[Any, ...]], partial_fills: bool
) -> None:
    sim = make_sim(partial_fills=partial_fills, initial_balances=_SMALL)

    run(_play(sim, ops))

    assert sim.feed_position(SYMBOL) == sum(1 for op in ops if op[0] == "trade")


def test_sim_taking_sell_fills_whole_at_the_last_price_with_the_taker_fee() -> None:
    # Arrange
    sim = SimExchange(
        instruments=[kit.instrument(taker_fee=Decimal("0.002"))],
        initial_balances={"BTC": Decimal("1"), "USDT": Decimal("0")},
    )
    sim.apply_trade("BTC/USDT", Decimal("50000"), Decimal("1"), 1)
    request = OrderRequest(
        symbol="BTC/USDT",
        client_order_id="liq1",
        side=Side.SELL,
        price=Decimal("49500"),
        amount=Decimal("0.5"),
        post_only=False,
    )

    # Act
    order = asyncio.run(sim.place_order(request))

    # Assert
    assert order.status is OrderStatus.FILLED and order.filled == Decimal("0.5")
    (fill,) = sim.all_fills("BTC/USDT")
    assert (fill.price, fill.fee, fill.is_maker) == (Decimal("50000"), Decimal("50"), False)
    balances = asyncio.run(sim.fetch_balances())
    assert balances["BTC"].total == Decimal("0.5")
    assert balances["USDT"].total == Decimal("24950")


def test_sim_taking_buy_is_refused() -> None:
    sim = SimExchange(
        instruments=[kit.instrument()],
        initial_balances={"BTC": Decimal("0"), "USDT": Decimal("100000")},
    )
    sim.apply_trade("BTC/USDT", Decimal("50000"), Decimal("1"), 1)
    request = OrderRequest(
        symbol="BTC/USDT",
        client_order_id="b1",
        side=Side.BUY,
        price=Decimal("50100"),
        amount=Decimal("0.1"),
        post_only=False,
    )
    with pytest.raises(Rejected) as raised:
        asyncio.run(sim.place_order(request))
    assert raised.value.reason == "taker_not_supported"
