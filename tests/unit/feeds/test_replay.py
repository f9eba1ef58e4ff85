from __future__ import annotations

import gzip
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

from gridmaker.feeds import FeedError, MarketFeed, MarketTrade, ReplayFeed

ROWS: list[tuple[int, str, str]] = [
    (1_700_000_000_000, "50000.01", "0.0015"),
    (1_700_000_000_000, "12345.678901234567891", "0.1"),
    (1_700_000_001_500, "49999.5", "2"),
    (1_700_000_002_000, "50001", "0.00000001"),
]
EXPECTED = [
    MarketTrade(price=Decimal(price), amount=Decimal(amount), ts_event=ts)
    for ts, price, amount in ROWS
]


def csv_text(rows: list[tuple[int, str, str]] = ROWS) -> str:
    return "timestamp,price,amount\n" + "".join(f"{t},{p},{a}\n" for t, p, a in rows)


def ccxt_json_text(rows: list[tuple[int, str, str]] = ROWS) -> str:
    items = [
        f'{{"id": "{i}", "timestamp": {t}, "datetime": "2023-11-14T22:13:20.000Z", '
        f'"symbol": "BTC/USDT", "side": "buy", "type": null, "price": {p}, "amount": {a}, '
        f'"cost": 1.5, "fee": null}}'
        for i, (t, p, a) in enumerate(rows)
    ]
    return "[\n" + ",\n".join(items) + "\n]\n"


def compact_json_text(rows: list[tuple[int, str, str]] = ROWS) -> str:
    items = [f'[{t}, "{i}", null, "sell", {p}, {a}, 1.5]' for i, (t, p, a) in enumerate(rows)]
    return "[" + ", ".join(items) + "]"


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    data = content.encode() if isinstance(content, str) else content
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    return path


FORMATS: dict[str, tuple[str, Callable[[], str]]] = {
    "csv": ("trades.csv", csv_text),
    "ccxt-json": ("trades.json", ccxt_json_text),
    "compact-json": ("trades.json", compact_json_text),
    "csv-gzip": ("trades.csv.gz", csv_text),
    "ccxt-json-gzip": ("trades.json.gz", ccxt_json_text),
    "compact-json-gzip": ("trades.json.gz", compact_json_text),
    "csv-sniffed": ("trades.txt", csv_text),
    "json-sniffed": ("trades.dat", ccxt_json_text),
}


@pytest.mark.parametrize("fmt", FORMATS)
def test_replay_each_format_yields_the_same_exact_trades(tmp_path: Path, fmt: str) -> None:
    name, make_text = FORMATS[fmt]
    path = write(tmp_path, name, make_text())

    trades = list(ReplayFeed(path).trades())

    assert trades == EXPECTED
    assert [t.price.as_tuple() for t in trades] == [Decimal(p).as_tuple() for _, p, _ in ROWS]
    assert [t.amount.as_tuple() for t in trades] == [Decimal(a).as_tuple() for _, _, a in ROWS]


@pytest.mark.parametrize("fmt", ["ccxt-json", "compact-json"])
def test_replay_json_prices_are_decimals_never_floats(tmp_path: Path, fmt: str) -> None:
    name, make_text = FORMATS[fmt]
    path = write(tmp_path, name, make_text())

    trades = list(ReplayFeed(path).trades())

    assert all(type(t.price) is Decimal and type(t.amount) is Decimal for t in trades)
    assert trades[1].price == Decimal("12345.678901234567891")


def test_replay_json_integer_and_string_numbers_are_accepted(tmp_path: Path) -> None:
    text = '[{"timestamp": 5, "price": 50000, "amount": "0.25"}]'
    path = write(tmp_path, "trades.json", text)

    trades = list(ReplayFeed(path).trades())

    assert trades == [MarketTrade(price=Decimal(50000), amount=Decimal("0.25"), ts_event=5)]


def test_replay_csv_header_in_any_order_with_extra_columns_is_accepted(tmp_path: Path) -> None:
    text = "side,Amount,timestamp,price\r\nbuy,0.5,10,100.10\r\nsell,0.25,11,100.20\r\n"
    path = write(tmp_path, "trades.csv", text)

    trades = list(ReplayFeed(path).trades())

    assert trades == [
        MarketTrade(price=Decimal("100.10"), amount=Decimal("0.5"), ts_event=10),
        MarketTrade(price=Decimal("100.20"), amount=Decimal("0.25"), ts_event=11),
    ]


def test_replay_len_counts_trades(tmp_path: Path) -> None:
    path = write(tmp_path, "trades.csv", csv_text())

    feed = ReplayFeed(path)

    assert len(feed) == len(ROWS)


