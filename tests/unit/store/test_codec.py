"""The book's canonical JSON and its checksum: lossless, stable, and tamper-evident."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal

import pytest

from gridmaker.core.decide import decide
from gridmaker.core.events import Fill, PlaceOrder, PriceTick, Side
from gridmaker.core.grid import GridKind
from gridmaker.core.risk import BreakerState, OnTrip, RiskParams, RiskState
from gridmaker.core.state import GridState
from gridmaker.core.units import Atoms, Steps, Ticks
from gridmaker.store.codec import (
    STATE_FORMAT,
    canonical_json,
    checksum,
    decode_state,
    encode_state,
)
from tests import kit

P0 = 5_000_000
SPACING = 5_000


def _traded() -> GridState:
    """A book that has placed orders, had a buy filled and seen prices move: slots holding
    and open, counters, balances and the breaker's window all set."""
    state = kit.state()
    first = decide(state, _tick(state, P0, 0))
    buy = next(a for a in first.actions if isinstance(a, PlaceOrder) and a.side is Side.BUY)
    fill = Fill(
        symbol=state.symbol,
        trade_id="t1",
        client_order_id=buy.client_order_id,
        side=Side.BUY,
        price_ticks=buy.price_ticks,
        qty_steps=buy.qty_steps,
        fee_atoms=Atoms(7),
        ts_event=1,
    )
    state = decide(first.state, fill).state
    for n, price in enumerate((P0 - SPACING, P0 - 2 * SPACING, P0 + SPACING), start=2):
        state = decide(state, _tick(state, price, n)).state
    return state


def _tick(state: GridState, price: int, ts: int) -> PriceTick:
    return PriceTick(symbol=state.symbol, price_ticks=Ticks(price), qty_steps=Steps(1), ts_event=ts)


def _round_trip(state: GridState) -> GridState:
    return decode_state(json.loads(canonical_json(encode_state(state))))


def test_a_traded_book_round_trips_through_its_json() -> None:
    # Arrange
    state = _traded()
    assert state.buy_fills == 1
    assert state.fees_atoms == 7

    # Act
    back = _round_trip(state)

    # Assert
    assert back == state


def test_a_tripped_breaker_with_its_windows_and_limits_round_trips() -> None:
    # Arrange: every risk field away from its default.
    risk = RiskState(
        breaker=BreakerState.HALTED,
        trigger="fast_move",
        reason="price fell 5 % in 60 s",
        tripped_at=1_700_000_000_000,
        cleared_by="operator",
        cleared_at=1_700_000_060_000,
        trips=3,
        high_water_atoms=123_456,
        window=((1, P0), (2, P0 - SPACING)),
        candles=((P0, 10), (P0 + SPACING, 20)),
    )
    limits = RiskParams(
        fast_move_ppm=50_000,
        fast_move_window_ms=60_000,
        drawdown_ppm=100_000,
        stop_loss_ticks=P0 - 10 * SPACING,
        on_trip=OnTrip.HALT,
        cooldown_ms=5_000,
    )
    state = replace(_traded(), risk=risk, risk_params=limits, liquidation_cid="gm-liq")

    # Act
    back = _round_trip(state)

    # Assert
    assert back == state
    assert back.risk.window == ((1, P0), (2, P0 - SPACING))


def test_a_geometric_book_with_fine_units_round_trips() -> None:
    # Arrange
    inst = kit.instrument(tick_size=Decimal("0.0000001"), maker_fee=Decimal("0.00075"))
    grid = kit.grid(kind=GridKind.GEOMETRIC, ratio=Decimal("1.0025"))
    state = kit.state(instrument_=inst, grid_=grid)

    # Act
    back = _round_trip(state)

    # Assert
    assert back == state
    assert back.instrument.tick_size == Decimal("0.0000001")
    assert back.grid.ratio == Decimal("1.0025")


def test_canonical_json_is_the_same_bytes_whatever_the_key_order() -> None:
    # Arrange
    encoded = encode_state(_traded())
    reversed_keys = dict(reversed(list(encoded.items())))

    # Act
    text = canonical_json(encoded)

    # Assert
    assert text == canonical_json(reversed_keys)
    assert text == canonical_json(encode_state(_round_trip(_traded())))
    assert " " not in text and "\n" not in text
    assert text.isascii()


def test_canonical_json_writes_decimals_as_their_exact_strings() -> None:
    # Arrange
    encoded = encode_state(kit.state(instrument_=kit.instrument(min_notional=Decimal("5.10"))))

    # Act
    text = canonical_json(encoded)

    # Assert
    assert '"min_notional":"5.10"' in text
    assert '"tick_size":"0.01"' in text


def test_checksum_is_sha256_of_the_text() -> None:
    # Act
    digest = checksum('{"a":1}')

    # Assert
    assert digest == "015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862"


@pytest.mark.parametrize("position", [0, 1, 17, -2])
def test_checksum_detects_one_flipped_byte(position: int) -> None:
    # Arrange
    text = canonical_json(encode_state(_traded()))
    at = position % len(text)
    flipped = text[:at] + chr(ord(text[at]) ^ 0x01) + text[at + 1 :]

    # Act
    before, after = checksum(text), checksum(flipped)

    # Assert
    assert flipped != text
    assert before != after


def test_a_state_of_another_format_is_refused() -> None:
    # Arrange
    raw = encode_state(kit.state())
    raw["format"] = STATE_FORMAT + 1

    # Act / Assert
    with pytest.raises(ValueError, match="unsupported state format"):
        decode_state(raw)


def test_a_slot_row_that_does_not_match_its_field_names_is_refused() -> None:
    # Arrange
    raw = encode_state(_traded())
    raw["slots"][0] = raw["slots"][0][:-1]

    # Act / Assert
    with pytest.raises(ValueError):
        decode_state(raw)
