"""``Sender``: one answer per action, and never a second order for a client id it cannot see.

The venue is the in-process simulator (it keeps real orders and balances) with three faults a
real venue shows: an answer lost after the order executed, an error before it executed, and
lookups that lag behind writes.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from gridmaker.core.events import CancelOrder, Event, OrderStatus, OrderUpdate, PlaceOrder, Side
from gridmaker.core.units import Instrument, Steps, Ticks
from gridmaker.engine import sending
from gridmaker.engine.retry import Retrier, RetryPolicy
from gridmaker.engine.sending import NOT_VISIBLE_YET, Sender
from gridmaker.exchange.api import (
    ExchangeError,
    ExchangeOrder,
    MalformedResponse,
    NotFound,
    OrderRequest,
    RateLimited,
    Rejected,
    Unavailable,
    UnknownOutcome,
)
from gridmaker.exchange.sim import SimExchange
from tests import kit

SYMBOL = "BTC/USDT"
BUY_TICKS = 4_990_000  # 49,900.00: below the last trade, rests as a maker


class Clock:
    """The time the sender and the venue see: moved by the test, not by the machine's load."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """A clock that ``gridmaker.engine.sending`` reads in place of ``time``."""
    fake = Clock()
    monkeypatch.setattr(sending, "time", fake)
    return fake


class FaultyVenue(SimExchange):
    """The simulator, with the faults queued per call; everything else is its real state."""

    def __init__(self, *, lookup_lag_s: float = 0.0, clock: Clock | None = None) -> None:
        super().__init__(
            instruments=[kit.instrument()],
            initial_balances={"BTC": Decimal(1), "USDT": Decimal(100000)},
        )
        self.apply_trade(SYMBOL, Decimal("50000"), Decimal("0.1"), 0)
        self.lookup_lag_s = lookup_lag_s
        self.clock = clock or Clock()
        self.lost_answers: list[ExchangeError] = []
        """Errors raised after the placement executed (the venue has the order)."""
        self.refusals: list[ExchangeError] = []
        """Errors raised before the placement executed (the venue has nothing)."""
        self.lookup_errors: list[ExchangeError] = []
        self.lookups = 0
        self._placed_at: dict[str, float] = {}

    async def place_order(self, request: OrderRequest) -> ExchangeOrder:
        if self.refusals:
            raise self.refusals.pop(0)
        order = await super().place_order(request)
        self._placed_at[request.client_order_id] = self.clock.monotonic()
        if self.lost_answers:
            raise self.lost_answers.pop(0)
        return order

    async def fetch_order(self, symbol: str, client_order_id: str) -> ExchangeOrder:
        self.lookups += 1
        if self.lookup_errors:
            raise self.lookup_errors.pop(0)
        placed = self._placed_at.get(client_order_id)
        if placed is not None and self.clock.monotonic() - placed < self.lookup_lag_s:
            raise NotFound("Order does not exist.", symbol=symbol)
        return await super().fetch_order(symbol, client_order_id)


class GracefulVenue(FaultyVenue):
    """A venue that states how long its lookups may lag (the ``LookupGrace`` capability)."""

    lookup_grace_s = 0.3


def _sender(venue: SimExchange) -> tuple[Sender, Instrument]:
    sender = Sender(venue, Retrier(RetryPolicy(attempts=3, base_delay_s=0.0), sleep=_no_sleep))
    inst = venue.instrument(SYMBOL)
    sender.instruments[SYMBOL] = inst
    return sender, inst


async def _no_sleep(_: float) -> None:
    return None


def _place(cid: str = "gm-b1") -> PlaceOrder:
    return PlaceOrder(
        symbol=SYMBOL,
        client_order_id=cid,
        level=-2,
        side=Side.BUY,
        price_ticks=Ticks(BUY_TICKS),
        qty_steps=Steps(100),
    )


def _status(event: Event) -> tuple[OrderStatus, str]:
    assert isinstance(event, OrderUpdate)
    return event.status, event.reason


