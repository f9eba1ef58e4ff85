from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from gridmaker.core.events import OrderStatus, Side
from gridmaker.exchange.api import (
    MalformedResponse,
    NotFound,
    OrderRequest,
    RateLimited,
    UnknownOutcome,
)
from gridmaker.exchange.faults import WIRE_KINDS, FaultDraws, FaultKind, FaultPlan, FaultyExchange
from gridmaker.exchange.sim import SimExchange
from tests import kit


def _sim() -> SimExchange:
    return SimExchange(
        instruments=[kit.instrument()],
        initial_balances={"BTC": Decimal(1), "USDT": Decimal(100000)},
    )


def _request(cid: str = "gmt1BN1C0") -> OrderRequest:
    return OrderRequest(
        symbol="BTC/USDT",
        client_order_id=cid,
        side=Side.BUY,
        price=Decimal("49000"),
        amount=Decimal("0.001"),
    )


def _faulty(kind: FaultKind, **plan: object) -> tuple[FaultyExchange, SimExchange]:
    sim = _sim()
    return FaultyExchange(sim, FaultPlan(every=1, kinds=(kind,), **plan)), sim  # type: ignore[arg-type]


def test_timeout_after_executes_and_loses_the_answer() -> None:
    faulty, sim = _faulty(FaultKind.TIMEOUT_AFTER)
    with pytest.raises(UnknownOutcome, match="executed"):
        asyncio.run(faulty.place_order(_request()))
    assert [o.status for o in sim.all_orders("BTC/USDT")] == [OrderStatus.OPEN]


def test_timeout_before_does_not_execute() -> None:
    faulty, sim = _faulty(FaultKind.TIMEOUT_BEFORE)
    with pytest.raises(UnknownOutcome, match="not executed"):
        asyncio.run(faulty.place_order(_request()))
    assert sim.all_orders("BTC/USDT") == []


def test_rate_limit_carries_retry_after() -> None:
    faulty, _ = _faulty(FaultKind.RATE_LIMITED, retry_after_s=1.5)
    with pytest.raises(RateLimited) as raised:
        asyncio.run(faulty.fetch_balances())
    assert raised.value.retry_after_s == 1.5


def test_invisible_order_is_missed_by_lookups_for_n_calls() -> None:
    # Arrange
    sim = _sim()
    faulty = FaultyExchange(
        sim, FaultPlan(every=2, kinds=(FaultKind.INVISIBLE,), invisible_lookups=2)
    )
    asyncio.run(faulty.fetch_balances())  # call 1: clean
    asyncio.run(faulty.place_order(_request()))  # call 2: placed, invisible

    # Act / Assert
    for _ in range(2):
        with pytest.raises(NotFound):
            asyncio.run(faulty.fetch_order("BTC/USDT", "gmt1BN1C0"))
    assert asyncio.run(faulty.fetch_order("BTC/USDT", "gmt1BN1C0")).status is OrderStatus.OPEN


def test_malformed_read_is_an_error_or_nonsense_never_an_empty_answer() -> None:
    # Arrange
    sim = _sim()
    asyncio.run(sim.place_order(_request()))
    faulty = FaultyExchange(sim, FaultPlan(every=1, kinds=(FaultKind.MALFORMED,), seed=3))

    # Act
    outcomes = []
    for _ in range(20):
        try:
            orders = asyncio.run(faulty.fetch_open_orders("BTC/USDT"))
            outcomes.append("nonsense" if orders[0].filled < 0 else "clean")
        except MalformedResponse:
            outcomes.append("error")

    # Assert
    assert set(outcomes) == {"nonsense", "error"}


def test_same_plan_injects_the_same_faults() -> None:
    def run() -> list[str]:
        faulty = FaultyExchange(_sim(), FaultPlan(rate=0.5, seed=9))
        seen = []
        for _ in range(50):
            try:
                asyncio.run(faulty.fetch_balances())
                seen.append("ok")
            except Exception as e:
                seen.append(type(e).__name__)
        return seen

    assert run() == run()


def test_plan_rejects_a_rate_outside_zero_one() -> None:
    with pytest.raises(ValueError, match="fault rate"):
        FaultPlan(rate=1.5)


# --- one vocabulary for the config's chaos and the simulator's wire -----------------------------


def test_the_config_and_the_wire_keep_their_names() -> None:
    # Act
    in_process = [k.value for k in FaultKind if k.in_process]
    on_wire = [str(k.wire) for k in WIRE_KINDS]

    # Assert: exactly what `chaos: kinds` and `--chaos-kinds` took before they shared one enum
    assert in_process == [
        "rate_limited",
        "banned",
        "unavailable",
        "timeout_before",
        "timeout_after",
        "delay",
        "malformed",
        "invisible",
    ]
    assert on_wire == ["429", "418", "5xx", "504", "-1007", "lost", "delay", "junk"]
    assert all(FaultKind.from_wire(name).wire == name for name in on_wire)
    with pytest.raises(ValueError, match="not a wire fault kind"):
        FaultKind.from_wire("timeout_before")


def test_a_plan_holds_only_kinds_its_place_can_inject() -> None:
    # Act / Assert: a process-only kind has no wire name, a wire-only kind no FaultyExchange path
    with pytest.raises(ValueError, match="on the wire"):
        FaultPlan.wire(rate=0.5, kinds=(FaultKind.INVISIBLE,))
    with pytest.raises(ValueError, match="in process"):
        FaultPlan(rate=0.5, kinds=(FaultKind.GATEWAY_TIMEOUT,))
    with pytest.raises(ValueError, match="wire plan"):
        FaultyExchange(_sim(), FaultPlan.wire(rate=0.5))


def test_each_place_describes_its_plan_in_its_own_names() -> None:
    # Act
    process = FaultPlan(rate=0.3, seed=5, kinds=(FaultKind.TIMEOUT_AFTER, FaultKind.MALFORMED))
    wire = FaultPlan.wire(rate=0.3, seed=5, kinds=(FaultKind.TIMEOUT_AFTER, FaultKind.MALFORMED))

    # Assert
    assert process.describe() == "faults: rate 0.3, kinds timeout_after,malformed, seed 5"
    assert wire.describe() == "chaos: rate 0.3, kinds lost,junk, seed 5"


def test_a_read_never_draws_a_kind_only_a_write_can_have() -> None:
    # Arrange
    invisible = FaultDraws(FaultPlan(every=1, kinds=(FaultKind.INVISIBLE,)))
    unknown = FaultDraws(FaultPlan.wire(rate=1.0, kinds=(FaultKind.UNKNOWN_STATUS,)))

    # Act / Assert
    assert invisible.next(is_write=False) is None
    assert invisible.next(is_write=True) is FaultKind.INVISIBLE
    assert unknown.next(is_write=False) is FaultKind.UNAVAILABLE
    assert unknown.next(is_write=True) is FaultKind.UNKNOWN_STATUS