@pytest.mark.parametrize("start", [0, 1, 3, 4, 10])
def test_replay_trades_from_start_yields_tail(tmp_path: Path, start: int) -> None:
    feed = ReplayFeed(write(tmp_path, "trades.csv", csv_text()))

    tail = list(feed.trades(start))

    assert tail == EXPECTED[start:]


def test_replay_negative_start_raises_value_error(tmp_path: Path) -> None:
    feed = ReplayFeed(write(tmp_path, "trades.csv", csv_text()))

    with pytest.raises(ValueError, match="start, was -1"):
        feed.trades(-1)


def test_replay_satisfies_market_feed_protocol(tmp_path: Path) -> None:
    feed = ReplayFeed(write(tmp_path, "trades.csv", csv_text()))

    is_feed = isinstance(feed, MarketFeed)

    assert is_feed


def test_replay_key_names_file_and_content_hash(tmp_path: Path) -> None:
    feed = ReplayFeed(write(tmp_path, "btc-2024.csv", csv_text()))

    key = feed.key

    assert key.startswith("replay:btc-2024.csv:sha256=")
    digest = key.rsplit("=", 1)[1]
    assert len(digest) == 16
    assert all(c in "0123456789abcdef" for c in digest)


def test_replay_key_same_for_same_name_and_content(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = write(tmp_path / "a", "t.csv", csv_text())
    second = write(tmp_path / "b", "t.csv", csv_text())

    keys = (ReplayFeed(first).key, ReplayFeed(second).key)

    assert keys[0] == keys[1]


def test_replay_key_changes_with_file_name(tmp_path: Path) -> None:
    first = write(tmp_path, "one.csv", csv_text())
    second = write(tmp_path, "two.csv", csv_text())

    keys = (ReplayFeed(first).key, ReplayFeed(second).key)

    assert keys[0] != keys[1]
    assert keys[0].rsplit("=", 1)[1] == keys[1].rsplit("=", 1)[1]


def test_replay_key_changes_when_content_changes(tmp_path: Path) -> None:
    path = write(tmp_path, "trades.csv", csv_text())
    before = ReplayFeed(path).key

    write(tmp_path, "trades.csv", csv_text(ROWS[:-1]))
    after = ReplayFeed(path).key

    assert after != before
    assert after.startswith("replay:trades.csv:")


def test_replay_bad_last_row_raises_before_any_trade(tmp_path: Path) -> None:
    rows = [(1_000 + i, "100", "1") for i in range(1000)] + [(5_000, "0", "1")]
    path = write(tmp_path, "trades.csv", csv_text(rows))

    with pytest.raises(FeedError, match="row 1001"):
        ReplayFeed(path)


HEADER = "timestamp,price,amount\n"

MALFORMED_CSV: list[tuple[str, str, list[str]]] = [
    ("zero-price", HEADER + "1,100,1\n2,0,1\n", ["row 2", "line 3", "price", "'0'"]),
    ("negative-price", HEADER + "1,-5,1\n", ["row 1", "price", "'-5'"]),
    ("negative-amount", HEADER + "1,100,1\n2,100,-0.5\n", ["row 2", "amount", "'-0.5'"]),
    ("zero-amount", HEADER + "1,100,0.000\n", ["row 1", "amount", "'0.000'"]),
    ("fractional-ts", HEADER + "1.5,100,1\n", ["row 1", "timestamp", "'1.5'"]),
    ("text-ts", HEADER + "1,100,1\nnow,100,1\n", ["row 2", "timestamp", "'now'"]),
    ("negative-ts", HEADER + "-5,100,1\n", ["row 1", "timestamp", "-5"]),
    ("backwards-ts", HEADER + "10,100,1\n10,100,1\n9,100,1\n", ["row 3", "backwards", "9"]),
    ("missing-column", HEADER + "1,100,1\n2,100\n", ["row 2", "found 2", "'2,100'"]),
    ("empty-cell", HEADER + "1,,1\n", ["row 1", "missing price"]),
    ("nan-price", HEADER + "1,NaN,1\n", ["row 1", "price", "'NaN'"]),
    ("infinite-amount", HEADER + "1,100,Infinity\n", ["row 1", "amount", "'Infinity'"]),
    ("garbage-price", HEADER + "1,abc,1\n", ["row 1", "price", "'abc'"]),
    ("header-missing-column", "timestamp,price\n1,100\n", ["header", "'amount'"]),
    ("no-header", "1,100,1\n", ["header", "'timestamp'", "'1,100,1'"]),
    ("header-only", HEADER, ["no trades"]),
    ("empty-file", "", ["empty"]),
    ("blank-file", "\n  \n", ["empty"]),
]


@pytest.mark.parametrize(
    ("content", "expected"),
    [case[1:] for case in MALFORMED_CSV],
    ids=[case[0] for case in MALFORMED_CSV],
)
def test_replay_malformed_csv_raises_feed_error_naming_row(
    tmp_path: Path, content: str, expected: list[str]
) -> None:
    path = write(tmp_path, "bad.csv", content)

    with pytest.raises(FeedError) as caught:
        ReplayFeed(path)

    message = str(caught.value)
    assert "bad.csv" in message
    for part in expected:
        assert part in message


def ccxt(ts: str, price: str, amount: str) -> str:
    return f'{{"timestamp": {ts}, "price": {price}, "amount": {amount}, "side": "buy"}}'


MALFORMED_JSON: list[tuple[str, str, list[str]]] = [
    (
        "missing-key",
        f'[{ccxt("1", "100", "1")}, {{"timestamp": 2, "amount": 1}}]',
        ["row 2", "missing key 'price'"],
    ),
    ("nan-price", f"[{ccxt('1', 'NaN', '1')}]", ["row 1", "price", "NaN"]),
    ("infinite-amount", f"[{ccxt('1', '100', 'Infinity')}]", ["row 1", "amount", "Infinity"]),
    ("string-nan-price", "[" + ccxt("1", '"nan"', "1") + "]", ["row 1", "price", "'nan'"]),
    ("zero-price", f"[{ccxt('1', '0', '1')}]", ["row 1", "price", "found 0"]),
    ("negative-amount", f"[{ccxt('1', '100', '-1.5')}]", ["row 1", "amount", "-1.5"]),
    ("null-amount", f"[{ccxt('1', '100', 'null')}]", ["row 1", "amount", "null"]),
    ("float-ts", f"[{ccxt('1.7e12', '100', '1')}]", ["row 1", "timestamp", "1.7E+12"]),
    ("string-ts", "[" + ccxt('"17"', "100", "1") + "]", ["row 1", "timestamp", "'17'"]),
    ("negative-ts", f"[{ccxt('-1', '100', '1')}]", ["row 1", "timestamp", "-1"]),
    (
        "backwards-ts",
        f"[{ccxt('5', '100', '1')}, {ccxt('4', '100', '1')}]",
        ["row 2", "backwards", "4"],
    ),
    ("compact-short", '[[1, "a", null, "buy", 100, 1], [2, "b", 100, 1]]', ["row 2", "4 values"]),
    ("compact-zero-amount", '[[1, "a", null, "buy", 100, 0, 0]]', ["row 1", "amount", "0"]),
    ("mixed-shapes", f'[{ccxt("1", "100", "1")}, [2, "b", null, "buy", 1, 1, 1]]', ["row 2"]),
    ("not-a-trade", "[42]", ["row 1", "42"]),
    ("empty-list", "[]", ["no trades"]),
    ("not-a-list", '{"trades": []}', ["expected a JSON list", "trades"]),
    ("invalid-json", '[{"timestamp": 1,', ["invalid JSON", "line 1"]),
    ("empty-file", "", ["empty"]),
]


@pytest.mark.parametrize(
    ("content", "expected"),
    [case[1:] for case in MALFORMED_JSON],
    ids=[case[0] for case in MALFORMED_JSON],
)
def test_replay_malformed_json_raises_feed_error_naming_row(
    tmp_path: Path, content: str, expected: list[str]
) -> None:
    path = write(tmp_path, "bad.json", content)

    with pytest.raises(FeedError) as caught:
        ReplayFeed(path)

    message = str(caught.value)
    assert "bad.json" in message
    for part in expected:
        assert part in message


def test_replay_malformed_row_inside_gzip_raises_feed_error_naming_row(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.csv.gz", HEADER + "1,100,1\n2,100,0\n")

    with pytest.raises(FeedError, match=r"bad\.csv\.gz row 2 \(line 3\)"):
        ReplayFeed(path)


def test_replay_corrupt_gzip_raises_feed_error_naming_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv.gz"
    path.write_bytes(b"\x1f\x8bnot really gzip")

    with pytest.raises(FeedError, match=r"bad\.csv\.gz.*gzip"):
        ReplayFeed(path)


def test_replay_non_utf8_file_raises_feed_error_naming_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(HEADER.encode() + b"1,\xff,1\n")

    with pytest.raises(FeedError, match=r"bad\.csv.*UTF-8"):
        ReplayFeed(path)


def test_replay_missing_file_raises_feed_error_naming_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.csv"

    with pytest.raises(FeedError, match=r"absent\.csv"):
        ReplayFeed(path)