def _open_with(venue: SimExchange, cid: str) -> int:
    return sum(
        1 for o in venue.all_orders(SYMBOL) if o.client_order_id == cid and o.status == "open"
    )


def test_a_placement_answers_open_and_rests_at_the_venue() -> None:
    async def main() -> None:
        # Arrange
        venue = FaultyVenue()
        sender, inst = _sender(venue)

        # Act
        event = await sender.send(_place(), inst)

        # Assert
        assert _status(event) == (OrderStatus.OPEN, "")
        assert _open_with(venue, "gm-b1") == 1

    asyncio.run(main())


def test_a_duplicate_client_id_is_looked_up_never_placed_twice() -> None:
    async def main() -> None:
        # Arrange: the order is already at the venue (a send before a crash).
        venue = FaultyVenue()
        sender, inst = _sender(venue)
        await venue.place_order(
            OrderRequest(
                symbol=SYMBOL,
                client_order_id="gm-b1",
                side=Side.BUY,
                price=Decimal("49900"),
                amount=Decimal("0.001"),
            )
        )

        # Act
        event = await sender.send(_place(), inst)

        # Assert
        assert _status(event) == (OrderStatus.OPEN, "")
        assert venue.lookups == 1
        assert _open_with(venue, "gm-b1") == 1

    asyncio.run(main())


@pytest.mark.parametrize(
    "error",
    [
        UnknownOutcome("timed out", symbol=SYMBOL),
        MalformedResponse("body is not JSON", symbol=SYMBOL),
    ],
    ids=lambda e: type(e).__name__,
)
def test_an_ambiguous_placement_is_unknown_and_not_sent_again(error: ExchangeError) -> None:
    async def main() -> None:
        # Arrange: the venue executed the order, then the answer was lost.
        venue = FaultyVenue()
        venue.lost_answers.append(error)
        sender, inst = _sender(venue)

        # Act
        event = await sender.send(_place(), inst)
        looked_up = await sender.lookup(SYMBOL, "gm-b1")

        # Assert
        assert _status(event) == (OrderStatus.UNKNOWN, str(error))
        assert _status(looked_up) == (OrderStatus.OPEN, "")
        assert _open_with(venue, "gm-b1") == 1

    asyncio.run(main())


def test_a_placement_the_venue_certainly_refused_is_retried() -> None:
    async def main() -> None:
        # Arrange: a 5xx before the venue did anything: a write may be retried.
        venue = FaultyVenue()
        venue.refusals.append(Unavailable("503 before sending", symbol=SYMBOL))
        sender, inst = _sender(venue)

        # Act
        event = await sender.send(_place(), inst)

        # Assert
        assert _status(event) == (OrderStatus.OPEN, "")
        assert sender.retrier.retries == 1
        assert _open_with(venue, "gm-b1") == 1

    asyncio.run(main())


@pytest.mark.parametrize(
    "error",
    [
        Unavailable("503 before sending", symbol=SYMBOL),
        RateLimited("429", retry_after_s=0.0, symbol=SYMBOL),
    ],
    ids=lambda e: type(e).__name__,
)
def test_a_placement_still_failing_after_its_retries_is_unknown(error: ExchangeError) -> None:
    async def main() -> None:
        # Arrange: every attempt fails; the sender does not guess the order absent.
        venue = FaultyVenue()
        venue.refusals.extend([error] * 3)
        sender, inst = _sender(venue)

        # Act
        event = await sender.send(_place(), inst)

        # Assert
        assert _status(event) == (OrderStatus.UNKNOWN, str(error))
        assert sender.retrier.retries == 2
        assert _open_with(venue, "gm-b1") == 0

    asyncio.run(main())


