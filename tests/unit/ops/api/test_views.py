"""The API's JSON numbers and times: plain decimals, ISO-8601 UTC beside epoch ms."""

from __future__ import annotations

from gridmaker.core.units import Atoms, Steps, Ticks
from gridmaker.engine.notices import FillApplied, Quiet
from gridmaker.ops.api.views import event_json, stamp, stamp_text
from tests import kit


def test_stamp_is_iso_utc_beside_epoch_ms_and_none_for_never() -> None:
    assert stamp(1_700_000_000_123) == {
        "at": "2023-11-14T22:13:20.123+00:00",
        "ms": 1_700_000_000_123,
    }
    assert stamp(0) == {"at": None, "ms": None}
    assert stamp_text("2023-11-14T22:13:20+00:00") == {
        "at": "2023-11-14T22:13:20+00:00",
        "ms": 1_700_000_000_000,
    }
    assert stamp_text(None) == {"at": None, "ms": None}


def test_event_json_renders_a_fill_in_plain_decimals_beside_its_integers() -> None:
    inst = kit.instrument()
    fill = FillApplied(
        symbol="BTC/USDT",
        trade_id="t1",
        client_order_id="c1",
        side="buy",
        price_ticks=Ticks(5_000_000),
        qty_steps=Steps(100),
        fee_atoms=Atoms(inst.to_atoms(inst.from_ticks(1)) // 1000),
        at_ms=1_700_000_000_000,
    )

    body = event_json(fill, {"BTC/USDT": inst})

    assert body["type"] == "fill_applied" and body["price_ticks"] == 5_000_000
    assert (body["price"], body["qty"]) == ("50000", "0.001")
    assert "E" not in body["fee"]
    assert body["at"] == "2023-11-14T22:13:20.000+00:00"


def test_event_json_of_a_market_without_an_instrument_keeps_the_integers() -> None:
    body = event_json(Quiet(at_ms=5), {})

    assert body == {"type": "quiet", "at_ms": 5, "at": "1970-01-01T00:00:00.005+00:00"}
