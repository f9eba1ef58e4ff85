from __future__ import annotations

from gridmaker.backtest.fill_model import FillModel
from gridmaker.core.events import CancelOrder, OrderStatus, PlaceOrder, Side
from gridmaker.core.units import Steps, Ticks
from tests import kit

P0 = 5_000_000


def _model(quote_atoms: int = 10**20, base_steps: int = 10**6, **kw: bool) -> FillModel:
    return FillModel(kit.instrument(), base_steps=base_steps, quote_atoms=quote_atoms, **kw)


def _place(cid: str, side: Side, price: int, qty: int = 100) -> PlaceOrder:
    return PlaceOrder(
        symbol="BTC/USDT",
        client_order_id=cid,
        level=0,
        side=side,
        price_ticks=Ticks(price),
        qty_steps=Steps(qty),
    )


def test_fill_model_buy_fills_when_trade_prints_at_its_price_at_its_own_price() -> None:
    # Arrange
    model = _model()
    model.place(_place("b1", Side.BUY, P0 - 10))

    # Act
    above = model.match(P0 - 9, P0 - 9, 0, 1)
    at = model.match(P0 - 20, P0 - 20, 0, 2)

    # Assert
    assert above == []
    assert [(f.side, f.price_ticks, f.qty_steps) for f in at] == [(Side.BUY, P0 - 10, 100)]
    assert at[0].fee_atoms == (P0 - 10) * 100 * 1_000  # 0.1 % maker fee in atoms
    assert model.best_buy == 0


def test_fill_model_quote_fills_buy_on_ask_and_sell_on_bid() -> None:
    # Arrange
    model = _model()
    model.place(_place("b1", Side.BUY, P0))
    model.place(_place("s1", Side.SELL, P0 + 10))

    # Act
    ask_above = model.match(P0 - 1, P0 + 1, 0, 1)
    ask_at = model.match(P0 - 1, P0, 0, 2)
    bid_at = model.match(P0 + 10, P0 + 11, 0, 3)

    # Assert
    assert ask_above == []
    assert [f.client_order_id for f in ask_at] == ["b1"]
    assert [f.client_order_id for f in bid_at] == ["s1"]


def test_fill_model_post_only_buy_at_last_price_is_rejected() -> None:
    # Arrange
    model = _model()
    model.match(P0, P0, 0, 1)

    # Act
    update = model.place(_place("b1", Side.BUY, P0))

    # Assert
    assert update.status is OrderStatus.REJECTED
    assert model.rejected == 1


def test_fill_model_buy_beyond_free_quote_is_rejected() -> None:
    # Arrange
    inst = kit.instrument()
    need = inst.notional(P0, 100) + inst.fee(P0, 100)
    model = _model(quote_atoms=need + need // 2)

    # Act
    first = model.place(_place("b1", Side.BUY, P0))
    second = model.place(_place("b2", Side.BUY, P0 - 1))

    # Assert
    assert first.status is OrderStatus.OPEN
    assert second.status is OrderStatus.REJECTED


def test_fill_model_partial_fills_share_the_amount_best_price_first() -> None:
    # Arrange
    model = _model(partial_fills=True)
    model.place(_place("low", Side.BUY, P0 - 10))
    model.place(_place("high", Side.BUY, P0 - 5))

    # Act
    fills = model.match(P0 - 20, P0 - 20, 150, 1)

    # Assert
    assert [(f.client_order_id, f.qty_steps) for f in fills] == [("high", 100), ("low", 50)]
    assert model.best_buy == P0 - 10


def test_fill_model_cancel_of_filled_order_answers_filled() -> None:
    # Arrange
    model = _model()
    model.place(_place("b1", Side.BUY, P0))
    model.match(P0, P0, 0, 1)

    # Act
    update = model.cancel(CancelOrder(symbol="BTC/USDT", client_order_id="b1", level=0))
    missing = model.cancel(CancelOrder(symbol="BTC/USDT", client_order_id="nope", level=0))

    # Assert
    assert update.status is OrderStatus.FILLED
    assert missing.status is OrderStatus.NOT_FOUND
