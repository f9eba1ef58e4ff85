"""The one mapping from ccxt exceptions to the taxonomy of ``exchange/api.py``.

Nothing above ``exchange/`` sees ccxt: every failure of a ccxt call goes through ``map_error``,
except a plain exception raised in code of ours (``is_our_bug``), which is a bug to surface,
not an outage to retry.
"""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import ccxt.async_support as accxt  # type: ignore[import-untyped]

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
from gridmaker.exchange.ccxt.quirks import GENERIC_QUIRKS, VenueQuirks

__all__ = ["JunkBody", "Throttled", "is_our_bug", "map_error"]


class Throttled(accxt.DDoSProtection):  # type: ignore[misc]
    """A 429 or 418 seen by the response hook, with the response's own ``Retry-After``."""

    def __init__(self, message: str, *, status: int, retry_after_s: float | None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after_s = retry_after_s


class JunkBody(accxt.BadResponse):  # type: ignore[misc]
    """A 2xx whose body is not the JSON type its endpoint returns."""


@dataclass(frozen=True, slots=True)
class _Context:
    is_write: bool
    quirks: VenueQuirks
    retry_after_s: float
    ids: Mapping[str, str]


def _throttled(e: Any, c: _Context) -> ExchangeError:
    if e.status == 418:
        return Banned(f"banned by the venue (418): {_text(e)}", **c.ids)
    wait = c.retry_after_s if e.retry_after_s is None else e.retry_after_s
    return RateLimited(f"rate limited (429): {_text(e)}", retry_after_s=wait, **c.ids)


def _ddos(e: Any, c: _Context) -> ExchangeError:
    if " 418" in str(e)[:40]:
        return Banned(f"banned by the venue (418): {_text(e)}", **c.ids)
    return RateLimited(f"rate limited: {_text(e)}", retry_after_s=c.retry_after_s, **c.ids)


def _refused(e: Any, c: _Context) -> ExchangeError:
    if c.is_write and any(m in str(e) for m in c.quirks.duplicate_messages):
        return DuplicateClientOrderId(
            f"client id already open: {_text(e)}", reason="duplicate_client_order_id", **c.ids
        )
    reason = "invalid_order" if c.is_write else "bad_request"
    return Rejected(f"refused: {_text(e)}", reason=reason, **c.ids)


def _transient(e: Any, c: _Context) -> ExchangeError:
    if c.is_write and not _never_sent(e):
        return UnknownOutcome(f"outcome unknown: {_text(e)}", **c.ids)
    return Unavailable(f"venue unavailable: {_text(e)}", **c.ids)


def _simple(kind: type[ExchangeError], what: str) -> Callable[[Any, _Context], ExchangeError]:
    return lambda e, c: kind(f"{what}: {_text(e)}", **c.ids)


def _rejected(reason: str, what: str) -> Callable[[Any, _Context], ExchangeError]:
    return lambda e, c: Rejected(f"{what}: {_text(e)}", reason=reason, **c.ids)


def _text(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}"


_RULES: Final[
    tuple[tuple[type | tuple[type, ...], Callable[[Any, _Context], ExchangeError]], ...]
] = (
    (Throttled, _throttled),
    (accxt.DDoSProtection, _ddos),
    (accxt.RateLimitExceeded, _ddos),
    (accxt.AuthenticationError, _simple(Banned, "the venue refused the API key")),
    (accxt.InvalidNonce, _simple(Unavailable, "clock outside the venue's window, not executed")),
    (accxt.OrderNotFound, _simple(NotFound, "no such order")),
    (accxt.BadResponse, _simple(MalformedResponse, "malformed response")),
    (accxt.OrderImmediatelyFillable, _rejected("post_only_would_cross", "post-only would cross")),
    (accxt.InsufficientFunds, _rejected("insufficient_balance", "insufficient funds")),
    ((accxt.InvalidOrder, accxt.BadRequest, accxt.NotSupported), _refused),
    ((accxt.NetworkError, accxt.OperationFailed, accxt.ExchangeError), _transient),
)
"""ccxt class -> our error, most specific first (``DDoSProtection`` is a ``NetworkError``,
``OrderNotFound`` an ``InvalidOrder``, ``BadResponse`` an ``OperationFailed``)."""


def map_error(
    e: BaseException,
    *,
    is_write: bool,
    quirks: VenueQuirks = GENERIC_QUIRKS,
    symbol: str = "",
    client_order_id: str = "",
    retry_after_s: float = 1.0,
) -> ExchangeError:
    """The taxonomy error for an exception raised by a ccxt read or write.

    On a write anything that may have reached the matching engine (timeouts, lost connections,
    5xx, unclassified errors) is ``UnknownOutcome``; only a failure to connect at all is
    ``Unavailable``. A 429 is ``RateLimited`` (not executed), a 418 or a refused key ``Banned``.
    """
    if isinstance(e, ExchangeError):
        return e
    context = _Context(
        is_write=is_write,
        quirks=quirks,
        retry_after_s=retry_after_s,
        ids={"symbol": symbol, "client_order_id": client_order_id},
    )
    for kinds, build in _RULES:
        if isinstance(e, kinds):
            return build(e, context)
    return _transient(e, context)


def _library_paths() -> tuple[str, ...]:
    """Files and folders of the code between us and the venue: ccxt, aiohttp, asyncio, ssl."""
    import aiohttp

    ccxt_root = Path(accxt.__file__).parent.parent
    paths = [ccxt_root, Path(aiohttp.__file__).parent, Path(asyncio.__file__).parent]
    folders = tuple(str(p) + os.sep for p in paths)
    return (*folders, str(ssl.__file__), str(socket.__file__))


_LIBRARIES: Final = _library_paths()
"""Where a plain exception (``KeyError``, ``TypeError`` ...) is ccxt, or the I/O beneath it,
failing on what the venue sent: such failures are mapped like any other venue failure."""


def is_our_bug(e: BaseException) -> bool:
    """A plain exception raised in code of ours (or of no library the venue goes through).

    Such an error is a bug, not an outage: mapped to ``Unavailable`` it would be retried for
    ever and look like the venue is down. ccxt's own errors, network errors and exceptions
    raised inside ccxt, aiohttp or asyncio are the venue's doing and are mapped.
    """
    import aiohttp

    if isinstance(
        e, accxt.BaseError | ExchangeError | OSError | TimeoutError | aiohttp.ClientError
    ):
        return False
    tb = e.__traceback__
    if tb is None:
        return True
    while tb.tb_next is not None:
        tb = tb.tb_next
    return not tb.tb_frame.f_code.co_filename.startswith(_LIBRARIES)


def _never_sent(e: BaseException) -> bool:
    """The request certainly did not leave: the connection could not be opened."""
    import aiohttp

    cause = e.__cause__
    return isinstance(cause, aiohttp.ClientConnectorError)
