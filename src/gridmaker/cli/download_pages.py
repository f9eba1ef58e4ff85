"""What ``gridmaker download`` asks the venue, page by page, through ccxt; exact rows back.

Trades come from Binance's ``aggTrades`` (ccxt's ``publicGetAggTrades``, the endpoint its
``fetch_trades`` uses for spot): the raw rows, whose price and quantity Binance sends as
strings, so no number ever passes through a float. The first page is found by time (one-hour
windows from ``--since``, the widest Binance allows), every later one by id (``fromId`` = the
last id + 1), so an id is never fetched twice nor skipped. Candles come from ccxt's
``fetch_ohlcv`` with the client in exact mode (``number = str``: the venue's own text).

A page that is not what the endpoint returns (a junk body, a row without its fields) is an
error like a dropped connection: asked again, up to ``ATTEMPTS`` times, then given up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from typing import Any, Final, TypeVar

__all__ = [
    "ATTEMPTS",
    "Candle",
    "MalformedPage",
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


async def with_retries(
    call: Callable[[], Awaitable[_T]],
    *,
    what: str,
    attempts: int = ATTEMPTS,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> _T:
    """``call()``, asked again after a transient failure (waiting 0.2 s, then twice as long
    each time); ``VenueRefused`` after ``attempts`` failures or at once for a refusal."""
    import ccxt.async_support as accxt

    delay = _FIRST_DELAY_S
    for attempt in range(1, attempts + 1):
        try:
            return await call()
        except accxt.BaseError as e:
            if not _is_transient(e):
                raise VenueRefused(f"{what}: {type(e).__name__}: {e}") from None
            failure: BaseException = e
        except (MalformedPage, TypeError, AttributeError, KeyError, IndexError, ValueError) as e:
            failure = e
        log.info("%s failed (attempt %d of %d): %r", what, attempt, attempts, failure)
        if attempt == attempts:
            raise VenueRefused(
                f"{what} failed {attempts} times; the last: {type(failure).__name__}: {failure}"
            ) from None
        await sleep(delay)
        delay *= 2
    raise AssertionError("unreachable")
