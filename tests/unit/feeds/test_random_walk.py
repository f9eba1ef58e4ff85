from __future__ import annotations

import dataclasses
import itertools
from decimal import Decimal
from typing import Any

import pytest

from gridmaker.feeds import MarketFeed, MarketTrade, RandomWalkFeed

BASE: dict[str, Any] = {
    "seed": 7,
    "start_price": Decimal("50000"),
    "tick_size": Decimal("0.01"),
    "step_size": Decimal("0.0001"),
}


def make_feed(**overrides: Any) -> RandomWalkFeed:
    return RandomWalkFeed(**(BASE | overrides))


def take(feed: RandomWalkFeed, n: int, start: int = 0) -> list[MarketTrade]:
    return list(itertools.islice(feed.trades(start), n))


def test_random_walk_same_seed_yields_identical_sequence() -> None:
    first = make_feed(seed=11)
    second = make_feed(seed=11)

    a, b = take(first, 2000), take(second, 2000)

    assert a == b


def test_random_walk_same_feed_twice_yields_identical_sequence() -> None:
    feed = make_feed()

    a, b = take(feed, 500), take(feed, 500)

    assert a == b


def test_random_walk_different_seed_yields_different_sequence() -> None:
    first = make_feed(seed=1)
    second = make_feed(seed=2)

    a, b = take(first, 200), take(second, 200)

    assert [t.price for t in a] != [t.price for t in b]
    assert [t.amount for t in a] != [t.amount for t in b]


def test_random_walk_seed_one_matches_pinned_sequence() -> None:
    # Data dirs continue a feed by position: changing the algorithm must show up here.
    feed = make_feed(seed=1)

    head = take(feed, 3)

    assert head == [
        MarketTrade(
            price=Decimal("50000.00"), amount=Decimal("0.0069"), ts_event=1_700_000_000_000
        ),
        MarketTrade(
            price=Decimal("49967.34"), amount=Decimal("0.0033"), ts_event=1_700_000_001_000
        ),
        MarketTrade(
            price=Decimal("49952.25"), amount=Decimal("0.0131"), ts_event=1_700_000_002_000
        ),
    ]


@pytest.mark.parametrize("start", [0, 1, 2, 37, 999])
def test_random_walk_trades_from_start_equal_tail_of_full_sequence(start: int) -> None:
    feed = make_feed()
    full = take(feed, 1500)

    tail = take(feed, 1500 - start, start=start)

    assert tail == full[start:]


def test_random_walk_trades_from_start_on_bounded_feed_yields_remainder() -> None:
    feed = make_feed(length=10)

    tail = list(feed.trades(7))
    past_end = list(feed.trades(10))

    assert tail == list(feed.trades())[7:]
    assert len(tail) == 3
    assert past_end == []


def test_random_walk_negative_start_raises_value_error() -> None:
    feed = make_feed()

    with pytest.raises(ValueError, match="start, was -1"):
        feed.trades(-1)


def test_random_walk_prices_are_positive_tick_multiples() -> None:
    feed = make_feed(tick_size=Decimal("0.005"), start_price=Decimal("100"))

    trades = take(feed, 3000)

    assert all(t.price > 0 for t in trades)
    assert all(t.price % Decimal("0.005") == 0 for t in trades)
    assert len({t.price for t in trades}) > 10


def test_random_walk_wild_volatility_never_drops_below_one_tick() -> None:
    feed = make_feed(start_price=Decimal("0.05"), tick_size=Decimal("0.01"), volatility=Decimal(3))

    prices = [t.price for t in take(feed, 3000)]

    assert min(prices) == Decimal("0.01")
    assert all(p % Decimal("0.01") == 0 for p in prices)


def test_random_walk_drift_without_noise_follows_formula_exactly() -> None:
    feed = make_feed(
        start_price=Decimal(100),
        tick_size=Decimal(1),
        volatility=Decimal(0),
        drift=Decimal("0.1"),
        reversion=Decimal(0),
    )

    prices = [t.price for t in take(feed, 5)]

    # 100 + round(10) = 110; 110 + round(11) = 121; 121 + round(12.1) = 133; 133 + round(13.3)
    assert prices == [100, 110, 121, 133, 146]


def test_random_walk_reversion_pulls_towards_start_price() -> None:
    feed = make_feed(
        start_price=Decimal(100),
        tick_size=Decimal(1),
        volatility=Decimal(0),
        drift=Decimal("0.1"),
        reversion=Decimal("0.5"),
    )

    prices = [t.price for t in take(feed, 4)]

    # 100 + round(10) = 110; 110 + round(11 - 5) = 116; 116 + round(11.6 - 8) = 120
    assert prices == [100, 110, 116, 120]


def test_random_walk_amounts_are_step_multiples_within_bounds() -> None:
    feed = make_feed(
        step_size=Decimal("0.001"), min_amount=Decimal("0.002"), max_amount=Decimal("0.009")
    )

    amounts = [t.amount for t in take(feed, 3000)]

    assert all(Decimal("0.002") <= a <= Decimal("0.009") for a in amounts)
    assert all(a % Decimal("0.001") == 0 for a in amounts)
    assert min(amounts) == Decimal("0.002")
    assert max(amounts) == Decimal("0.009")


