"""Capital added to or withdrawn from a running grid, and compounding (``order_qty``)."""

from __future__ import annotations

from dataclasses import replace

from gridmaker.core.decide import decide
from gridmaker.core.events import Action, CapitalChange, Reconfigure, Side
from gridmaker.core.planning import free_funds
from gridmaker.core.reshape import capital_problems
from gridmaker.core.state import GridMode, StrategyParams
from gridmaker.core.units import FEE_SCALE
from tests import kit
from tests.unit.core.paper_book import P0, SP, PaperBook, live, places

LONG = kit.params(mode=GridMode.LONG)


def _running(params: StrategyParams = LONG, quote: str = "100000", spacing: int = SP) -> PaperBook:
    grid = kit.grid(spacing_ticks=spacing, min_level=-2 if spacing > SP else -20)
    book = PaperBook.of(kit.state(base="0", quote=quote, grid_=grid, params_=params))
    book.trade(P0)
    return book


def _capital(book: PaperBook, delta: int) -> list[Action]:
    change = CapitalChange(symbol=book.state.symbol, delta_atoms=delta, reason="t", ts_event=0)
    if not capital_problems(book.state, change):
        book.venue.quote += delta  # the operator moved it at the venue too
    return list(book.apply(change))


def _round_trip(book: PaperBook, spacing: int = SP) -> list[tuple[Side, int]]:
    """The level under P0 buys, sells at P0; what it places next (side, size)."""
    book.trade(P0 - spacing)
    start = len(book.actions)
    book.trade(P0)
    return [(p.side, p.qty_steps) for p in places(book.actions[start:])]


def test_capital_added_cancels_nothing_and_doubles_the_next_cycle_buy() -> None:
    # Arrange: equity is all quote (no base), so adding as much again doubles the capital
    book = _running()
    before = live(book.state)
    equity = book.state.quote_atoms

    # Act
    sent = _capital(book, equity)

    # Assert: nothing cancelled or re-sent, the balance there at once, the size at the next cycle
    assert sent == []
    assert live(book.state) == before
    assert book.state.quote_atoms == 2 * equity
    assert _round_trip(book) == [(Side.BUY, 200)]


