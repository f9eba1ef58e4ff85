"""Venue records to core events and back: exact in the instrument's units, or the venue's fault.

A value off the tick, off the step or finer than an atom is never rounded into the book: it is
``MalformedResponse`` (the order becomes UNKNOWN and is looked up), as are impossible records
(filled more than ordered, a fill of nothing, a negative fee).
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from gridmaker.core.events import Fill, OrderStatus, OrderUpdate, PlaceOrder, Side
from gridmaker.core.reconcile import VenueOrder
from gridmaker.core.units import Atoms, Steps, Ticks
from gridmaker.engine.translate import to_fill, to_request, to_update, to_venue_order
from gridmaker.exchange.api import ExchangeFill, ExchangeOrder, MalformedResponse
from tests import kit

INST = kit.instrument()  # tick 0.01, step 0.00001
SYMBOL = INST.symbol

ORDER = ExchangeOrder(
    symbol=SYMBOL,
    order_id="42",
    client_order_id="gm-b1",
    side=Side.BUY,
    price=Decimal("49900.01"),
    amount=Decimal("0.00100"),
    filled=Decimal("0.0004"),
    status=OrderStatus.OPEN,
    ts_event=7,
)
FILL = ExchangeFill(
    symbol=SYMBOL,
    trade_id="t9",
    order_id="42",
    client_order_id="gm-b1",
    side=Side.BUY,
    price=Decimal("49900.01"),
    amount=Decimal("0.0004"),
    fee=Decimal("0.019960004"),
    is_maker=True,
    ts_event=8,
)


def test_a_place_action_becomes_the_request_in_decimals() -> None:
    # Arrange
    action = PlaceOrder(
        symbol=SYMBOL,
        client_order_id="gm-b1",
        level=-2,
        side=Side.BUY,
        price_ticks=Ticks(4_990_001),
        qty_steps=Steps(100),
        post_only=False,
    )

    # Act
    request = to_request(action, INST)

    # Assert
    assert (request.price, request.amount) == (Decimal("49900.01"), Decimal("0.001"))
    assert (request.symbol, request.client_order_id, request.side) == (SYMBOL, "gm-b1", Side.BUY)
    assert request.post_only is False


def test_an_order_becomes_an_update_in_steps() -> None:
    # Act
    update = to_update(ORDER, INST)

    # Assert
    assert update == OrderUpdate(
        symbol=SYMBOL,
        client_order_id="gm-b1",
        status=OrderStatus.OPEN,
        filled_steps=Steps(40),
        ts_event=7,
    )


def test_an_order_becomes_a_venue_order_in_ticks_and_steps() -> None:
    # Act
    order = to_venue_order(ORDER, INST)

    # Assert
    assert order == VenueOrder(
        client_order_id="gm-b1",
        side=Side.BUY,
        price_ticks=Ticks(4_990_001),
        qty_steps=Steps(100),
        filled_steps=Steps(40),
    )


def test_a_fill_becomes_a_core_fill_with_its_fee_in_atoms() -> None:
    # Act
    fill = to_fill(FILL, INST)

    # Assert
    assert fill == Fill(
        symbol=SYMBOL,
        trade_id="t9",
        client_order_id="gm-b1",
        side=Side.BUY,
        price_ticks=Ticks(4_990_001),
        qty_steps=Steps(40),
        fee_atoms=INST.to_atoms(Decimal("0.019960004")),
        ts_event=8,
    )
    assert fill.fee_atoms == Atoms(199_600_040_000)


def test_an_order_filled_beyond_its_amount_is_refused() -> None:
    # Arrange
    overfilled = replace(ORDER, filled=Decimal("0.00101"))

    # Act / Assert
    with pytest.raises(MalformedResponse, match=r"filled 0\.00101 of 0\.00100") as caught:
        to_update(overfilled, INST)
    assert (caught.value.symbol, caught.value.client_order_id) == (SYMBOL, "gm-b1")


def test_an_order_filled_exactly_its_amount_is_accepted() -> None:
    # Act
    update = to_update(replace(ORDER, filled=ORDER.amount, status=OrderStatus.FILLED), INST)

    # Assert
    assert update.filled_steps == 100


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("price", Decimal("49900.005")),  # off the tick
        ("amount", Decimal("0.000015")),  # off the step
        ("filled", Decimal("0.000001")),  # off the step
        ("filled", Decimal("-0.0001")),  # negative
        ("price", Decimal("NaN")),
    ],
)
def test_an_inexact_order_is_malformed_never_rounded(field: str, value: Decimal) -> None:
    # Arrange
    changes: dict[str, object] = {field: value}
    order = replace(ORDER, **changes)  # type: ignore[arg-type]

    # Act / Assert
    with pytest.raises(MalformedResponse):
        to_venue_order(order, INST)


@pytest.mark.parametrize("filled", [Decimal("0.000001"), Decimal("-0.0001")])
def test_an_update_with_an_inexact_fill_size_is_malformed(filled: Decimal) -> None:
    # Act / Assert
    with pytest.raises(MalformedResponse) as caught:
        to_update(replace(ORDER, filled=filled), INST)
    assert caught.value.client_order_id == "gm-b1"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("price", Decimal("49900.001")),  # off the tick
        ("amount", Decimal("0.000041")),  # off the step
        ("fee", Decimal("0.00000000000001")),  # finer than an atom
        ("amount", Decimal("0")),  # a fill of nothing
        ("price", Decimal("0")),
        ("fee", Decimal("-0.01")),
    ],
)
def test_an_inexact_or_impossible_fill_is_malformed(field: str, value: Decimal) -> None:
    # Arrange
    changes: dict[str, object] = {field: value}
    fill = replace(FILL, **changes)  # type: ignore[arg-type]

    # Act / Assert
    with pytest.raises(MalformedResponse) as caught:
        to_fill(fill, INST)
    assert (caught.value.symbol, caught.value.client_order_id) == (SYMBOL, "gm-b1")
