"""The ``Exchange`` protocol, the venue-side records, and the error taxonomy.

Error tree (every error carries ``symbol`` and, for order calls, ``client_order_id``)::

    ExchangeError
    ├── RateLimited(retry_after_s)   retry after the delay; the request was not executed
    ├── Banned                       418/IP ban: stop all trading, trip the breaker
    ├── Unavailable                  5xx or connection refused before sending; retry later;
    │                                a write was not executed
    ├── UnknownOutcome               timeout or lost response on a write: the order MAY exist;
    │                                look it up by client id before any resend
    ├── Rejected(reason)             the venue refused: invalid order, insufficient funds,
    │   │                            post-only would cross; the order does not exist
    │   └── DuplicateClientOrderId   an order with this client id is already open: it EXISTS
    ├── NotFound                     no order with this client id at the venue
    └── MalformedResponse            a body that does not make sense: fail closed, never read
                                     it as "no orders" or "no fills"

Outcome policy: only ``Rejected`` (and its absence of an order) and ``NotFound`` are definitive
about an order not existing. Everything ambiguous leaves the order UNKNOWN until a lookup by
client id answers. Reads may be retried freely; writes are never retried blindly.

Amounts here are ``Decimal`` in venue units (``price``, ``amount``); the engine converts them to
ticks and steps through the ``Instrument``.

Capabilities some venues have beyond ``Exchange`` are protocols too, each ``runtime_checkable``:
``PriceStream`` and ``OrderStream`` (``VenueStreams``: both), ``LookupGrace``, ``VenueAccount``
and ``SimulatedMarket``. Where a venue may lack one, the user asks ``isinstance(venue, Cap)``
and falls back to what the absence means (no grace, no account id, a market we do not print);
where one is required (a live session's streams) it is the parameter's type. They are not
properties with defaults on ``Exchange`` because no venue inherits ``Exchange``: every venue,
wrapper and test fake implements it by shape, so a default there would reach none of them.
``isinstance`` on such a protocol checks that the members exist, as ``hasattr`` did, but by
name and type. A wrapper that forwards through ``__getattr__`` must spell the member out (as
``FaultyExchange`` does): from Python 3.12 the check does not call ``__getattr__``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol, runtime_checkable

from gridmaker.core.events import OrderStatus, Side
from gridmaker.core.units import Instrument

__all__ = [
    "Balance",
    "Banned",
    "DuplicateClientOrderId",
    "Exchange",
    "ExchangeError",
    "ExchangeFill",
    "ExchangeOrder",
    "FillPage",
    "LookupGrace",
    "MalformedResponse",
    "NotFound",
    "OrderRequest",
    "OrderStream",
    "PriceStream",
    "RateLimited",
    "Rejected",
    "SimulatedMarket",
    "Unavailable",
    "UnknownOutcome",
    "VenueAccount",
    "VenueStreams",
]


class ExchangeError(Exception):
    """Base of the taxonomy; says which symbol and (for order calls) which client order id."""

    def __init__(self, message: str, *, symbol: str = "", client_order_id: str = "") -> None:
        context = " ".join(
            part
            for part in (
                f"symbol={symbol}" if symbol else "",
                f"cid={client_order_id}" if client_order_id else "",
            )
            if part
        )
        super().__init__(f"{message} ({context})" if context else message)
        self.symbol = symbol
        self.client_order_id = client_order_id


class RateLimited(ExchangeError):
    """Retry: yes, after ``retry_after_s``. Order may exist: no (the request was refused)."""

    def __init__(
        self, message: str, *, retry_after_s: float, symbol: str = "", client_order_id: str = ""
    ) -> None:
        super().__init__(message, symbol=symbol, client_order_id=client_order_id)
        self.retry_after_s = retry_after_s


class Banned(ExchangeError):
    """Retry: no, stop trading. Order may exist: no."""


class Unavailable(ExchangeError):
    """Retry: yes, with backoff. Order may exist: no (never reached the matching engine)."""


class UnknownOutcome(ExchangeError):
    """Retry: never blindly. Order may exist: yes; look it up by client id first."""


class Rejected(ExchangeError):
    """Retry: not as is. Order may exist: no."""

    def __init__(
        self, message: str, *, reason: str, symbol: str = "", client_order_id: str = ""
    ) -> None:
        super().__init__(message, symbol=symbol, client_order_id=client_order_id)
        self.reason = reason


class DuplicateClientOrderId(Rejected):
    """Retry: no need. Order may exist: yes, it does: treat as placed and look it up."""


class NotFound(ExchangeError):
    """Retry: no. Order may exist: no order with this client id is known to the venue."""


class MalformedResponse(ExchangeError):
    """Retry: a read may be retried. Order may exist: unknown. Never read as empty."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderRequest:
    symbol: str
    client_order_id: str
    side: Side
    price: Decimal
    amount: Decimal
    post_only: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class ExchangeOrder:
    """An order as the venue reports it."""

    symbol: str
    order_id: str
    client_order_id: str
    side: Side
    price: Decimal
    amount: Decimal
    filled: Decimal
    status: OrderStatus
    ts_event: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ExchangeFill:
    """One execution as the venue reports it; ``fee`` is in the quote currency."""

    symbol: str
    trade_id: str
    order_id: str
    client_order_id: str
    side: Side
    price: Decimal
    amount: Decimal
    fee: Decimal
    is_maker: bool
    ts_event: int