def test_capital_withdrawn_halves_the_next_cycle_buy() -> None:
    book = _running()
    equity = book.state.quote_atoms

    sent = _capital(book, -equity // 2)

    assert sent == []
    assert _round_trip(book) == [(Side.BUY, 50)]


def test_capital_withdrawal_beyond_the_free_quote_is_refused_and_the_book_unchanged() -> None:
    # Arrange: twenty working buys hold part of the quote
    book = _running()
    state = book.state
    free = free_funds(state, state.slots).quote
    assert 0 < free < state.quote_atoms
    change = CapitalChange(symbol=state.symbol, delta_atoms=-(free + 1), reason="t", ts_event=0)

    # Act
    problems = capital_problems(state, change)
    decision = decide(state, change)

    # Assert
    assert len(problems) == 1 and "cannot withdraw" in problems[0] and str(free) in problems[0]
    assert decision.state is state and decision.actions == ()
    assert capital_problems(state, replace(change, delta_atoms=-free)) == []


def test_capital_change_of_zero_is_refused() -> None:
    state = _running().state
    change = CapitalChange(symbol=state.symbol, delta_atoms=0, reason="t", ts_event=0)
    assert capital_problems(state, change) == ["the amount must not be 0"]


def test_capital_added_funds_the_buys_that_waited_for_quote() -> None:
    # Arrange: 120 USDT pays for two buys of 50 USDT, not three
    book = _running(quote="120")
    assert len(live(book.state)) == 2
    per_buy = 60 * 10**13  # 60 USDT in atoms (tick 0.01 x step 0.00001 / 10^6)

    # Act
    sent = _capital(book, per_buy)

    # Assert: a third buy, one level lower, nothing cancelled
    assert [(p.side, p.price_ticks) for p in places(sent)] == [(Side.BUY, P0 - 3 * SP)]
    assert len(sent) == 1


def _compounding(compound: bool) -> PaperBook:
    """100 USDT, levels 5 % apart: one round trip earns about 2.4 % of the capital."""
    return _running(replace(LONG, compound=compound), quote="100", spacing=50 * SP)


def test_compounding_grows_the_next_buy_with_realized_profit() -> None:
    # Arrange
    book = _compounding(True)
    capital = book.state.quote_atoms

    # Act
    after = _round_trip(book, 50 * SP)

    # Assert
    profit = book.state.realized_pnl_atoms
    assert profit > 0
    expected = 100 * (capital + profit) // capital
    assert expected > 100
    assert after == [(Side.BUY, expected)]


def test_compounding_off_keeps_the_configured_size() -> None:
    book = _compounding(False)
    after = _round_trip(book, 50 * SP)
    assert book.state.realized_pnl_atoms > 0
    assert after == [(Side.BUY, 100)]


def test_capital_follows_equity_at_the_last_price_when_first_changed() -> None:
    # Arrange: a neutral book holding base: its equity counts the base at the last price
    state = kit.state(base="0.01", quote="1000")
    book = PaperBook.of(state)
    book.trade(P0)
    equity = book.state.quote_atoms + book.state.base_steps * P0 * FEE_SCALE

    # Act
    _capital(book, equity)

    # Assert
    assert (book.state.sizing_atoms, book.state.capital_atoms) == (equity, 2 * equity)


def test_capital_change_before_any_price_on_a_book_holding_base_is_refused() -> None:
    # Arrange: 1 BTC and 1,000 USDT, no price yet to value the BTC at
    state = kit.state(base="1", quote="1000")
    change = CapitalChange(
        symbol=state.symbol, delta_atoms=state.quote_atoms, reason="t", ts_event=0
    )

    # Act
    problems = capital_problems(state, change)
    decision = decide(state, change)

    # Assert: refused, rather than doubling every order for a 2 % change in equity
    assert len(problems) == 1 and "price" in problems[0]
    assert decision.state is state


def test_capital_change_before_any_price_on_a_quote_only_book_is_applied() -> None:
    state = kit.state(base="0", quote="1000")
    change = CapitalChange(
        symbol=state.symbol, delta_atoms=state.quote_atoms, reason="t", ts_event=0
    )
    after = decide(state, change).state
    assert (after.sizing_atoms, after.capital_atoms) == (state.quote_atoms, 2 * state.quote_atoms)


def test_compounding_turned_on_by_a_reshape_grows_sizes_from_the_profit_made_after() -> None:
    # Arrange: a round trip's profit made before compounding was asked for
    book = _compounding(False)
    assert _round_trip(book, 50 * SP) == [(Side.BUY, 100)]
    before = book.state.realized_pnl_atoms
    change = Reconfigure(
        symbol=book.state.symbol,
        grid=book.state.grid,
        params=replace(book.state.params, compound=True),
        risk_params=book.state.risk_params,
        allow_loss=False,
        ts_event=0,
    )

    # Act
    sent = book.apply(change)
    after = _round_trip(book, 50 * SP)

    # Assert: no jump for the past profit; the next trip's profit grows the size
    assert sent == []
    made = book.state.realized_pnl_atoms - before
    capital = book.state.sizing_atoms
    assert made > 0 and after == [(Side.BUY, 100 * (capital + made) // capital)]
    assert after[0][1] > 100


def test_capital_withdrawn_is_no_drawdown_for_the_breaker() -> None:
    # Arrange: a 10 % drawdown limit, and 90 % of the free quote withdrawn
    from gridmaker.core.planning import free_funds
    from gridmaker.core.risk import BreakerState, RiskParams

    state = kit.state(base="0", grid_=kit.grid(), params_=kit.params(mode=GridMode.LONG))
    book = PaperBook.of(replace(state, risk_params=RiskParams(drawdown_ppm=100_000)))
    book.trade(P0)
    free = free_funds(book.state, book.state.slots).quote
    mark = book.state.risk.high_water_atoms

    # Act
    withdrawn = free * 9 // 10
    book.apply(
        CapitalChange(symbol=book.state.symbol, delta_atoms=-withdrawn, reason="", ts_event=0)
    )
    moved = book.state.risk.high_water_atoms
    book.trade(P0 + SP)

    # Assert: the high-water mark moved with the withdrawal; the breaker did not trip
    assert mark > 0 and moved == mark - withdrawn
    assert book.state.risk.breaker is BreakerState.ACTIVE