def test_a_rejection_is_an_answer_with_its_reason() -> None:
    async def main() -> None:
        # Arrange
        venue = FaultyVenue()
        venue.refusals.append(Rejected("-2010", reason="post-only would cross", symbol=SYMBOL))
        sender, inst = _sender(venue)

        # Act
        event = await sender.send(_place(), inst)

        # Assert
        assert _status(event) == (OrderStatus.REJECTED, "post-only would cross")
        assert _open_with(venue, "gm-b1") == 0

    asyncio.run(main())


def test_an_unreadable_lookup_stays_unknown() -> None:
    async def main() -> None:
        # Arrange: every read attempt fails ambiguously.
        venue = FaultyVenue()
        venue.lookup_errors.extend(UnknownOutcome("timed out", symbol=SYMBOL) for _ in range(3))
        sender, _ = _sender(venue)

        # Act
        event = await sender.lookup(SYMBOL, "gm-b1")

        # Assert
        status, reason = _status(event)
        assert status is OrderStatus.UNKNOWN
        assert reason.startswith("lookup failed")

    asyncio.run(main())


def test_not_found_without_a_grace_is_proof_of_absence() -> None:
    async def main() -> None:
        # Arrange: a venue that hides new orders but states no grace.
        venue = FaultyVenue(lookup_lag_s=5.0, clock=Clock())
        venue.lost_answers.append(UnknownOutcome("timed out", symbol=SYMBOL))
        sender, inst = _sender(venue)
        await sender.send(_place(), inst)

        # Act
        event = await sender.lookup(SYMBOL, "gm-b1")

        # Assert
        assert _status(event) == (OrderStatus.NOT_FOUND, "not found at venue")

    asyncio.run(main())


def test_not_found_within_the_grace_is_unknown_then_the_order_shows(clock: Clock) -> None:
    async def main() -> None:
        # Arrange: the answer is lost and lookups lag; the venue states its grace.
        venue = GracefulVenue(lookup_lag_s=0.2, clock=clock)
        venue.lost_answers.append(UnknownOutcome("timed out", symbol=SYMBOL))
        sender, inst = _sender(venue)
        await sender.send(_place(), inst)

        # Act
        clock.now += 0.1
        early = await sender.lookup(SYMBOL, "gm-b1")
        clock.now += 0.15
        later = await sender.lookup(SYMBOL, "gm-b1")

        # Assert
        status, reason = _status(early)
        assert status is OrderStatus.UNKNOWN
        assert reason.startswith(NOT_VISIBLE_YET)
        assert _status(later) == (OrderStatus.OPEN, "")
        assert sender.grace_s == 0.3

    asyncio.run(main())


def test_not_found_after_the_grace_is_proof_of_absence(clock: Clock) -> None:
    async def main() -> None:
        # Arrange: the request timed out before the venue took it: the order never existed.
        venue = GracefulVenue(clock=clock)
        venue.refusals.append(UnknownOutcome("timed out before sending", symbol=SYMBOL))
        sender, inst = _sender(venue)
        await sender.send(_place(), inst)

        # Act
        clock.now += 0.29
        early = await sender.lookup(SYMBOL, "gm-b1")
        clock.now += 0.02
        later = await sender.lookup(SYMBOL, "gm-b1")

        # Assert
        assert _status(early)[0] is OrderStatus.UNKNOWN
        assert _status(later) == (OrderStatus.NOT_FOUND, "not found at venue")

    asyncio.run(main())


def test_a_cancel_of_an_order_the_venue_no_longer_has_is_looked_up() -> None:
    async def main() -> None:
        # Arrange: the order filled before the cancel arrived.
        venue = FaultyVenue()
        sender, inst = _sender(venue)
        await sender.send(_place(), inst)
        venue.apply_trade(SYMBOL, Decimal("49900"), Decimal("1"), 1)
        cancel = CancelOrder(symbol=SYMBOL, client_order_id="gm-b1", level=-2)

        # Act
        event = await sender.send(cancel, inst)

        # Assert
        assert isinstance(event, OrderUpdate)
        assert event.status is OrderStatus.FILLED
        assert event.filled_steps == 100
        assert venue.lookups == 1

    asyncio.run(main())
