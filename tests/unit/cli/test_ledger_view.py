"""``compare``: the journal's ledger against the venue's, difference by trade id."""

from __future__ import annotations

from dataclasses import replace

from gridmaker.cli.ledger_view import compare
from gridmaker.core.events import Fill, Side
from gridmaker.core.ledger import Ledger, build_ledger
from gridmaker.core.units import Atoms
from tests.unit.core.test_ledger import INST, START, fill


def _ledger(fills: list[Fill]) -> Ledger:
    return build_ledger(
        fills, strategy_id="g1", instrument=INST, start_price_ticks=START, last_price_ticks=START
    )


Ids = tuple[str, ...]


def _compare(journal: list[Fill], venue: list[Fill]) -> tuple[bool, Ids, Ids, Ids]:
    got = compare(_ledger(journal), _ledger(venue), journal, venue)
    return got.equal, got.only_journal, got.only_venue, got.differ


BUY = fill(Side.BUY, 1, 0, 9_900, 10, trade_id="1")
SELL = fill(Side.SELL, 1, 0, 10_000, 10, trade_id="2")


def test_compare_same_fills_are_equal() -> None:
    assert _compare([SELL, BUY], [BUY, SELL]) == (True, (), (), ())


def test_compare_fill_missing_from_the_journal_is_only_at_the_venue() -> None:
    assert _compare([BUY], [BUY, SELL]) == (False, (), ("2",), ())


def test_compare_fill_missing_at_the_venue_is_only_in_the_journal() -> None:
    assert _compare([BUY, SELL], [BUY]) == (False, ("2",), (), ())


def test_compare_same_trade_id_with_another_fee_differs() -> None:
    cheaper = replace(SELL, fee_atoms=Atoms(SELL.fee_atoms - 1))
    assert _compare([BUY, SELL], [BUY, cheaper]) == (False, (), (), ("2",))


def test_compare_foreign_fill_only_at_the_venue_is_no_difference() -> None:
    foreign = fill(Side.BUY, 1, 0, 9_900, 10, strategy="g2", trade_id="3")
    assert _compare([BUY, SELL], [BUY, SELL, foreign]) == (True, (), (), ())
