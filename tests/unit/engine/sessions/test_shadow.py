"""The shadow comparison: where two action streams first differ, and how that reads."""

from __future__ import annotations

from gridmaker.core.events import CancelOrder, PlaceOrder, PriceTick, Side
from gridmaker.core.units import Steps, Ticks
from gridmaker.engine.sessions.shadow import ShadowResult, Step, _first_difference

SYMBOL = "BTC/USDT"
TICK = PriceTick(symbol=SYMBOL, price_ticks=Ticks(5_000_000), qty_steps=Steps(0), ts_event=7)


def _place(level: int) -> Step:
    action = PlaceOrder(
        symbol=SYMBOL,
        client_order_id=f"gm-{level}",
        level=level,
        side=Side.BUY,
        price_ticks=Ticks(4_990_000 + level),
        qty_steps=Steps(1000),
    )
    return Step(action, TICK)


def _result(simple: list[Step], durable: list[Step]) -> ShadowResult:
    return ShadowResult(
        trades=1,
        events=1,
        actions={"simple": simple, "durable": durable},
        summaries={"simple": {"fills": 0}, "durable": {"fills": 0}},
        first_difference=_first_difference(simple, durable),
    )


def test_equal_streams_and_books_are_identical() -> None:
    result = _result([_place(1), _place(2)], [_place(1), _place(2)])

    assert result.identical and result.describe_difference() == "identical"


def test_first_differing_action_is_reported_with_its_cause() -> None:
    cancel = Step(CancelOrder(symbol=SYMBOL, client_order_id="gm-2", level=2), TICK)

    result = _result([_place(1), _place(2), _place(3)], [_place(1), cancel, _place(3)])

    assert not result.identical and result.first_difference == 1
    text = result.describe_difference()
    assert "action 1" in text and "CancelOrder" in text and "caused by PriceTick" in text


def test_a_shorter_stream_differs_where_it_ends() -> None:
    result = _result([_place(1), _place(2)], [_place(1)])

    assert result.first_difference == 1
    assert "no action (stream ended after 1)" in result.describe_difference()


def test_same_actions_with_different_books_name_each_differing_value() -> None:
    result = ShadowResult(
        trades=1,
        events=1,
        actions={"simple": [_place(1)], "durable": [_place(1)]},
        summaries={
            "simple": {"fills": 2, "realized_pnl": "0.5", "symbol": SYMBOL},
            "durable": {"fills": 2, "realized_pnl": "0.25", "symbol": SYMBOL},
        },
        first_difference=None,
    )

    text = result.describe_difference()

    assert not result.identical
    assert text == "same actions, different books: realized_pnl simple 0.5 / durable 0.25"
