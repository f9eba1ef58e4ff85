"""The tape's questions (from an id, in a window, the most recent) and the kline intervals."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from gridmaker.exchange.sim.http.binance_klines import Interval, kline_rows
from gridmaker.exchange.sim.tape import Print, Tape

SYMBOL = "BTC/USDT"


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


def _tape(times: list[int]) -> Tape:
    tape = Tape()
    for i, ts in enumerate(times, start=1):
        tape.add([tape.next_print(SYMBOL, i, Decimal(100 + i % 3), Decimal(1), ts)])
    return tape


def test_tape_between_a_start_gives_the_first_and_an_end_alone_the_last() -> None:
    tape = _tape([10, 20, 20, 30, 40])

    def ids(prints: object) -> list[int]:
        return [p.id for p in prints]  # type: ignore[attr-defined]

    assert ids(tape.between(SYMBOL, 20, 30, limit=10)) == [2, 3, 4]
    assert ids(tape.between(SYMBOL, 20, None, limit=2)) == [2, 3]
    assert ids(tape.between(SYMBOL, None, 30, limit=2)) == [3, 4]
    assert ids(tape.from_id(SYMBOL, 4, limit=10)) == [4, 5]
    assert ids(tape.recent(SYMBOL, 2)) == [4, 5]
    assert ids(tape.between(SYMBOL, 41, None, limit=5)) == []


def test_tape_a_print_stamped_before_the_last_takes_the_last_time() -> None:
    tape = _tape([10, 20])

    late = tape.next_print(SYMBOL, 3, Decimal(50), Decimal(1), 5)

    assert (late.ts_event, late.buyer_maker) == (20, True)


def test_tape_refuses_a_print_that_does_not_follow() -> None:
    tape = _tape([10])

    with pytest.raises(ValueError, match="does not follow"):
        tape.add([Print(SYMBOL, 1, Decimal(1), Decimal(1), 10, buyer_maker=False)])


@pytest.mark.parametrize(
    ("name", "at", "opens"),
    [
        ("1w", "2024-01-03T12:00:00", ("2024-01-01T00:00:00", "2024-01-08T00:00:00")),
        ("1M", "2024-02-29T23:59:59", ("2024-02-01T00:00:00", "2024-03-01T00:00:00")),
        ("1M", "2023-12-05T00:00:00", ("2023-12-01T00:00:00", "2024-01-01T00:00:00")),
        ("3d", "1970-01-05T00:00:00", ("1970-01-04T00:00:00", "1970-01-07T00:00:00")),
        ("4h", "2024-01-01T05:00:00", ("2024-01-01T04:00:00", "2024-01-01T08:00:00")),
    ],
)
def test_interval_opens_align_as_binance_does(name: str, at: str, opens: tuple[str, str]) -> None:
    interval = Interval(name)

    start = interval.open_of(_ms(at))

    assert (start, interval.after(start)) == (_ms(opens[0]), _ms(opens[1]))
    assert interval.before(interval.after(start)) == start


def test_klines_without_a_start_are_the_last_ones_opening_by_the_end() -> None:
    tape = _tape([0, 61_000, 185_000])
    rows = kline_rows(
        tape.all(SYMBOL), tape.times(SYMBOL), Interval("1m"), start_ms=None, end_ms=150_000, limit=2
    )

    assert [(r[0], r[6], r[8]) for r in rows] == [(60_000, 119_999, 1), (120_000, 179_999, 0)]
    assert kline_rows([], [], Interval("1m"), start_ms=None, end_ms=None, limit=5) == []
