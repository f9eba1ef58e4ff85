from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gridmaker.core.events import Side
from gridmaker.core.ids import MAX_CID_LEN, DecodedCid, decode_cid, encode_cid

strategies_ = st.from_regex(r"[a-z0-9]{1,8}", fullmatch=True)
levels = st.integers(min_value=-(36**8) + 1, max_value=36**8 - 1)
cycles = st.integers(min_value=0, max_value=36**11 - 1)
sides = st.sampled_from(Side)
VENUE_CHARSET = re.compile(r"[A-Za-z0-9]{1,32}")  # Binance, OKX and Bybit all accept this


@given(strategies_, levels, sides, cycles)
def test_cid_round_trips_and_fits_every_venue(strategy: str, level: int, side: Side, cycle: int):
    # Act
    cid = encode_cid(strategy, level, side, cycle)

    # Assert
    assert len(cid) <= MAX_CID_LEN
    assert VENUE_CHARSET.fullmatch(cid)
    assert decode_cid(cid) == DecodedCid(strategy, level, side, cycle)


@given(st.tuples(strategies_, levels, sides, cycles), st.tuples(strategies_, levels, sides, cycles))
def test_distinct_inputs_never_share_an_id(
    a: tuple[str, int, Side, int], b: tuple[str, int, Side, int]
) -> None:
    if a != b:
        assert encode_cid(*a) != encode_cid(*b)


def test_same_input_gives_same_id() -> None:
    assert encode_cid("btc", -3, Side.BUY, 7) == encode_cid("btc", -3, Side.BUY, 7)


@pytest.mark.parametrize(
    "cid",
    [
        "",
        "x123",
        "gmbtcBP01C0",
        "gmbtcBN0C0",
        "gmBTCBP1C0",
        "gmbtcXP1C0",
        "gmbtcBP1C",
        "binance123",
    ],
)
def test_decode_foreign_or_non_canonical_id_is_none(cid: str) -> None:
    assert decode_cid(cid) is None


@given(st.text(alphabet="gmbtcBSPNC0123456789az", max_size=20))
def test_decode_accepts_only_what_encode_produces(text: str) -> None:
    decoded = decode_cid(text)
    if decoded is not None:
        assert encode_cid(decoded.strategy, decoded.level, decoded.side, decoded.cycle) == text


@pytest.mark.parametrize(
    ("strategy", "cycle"), [("", 0), ("UPPER", 0), ("toolongid", 0), ("ok", -1)]
)
def test_encode_invalid_input_raises(strategy: str, cycle: int) -> None:
    with pytest.raises(ValueError):
        encode_cid(strategy, 0, Side.BUY, cycle)
