"""A grid with a trigger price places nothing until the price reaches or crosses it."""

from __future__ import annotations

import pytest

from gridmaker.core.decide import decide, needs_decision
from gridmaker.core.events import Side
from gridmaker.core.evolve import evolve
from gridmaker.core.state import GridMode
from tests import kit
from tests.unit.core.paper_book import P0, SP, PaperBook, places, tick


def _waiting(trigger: int) -> PaperBook:
    state = kit.state(params_=kit.params(mode=GridMode.LONG))
    return PaperBook.of(evolve(state, trigger_ticks=trigger))


@pytest.mark.parametrize(
    ("prices", "trigger"),
    [
        ([P0 - 3 * SP, P0 - SP, P0 - SP // 2], P0),  # below it, rising, not there yet
        ([P0 + 3 * SP, P0 + SP, P0 + 1], P0),  # above it, falling, not there yet
    ],
)
def test_trigger_not_reached_places_nothing(prices: list[int], trigger: int) -> None:
    # Arrange
    book = _waiting(trigger)

    # Act
    for price in prices:
        book.trade(price)

    # Assert
    assert book.actions == []
    assert not book.state.is_started and book.state.slots == {}


@pytest.mark.parametrize(
    ("before", "at"),
    [
        (P0 - 2 * SP, P0),  # rises to it
        (P0 + 2 * SP, P0),  # falls to it
        (P0 - 2 * SP, P0 + 3 * SP + 7),  # jumps up across it
        (P0 + 2 * SP, P0 - 3 * SP - 7),  # jumps down across it
    ],
)
def test_trigger_reached_or_crossed_from_either_side_starts_the_grid_there(
    before: int, at: int
) -> None:
    # Arrange
    book = _waiting(P0)
    book.trade(before)

    # Act
    sent = book.trade(at)

    # Assert: started at the price that crossed, buys below it only
    assert book.state.is_started and book.state.start_price_ticks == at
    buys = places(sent)
    assert buys and all(p.side is Side.BUY and p.price_ticks < at for p in buys)
    assert max(p.price_ticks for p in buys) == max(
        P0 + k * SP for k in range(-20, 21) if P0 + k * SP < at
    )


def test_trigger_first_price_at_the_trigger_starts_at_once() -> None:
    book = _waiting(P0)
    sent = book.trade(P0)
    assert book.state.is_started and len(places(sent)) == 20


def test_trigger_prices_that_do_not_cross_need_no_decision() -> None:
    # Arrange
    book = _waiting(P0)
    book.trade(P0 - 5 * SP)
    state = book.state

    # Act / Assert: the engines skip these; the crossing one is decided
    assert not needs_decision(state, P0 - 9 * SP)
    assert not needs_decision(state, P0 - 1)
    assert needs_decision(state, P0)
    assert needs_decision(state, P0 + 1)
    assert decide(state, tick(state, P0 - 1)).actions == ()


def test_trigger_crossed_grid_trades_after() -> None:
    # Arrange
    book = _waiting(P0 + SP)
    book.trade(P0 - 2 * SP)
    book.trade(P0 + SP)  # the trigger: the grid starts, buys below

    # Act: the price falls onto a buy, then comes back to its sell
    book.trade(P0)
    book.trade(P0 + SP)

    # Assert
    assert (book.state.buy_fills, book.state.sell_fills, book.state.completed_cycles) == (1, 1, 1)


def test_trigger_unset_starts_on_the_first_price() -> None:
    book = _waiting(0)
    sent = book.trade(P0 - 7 * SP)
    assert book.state.is_started and places(sent)
