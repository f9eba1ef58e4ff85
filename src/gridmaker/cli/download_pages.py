"""What ``gridmaker download`` asks the venue, page by page, through ccxt; exact rows back.

Trades come from Binance's ``aggTrades`` (ccxt's ``publicGetAggTrades``, the endpoint its
``fetch_trades`` uses for spot): the raw rows, whose price and quantity Binance sends as
strings, so no number ever passes through a float. The first page is found by time (one-hour
windows from ``--since``, the widest Binance allows), every later one by id (``fromId`` = the
last id + 1), so an id is never fetched twice nor skipped. Candles come from ccxt's
``fetch_ohlcv`` with the client in exact mode (``number = str``: the venue's own text).

A page that is not what the endpoint returns (a junk body, a row without its fields) is an
error like a dropped connection: asked again, up to ``ATTEMPTS`` times, then given up. Every
request spends its weight from a ``RateBudget`` first (Binance counts 4 per ``aggTrades``,
6000 a minute): a long download paces itself instead of earning a 429, then a 418 IP ban.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import partial
from itertools import pairwise
from typing import TYPE_CHECKING, Any, Final, TypeVar

if TYPE_CHECKING:
    from gridmaker.exchange.ccxt import RateBudget

__all__ = [
    "ATTEMPTS",
    "Candle",
    "MalformedPage",
    "Pages",
    "Trade",
    "VenueRefused",
    "candles_since",
    "plain_decimal",
    "trades_from_id",
    "trades_in_window",
    "with_retries",
]

log = logging.getLogger("gridmaker.download")

ATTEMPTS: Final = 5
_FIRST_DELAY_S: Final = 0.2
_T = TypeVar("_T")
_Sleep = Callable[[float], Awaitable[None]]


class MalformedPage(Exception):
    """The venue answered, but not with the rows the endpoint returns."""


class VenueRefused(Exception):
    """The venue cannot serve this download (unreachable after retries, or an error that
    asking again will not fix): exit 5."""


@dataclass(frozen=True, slots=True)
class Trade:
    ts_ms: int
    price: str
    amount: str
    id: int


@dataclass(frozen=True, slots=True)
class Candle:
    ts_ms: int
    ohlcv: tuple[str, str, str, str, str]


def plain_decimal(value: object, what: str) -> str:
    """``value`` (the venue's text) as a plain decimal >= 0; ``MalformedPage`` if it is not."""
    if not isinstance(value, str):
        raise MalformedPage(f"{what} must be a decimal string; was {value!r}")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise MalformedPage(f"{what} must be a decimal string; was {value!r}") from None
    if not number.is_finite() or number < 0:
        raise MalformedPage(f"{what} must be a finite decimal >= 0; was {value!r}")
    return format(number, "f")


def _int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedPage(f"{what} must be an integer; was {value!r}")
    return value


def _agg_rows(raw: object) -> list[Trade]:
    if not isinstance(raw, list):
        raise MalformedPage(f"aggTrades must answer a list; was {str(raw)[:80]!r}")
    trades = []
    for row in raw:
        if not isinstance(row, Mapping):
            raise MalformedPage(f"an aggTrades row must be an object; was {str(row)[:80]!r}")
        trades.append(
            Trade(
                ts_ms=_int(row.get("T"), "an aggTrade's time T"),
                price=plain_decimal(row.get("p"), "an aggTrade's price p"),
                amount=plain_decimal(row.get("q"), "an aggTrade's quantity q"),
                id=_int(row.get("a"), "an aggTrade's id a"),
            )
        )
    for before, after in pairwise(trades):
        if after.id <= before.id:
            raise MalformedPage(f"aggTrades ids must ascend; {after.id} came after {before.id}")
    return trades


async def trades_in_window(
    client: Any, market_id: str, start_ms: int, end_ms: int, limit: int
) -> list[Trade]:
    """The first ``limit`` trades in ``[start_ms, end_ms]`` (at most an hour apart)."""
    params = {"symbol": market_id, "startTime": start_ms, "endTime": end_ms, "limit": limit}
    return _agg_rows(await client.publicGetAggTrades(params))


async def trades_from_id(client: Any, market_id: str, from_id: int, limit: int) -> list[Trade]:
    """Up to ``limit`` trades from id ``from_id`` on, each id after the one before."""
    params = {"symbol": market_id, "fromId": from_id, "limit": limit}
    trades = _agg_rows(await client.publicGetAggTrades(params))
    if trades and trades[0].id < from_id:
        raise MalformedPage(f"aggTrades from id {from_id} began at {trades[0].id}")
    return trades


async def candles_since(
    client: Any, symbol: str, timeframe: str, since_ms: int, limit: int
) -> list[Candle]:
    """Up to ``limit`` candles opening at or after ``since_ms``, oldest first."""
    raw = await client.fetch_ohlcv(symbol, timeframe, since=since_ms, limit=limit)
    if not isinstance(raw, list):
        raise MalformedPage(f"candles must come as a list; was {str(raw)[:80]!r}")
    candles = []
    for row in raw:
        if not isinstance(row, Sequence) or isinstance(row, str) or len(row) < 6:
            raise MalformedPage(f"a candle must be [time, o, h, l, c, v]; was {str(row)[:80]!r}")
        ts = _int(row[0], "a candle's open time")
        o, h, low, c, v = (plain_decimal(x, "a candle's value") for x in row[1:6])
        candles.append(Candle(ts, (o, h, low, c, v)))
    candles = [c for c in candles if c.ts_ms >= since_ms]
    for before, after in pairwise(candles):
        if after.ts_ms <= before.ts_ms:
            raise MalformedPage(f"candle {after.ts_ms} came after {before.ts_ms}")
    return candles


def _is_transient(error: BaseException) -> bool:
    """Worth asking again: the network, a busy or throttling venue, a junk answer."""
    import ccxt.async_support as accxt  # type: ignore[import-untyped]

    if isinstance(error, MalformedPage | accxt.NetworkError | accxt.BadResponse):
        return True
    # ccxt parses a junk body (HTML where JSON is due) as best it can, and may fail on it.
    return isinstance(error, TypeError | AttributeError | KeyError | IndexError | ValueError)


async def _paced(budget: RateBudget | None, weight: int, what: str, sleep: _Sleep) -> None:
    """Wait until ``budget`` has ``weight`` to spend in its window, and spend it."""
    from gridmaker.exchange.api import Banned, RateLimited

    while budget is not None:
        try:
            budget.spend(weight, what)
            return
        except RateLimited as e:
            await sleep(max(e.retry_after_s, 0.05))
        except Banned as e:
            raise VenueRefused(str(e)) from None


async def with_retries(
    call: Callable[[], Awaitable[_T]],
    *,
    what: str,
    attempts: int = ATTEMPTS,
    budget: RateBudget | None = None,
    weight: int = 1,
    sleep: _Sleep = asyncio.sleep,
) -> _T:
    """``call()`` within ``budget`` (paced to the venue's weight per minute, waiting out a
    ``Retry-After``), asked again after a transient failure (waiting 0.2 s, then twice as long
    each time); ``VenueRefused`` after ``attempts`` failures, or at once for a refusal or a ban
    (HTTP 418: going on would extend it)."""
    import ccxt.async_support as accxt

    from gridmaker.exchange.ccxt.errors import Throttled

    delay = _FIRST_DELAY_S
    for attempt in range(1, attempts + 1):
        await _paced(budget, weight, what, sleep)
        wait = delay
        try:
            return await call()
        except Throttled as e:
            if e.status == 418:
                raise VenueRefused(f"{what}: the venue banned this IP (HTTP 418): {e}") from None
            failure: BaseException = e
            wait = max(delay, e.retry_after_s or 0.0)
        except accxt.BaseError as e:
            if not _is_transient(e):
                raise VenueRefused(f"{what}: {type(e).__name__}: {e}") from None
            failure = e
        except (MalformedPage, TypeError, AttributeError, KeyError, IndexError, ValueError) as e:
            failure = e
        log.info("%s failed (attempt %d of %d): %r", what, attempt, attempts, failure)
        if attempt == attempts:
            raise VenueRefused(
                f"{what} failed {attempts} times; the last: {type(failure).__name__}: {failure}"
            ) from None
        await sleep(wait)
        delay *= 2
    raise AssertionError("unreachable")


@dataclass(frozen=True, slots=True)
class Pages:
    """The venue's pages, each asked ``with_retries`` within the venue's weight budget."""

    client: Any
    budget: RateBudget | None = None
    weights: Mapping[tuple[str, str], int] = field(default_factory=dict)

    def weight(self, path: str) -> int:
        from gridmaker.exchange.binance_weights import endpoint_weight

        return endpoint_weight("GET", path, self.weights)

    async def open(self, where: str) -> None:
        """Load the venue's markets (its ``exchangeInfo`` on Binance)."""
        await with_retries(
            self.client.load_markets,
            what=f"reading the markets of {where}",
            attempts=3,
            budget=self.budget,
            weight=self.weight("exchangeInfo"),
        )

    async def trades_in_window(
        self, market_id: str, start_ms: int, end_ms: int, limit: int
    ) -> list[Trade]:
        call = partial(trades_in_window, self.client, market_id, start_ms, end_ms, limit)
        return await with_retries(
            call,
            what=f"trades from {start_ms} to {end_ms}",
            budget=self.budget,
            weight=self.weight("aggTrades"),
        )

    async def trades_from_id(self, market_id: str, from_id: int, limit: int) -> list[Trade]:
        call = partial(trades_from_id, self.client, market_id, from_id, limit)
        return await with_retries(
            call,
            what=f"trades from id {from_id}",
            budget=self.budget,
            weight=self.weight("aggTrades"),
        )

    async def candles_since(
        self, symbol: str, timeframe: str, since_ms: int, limit: int
    ) -> list[Candle]:
        call = partial(candles_since, self.client, symbol, timeframe, since_ms, limit)
        return await with_retries(
            call,
            what=f"{timeframe} candles from {since_ms}",
            budget=self.budget,
            weight=self.weight("klines"),
        )
