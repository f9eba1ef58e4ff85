"""The one mapping from ccxt exceptions to the taxonomy: every class, on a read and a write."""

from __future__ import annotations

import asyncio

import aiohttp
import ccxt.async_support as accxt  # type: ignore[import-untyped]
import pytest

from gridmaker.exchange.api import (
    Banned,
    DuplicateClientOrderId,
    ExchangeError,
    MalformedResponse,
    NotFound,
    RateLimited,
    Rejected,
    Unavailable,
    UnknownOutcome,
)
from gridmaker.exchange.ccxt import BINANCE_QUIRKS, CcxtExchange, map_error

# (ccxt exception, what a read becomes, what a write becomes), as ccxt raises them for Binance
TABLE: list[tuple[Exception, type[ExchangeError], type[ExchangeError]]] = [
    (accxt.DDoSProtection("binance 429 Too Many Requests"), RateLimited, RateLimited),
    (accxt.DDoSProtection("binance 418 I'm a teapot"), Banned, Banned),
    (accxt.RateLimitExceeded('binance {"code":-1003}'), RateLimited, RateLimited),
    (accxt.RateLimitExceeded('binance {"code":-1015}'), RateLimited, RateLimited),
    (accxt.RequestTimeout("binance POST 504"), Unavailable, UnknownOutcome),
    (accxt.RequestTimeout('binance {"code":-1007}'), Unavailable, UnknownOutcome),
    (accxt.ExchangeNotAvailable("binance 503 <html>"), Unavailable, UnknownOutcome),
    (accxt.NetworkError("binance connection reset"), Unavailable, UnknownOutcome),
    (accxt.OperationFailed('binance {"code":-1001}'), Unavailable, UnknownOutcome),
    (accxt.ExchangeError('binance {"code":-1008}'), Unavailable, UnknownOutcome),
    (accxt.InvalidNonce('binance {"code":-1021}'), Unavailable, Unavailable),
    (accxt.AuthenticationError('binance {"code":-2015}'), Banned, Banned),
    (accxt.PermissionDenied("binance no trading permission"), Banned, Banned),
    (accxt.OrderNotFound('binance {"code":-2013}'), NotFound, NotFound),
    (accxt.OrderNotFound('binance {"code":-2011}'), NotFound, NotFound),
    (accxt.BadResponse("binance junk"), MalformedResponse, MalformedResponse),
    (accxt.NullResponse("binance empty"), MalformedResponse, MalformedResponse),
    (accxt.InvalidOrder("binance Duplicate order sent."), Rejected, DuplicateClientOrderId),
    (accxt.InvalidOrder("binance Filter failure: LOT_SIZE"), Rejected, Rejected),
    (accxt.BadRequest("binance Filter failure: NOTIONAL"), Rejected, Rejected),
    (accxt.InsufficientFunds("binance insufficient balance"), Rejected, Rejected),
    (accxt.OrderImmediatelyFillable("binance would match"), Rejected, Rejected),
    (accxt.BadSymbol("binance Invalid symbol."), Rejected, Rejected),
]


@pytest.mark.parametrize(("error", "on_read", "on_write"), TABLE, ids=lambda v: str(v)[:40])
def test_map_error_maps_every_ccxt_class_by_read_and_write(
    error: Exception, on_read: type[ExchangeError], on_write: type[ExchangeError]
) -> None:
    # Act
    read = map_error(error, is_write=False, quirks=BINANCE_QUIRKS, symbol="BTC/USDT")
    write = map_error(
        error, is_write=True, quirks=BINANCE_QUIRKS, symbol="BTC/USDT", client_order_id="gmx"
    )

    # Assert: exact types, so a subclass (DuplicateClientOrderId < Rejected) is not a pass.
    assert type(read) is on_read
    assert type(write) is on_write
    assert write.symbol == "BTC/USDT" and write.client_order_id == "gmx"


def test_map_error_connect_failure_on_write_was_never_sent() -> None:
    # Arrange: how ccxt's async client reports a refused connection.
    cause = aiohttp.ClientConnectorError(
        connection_key=None,  # type: ignore[arg-type]
        os_error=ConnectionRefusedError(111, "refused"),
    )
    error = accxt.ExchangeNotAvailable("binance GET http://127.0.0.1:1/api/v3/order")
    error.__cause__ = cause

    # Act
    mapped = map_error(error, is_write=True)

    # Assert
    assert type(mapped) is Unavailable


def test_map_error_rejection_reasons_say_why() -> None:
    reasons = {
        type(e).__name__: map_error(e, is_write=True, quirks=BINANCE_QUIRKS)
        for e, _, _ in TABLE
        if isinstance(e, accxt.InsufficientFunds | accxt.OrderImmediatelyFillable)
    }

    assert {k: getattr(v, "reason", "") for k, v in reasons.items()} == {
        "InsufficientFunds": "insufficient_balance",
        "OrderImmediatelyFillable": "post_only_would_cross",
    }


def test_map_error_rate_limit_carries_the_retry_after_given() -> None:
    mapped = map_error(accxt.DDoSProtection("binance 429"), is_write=False, retry_after_s=2.5)

    assert isinstance(mapped, RateLimited) and mapped.retry_after_s == 2.5


async def _balances_failing_with(failure: BaseException | None, raise_in_ccxt: bool) -> object:
    """``fetch_balances`` through a real ccxt client whose account read fails as given."""
    client = accxt.binance({"apiKey": "k", "secret": "s"})

    async def fetch_balance() -> object:
        if raise_in_ccxt:
            client.decode(b"\xff\xfe")  # ccxt itself choking on bytes the venue sent
        assert failure is not None
        raise failure

    client.fetch_balance = fetch_balance
    venue = CcxtExchange(client)
    try:
        return await venue.fetch_balances()
    finally:
        await venue.close()


def test_call_bug_of_ours_surfaces_instead_of_looking_like_an_outage() -> None:
    # Act / Assert: a TypeError raised by our own code is not mapped (retried for ever).
    with pytest.raises(TypeError, match="a bug"):
        asyncio.run(_balances_failing_with(TypeError("a bug"), raise_in_ccxt=False))


def test_call_plain_error_raised_inside_ccxt_is_a_venue_failure() -> None:
    with pytest.raises(Unavailable):
        asyncio.run(_balances_failing_with(None, raise_in_ccxt=True))


def test_call_network_error_outside_ccxt_is_a_venue_failure() -> None:
    with pytest.raises(Unavailable):
        asyncio.run(_balances_failing_with(ConnectionResetError("reset"), raise_in_ccxt=False))