@dataclass(frozen=True, slots=True, kw_only=True)
class FillPage:
    """Fills after a cursor, oldest first, and the cursor to continue from."""

    fills: tuple[ExchangeFill, ...]
    cursor: str
    has_more: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Balance:
    asset: str
    free: Decimal
    locked: Decimal

    @property
    def total(self) -> Decimal:
        return self.free + self.locked


class Exchange(Protocol):
    """What the engine needs from a venue. Every method raises only the taxonomy above."""

    async def fetch_instrument(self, symbol: str) -> Instrument: ...

    async def fetch_balances(self) -> Mapping[str, Balance]: ...

    async def fetch_last_price(self, symbol: str) -> Decimal | None:
        """The last traded price (``None`` when nothing has traded yet)."""
        ...

    async def fetch_open_orders(self, symbol: str) -> Sequence[ExchangeOrder]: ...

    async def fetch_order(self, symbol: str, client_order_id: str) -> ExchangeOrder:
        """The most recent order with this client id; raises ``NotFound``."""
        ...

    async def fetch_fills(self, symbol: str, cursor: str, limit: int = 500) -> FillPage:
        """Fills strictly after ``cursor`` ("" = from the first), oldest first."""
        ...

    async def place_order(self, request: OrderRequest) -> ExchangeOrder: ...

    async def cancel_order(self, symbol: str, client_order_id: str) -> ExchangeOrder: ...

    async def close(self) -> None: ...


# --- capabilities beyond ``Exchange`` (see the module docstring) -------------------------------


@runtime_checkable
class PriceStream(Protocol):
    """Prices pushed by the venue (a ticker stream), with REST polls behind them."""

    @property
    def has_streams(self) -> bool:
        """The ticker stream can be watched now; otherwise prices are polled."""
        ...

    async def watch_last_price(self, symbol: str) -> Decimal | None:
        """The next ticker update (raises the taxonomy when the stream fails)."""
        ...

    async def fetch_last_price(self, symbol: str) -> Decimal | None: ...


@runtime_checkable
class OrderStream(Protocol):
    """Order news pushed by the venue (a user-data stream): a hint, never a record."""

    @property
    def has_order_stream(self) -> bool: ...

    async def watch_orders(self, symbol: str) -> Sequence[ExchangeOrder]:
        """The next batch of order updates (raises the taxonomy when the stream fails)."""
        ...


@runtime_checkable
class VenueStreams(PriceStream, OrderStream, Protocol):
    """Both streams: what a live session hears from a venue."""


@runtime_checkable
class LookupGrace(Protocol):
    """A venue whose lookups by client id lag behind its writes (Binance: tens of seconds).

    Within ``lookup_grace_s`` of sending a client id, "not found" is not proof of absence. A
    venue without it shows an order to lookups at once (grace 0).
    """

    @property
    def lookup_grace_s(self) -> float: ...


@runtime_checkable
class VenueAccount(Protocol):
    """A venue that names the account behind the keys (Binance's ``uid``).

    ``account_id`` is known once balances were read ("" while unknown or where the venue names
    none); a data dir is bound to it.
    """

    @property
    def account_id(self) -> str: ...


@runtime_checkable
class SimulatedMarket(Protocol):
    """A market whose trades we print ourselves: the simulator, in process or over HTTP.

    Each feed trade is printed (``apply_trade``) before the bot hears of it; ``bind_feed``
    records which feed drives a symbol and says where it continues, ``feed_position`` how many
    trades were printed so far.
    """

    def apply_trade(
        self, symbol: str, price: Decimal, amount: Decimal, ts_event: int
    ) -> list[ExchangeFill]: ...

    def bind_feed(self, symbol: str, key: str) -> int:
        """The position to continue from; ``ValueError`` when another feed is bound."""
        ...

    def feed_position(self, symbol: str) -> int: ...