def test_random_walk_timestamps_strictly_increase_by_interval() -> None:
    feed = make_feed(interval_ms=250, start_ts=1_000)

    stamps = [t.ts_event for t in take(feed, 1000)]

    assert stamps[0] == 1_000
    assert all(b - a == 250 for a, b in itertools.pairwise(stamps))


def test_random_walk_length_bounds_the_sequence() -> None:
    feed = make_feed(length=25)

    trades = list(feed.trades())

    assert len(trades) == 25


def test_random_walk_zero_length_yields_nothing() -> None:
    feed = make_feed(length=0)

    trades = list(feed.trades())

    assert trades == []


def test_random_walk_without_length_is_unbounded() -> None:
    feed = make_feed(length=None)

    trades = take(feed, 20_000)

    assert len(trades) == 20_000


def test_random_walk_satisfies_market_feed_protocol() -> None:
    feed = make_feed()

    is_feed = isinstance(feed, MarketFeed)

    assert is_feed


def test_random_walk_key_names_kind_and_parameters() -> None:
    feed = make_feed(seed=1)

    key = feed.key

    assert key.startswith("random-walk:seed=1:start=50000:vol=0.0004:drift=0:rev=0.002:")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("seed", 8),
        ("start_price", Decimal("50000.01")),
        ("tick_size", Decimal("0.001")),
        ("step_size", Decimal("0.00001")),
        ("volatility", Decimal("0.0005")),
        ("drift", Decimal("0.0001")),
        ("reversion", Decimal("0.003")),
        ("interval_ms", 500),
        ("start_ts", 1_600_000_000_000),
        ("min_amount", Decimal("0.0002")),
        ("max_amount", Decimal("0.06")),
        ("length", 100),
    ],
)
def test_random_walk_key_changes_with_parameter(name: str, value: Any) -> None:
    base = make_feed()

    changed = dataclasses.replace(base, **{name: value})

    assert changed.key != base.key


def test_random_walk_key_covers_every_parameter() -> None:
    fields = {f.name for f in dataclasses.fields(RandomWalkFeed) if f.init}

    key = make_feed().key

    assert key.count(":") == len(fields)


def test_random_walk_key_equal_for_equal_decimal_spellings() -> None:
    plain = make_feed(start_price=Decimal("50000"), drift=Decimal(0))
    padded = make_feed(start_price=Decimal("50000.00"), drift=Decimal("-0.000"))

    keys = (plain.key, padded.key)

    assert keys[0] == keys[1]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("seed", -1),
        ("start_price", Decimal(0)),
        ("start_price", Decimal("50000.005")),
        ("start_price", Decimal("NaN")),
        ("tick_size", Decimal(0)),
        ("tick_size", Decimal("-0.01")),
        ("step_size", Decimal(0)),
        ("volatility", Decimal("-0.1")),
        ("drift", Decimal("Infinity")),
        ("reversion", Decimal("-0.1")),
        ("reversion", Decimal(1)),
        ("interval_ms", 0),
        ("start_ts", -1),
        ("min_amount", Decimal(0)),
        ("min_amount", Decimal("0.00015")),
        ("max_amount", Decimal("0.00005")),
        ("max_amount", Decimal("0.05005")),
        ("length", -1),
    ],
)
def test_random_walk_invalid_parameter_raises_naming_field(name: str, value: object) -> None:
    params = BASE | {name: value}

    with pytest.raises(ValueError, match=f"invalid {name}, was {value}") as caught:
        RandomWalkFeed(**params)

    assert name in str(caught.value)


@pytest.mark.parametrize(("name", "value"), [("volatility", 0.1), ("seed", True), ("seed", "1")])
def test_random_walk_wrong_type_raises_type_error_naming_field(name: str, value: object) -> None:
    params = BASE | {name: value}

    with pytest.raises(TypeError, match=f"invalid {name}"):
        RandomWalkFeed(**params)


def test_random_walk_step_one_prints_whole_amounts_by_default() -> None:
    # Arrange: the default amounts (0.0001..0.05) are no multiple of a step of 1
    feed = make_feed(start_price=Decimal(100), step_size=Decimal(1))

    # Act
    amounts = {t.amount for t in take(feed, 100)}

    # Assert
    assert amounts == {Decimal(1)}
    assert ":min=1:max=1:" in feed.key


def test_random_walk_default_amounts_keep_the_key_data_dirs_are_bound_to() -> None:
    # Arrange: a data dir stores the key; the defaults must not change it for usual steps
    feed = make_feed(step_size=Decimal("0.00001"))

    # Act
    key = feed.key

    # Assert
    assert ":min=0.0001:max=0.05:" in key
    assert feed.min_amount == Decimal("0.0001") and feed.max_amount == Decimal("0.05")


def test_random_walk_default_amounts_round_to_whole_steps() -> None:
    # Arrange
    feed = make_feed(step_size=Decimal("0.003"))

    # Act
    low, high = feed.min_amount, feed.max_amount

    # Assert
    assert (low, high) == (Decimal("0.003"), Decimal("0.048"))
