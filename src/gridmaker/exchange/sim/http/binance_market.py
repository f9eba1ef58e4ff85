"""The simulator's Binance spot market-data endpoints, served from its tape of prints.

- ``GET /api/v3/trades`` (``symbol``, ``limit`` 500 by default, 1000 at most): the most recent.
- ``GET /api/v3/historicalTrades`` (``symbol``, ``fromId``, ``limit``): from a trade id, else
  the most recent; it needs the ``X-MBX-APIKEY`` header (no signature), as ccxt sends it.
- ``GET /api/v3/aggTrades`` (``symbol``, ``fromId``, ``startTime``, ``endTime``, ``limit``):
  ``fromId`` cannot be combined with a time (``-1128``); ``startTime`` and ``endTime`` together
  span at most one hour (``-1127``); with neither, the most recent. Every print is its own
  aggregate (the simulator's prints each come from one taker), so ``a = f = l`` = the trade id.
- ``GET /api/v3/klines`` (``symbol``, ``interval``, ``startTime``, ``endTime``, ``limit``):
  the 12-field rows of ``binance_klines``; an unknown interval is ``-1120``.

Trade ids are per symbol (1, 2, 3, ...); times are the prints' ``ts_event``. Parameter rules
and limits (cut to the maximum) are ``binance_wire``'s.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from gridmaker.exchange.sim.http.binance_klines import INTERVALS, Interval, kline_rows
from gridmaker.exchange.sim.http.binance_rest import Handler
from gridmaker.exchange.sim.http.binance_wire import (
    LONG,
    SYMBOL,
    BinanceError,
    decimal_text,
    limit_param,
    optional,
    required,
)
from gridmaker.exchange.sim.matching import SimExchange
from gridmaker.exchange.sim.tape import Print

__all__ = ["KEYED", "PUBLIC", "BinanceMarket"]

PUBLIC: Final = frozenset({"trades", "aggTrades", "klines"})
"""Market data anyone may read."""
KEYED: Final = frozenset({"historicalTrades"})
"""Market data that needs an API key in ``X-MBX-APIKEY`` but no signature."""
_HOUR_MS: Final = 3_600_000


def _long(params: Mapping[str, str], name: str) -> int | None:
    raw = optional(params, name, LONG)
    return None if raw is None else int(raw)


def trade_row(p: Print) -> dict[str, Any]:
    """A public trade as ``trades`` and ``historicalTrades`` show it."""
    return {
        "id": p.id,
        "price": decimal_text(p.price),
        "qty": decimal_text(p.amount),
        "quoteQty": decimal_text(p.price * p.amount),
        "time": p.ts_event,
        "isBuyerMaker": p.buyer_maker,
        "isBestMatch": True,
    }


def agg_row(p: Print) -> dict[str, Any]:
    """A print as ``aggTrades`` shows it: its own aggregate."""
    return {
        "a": p.id,
        "p": decimal_text(p.price),
        "q": decimal_text(p.amount),
        "f": p.id,
        "l": p.id,
        "T": p.ts_event,
        "m": p.buyer_maker,
        "M": True,
    }


class BinanceMarket:
    """The market-data handlers; ``routes`` maps ``(method, path)`` to each."""

    def __init__(self, sim: SimExchange, *, symbols: Mapping[str, str]) -> None:
        """``symbols``: venue symbol (``BTCUSDT``) to ours (``BTC/USDT``)."""
        self.sim = sim
        self.symbols = symbols

    def routes(self) -> dict[tuple[str, str], Handler]:
        return {
            ("GET", "trades"): self._trades,
            ("GET", "historicalTrades"): self._historical_trades,
            ("GET", "aggTrades"): self._agg_trades,
            ("GET", "klines"): self._klines,
        }

    def _symbol(self, params: Mapping[str, str]) -> str:
        symbol = self.symbols.get(required(params, "symbol", SYMBOL))
        if symbol is None:
            raise BinanceError(-1121, "Invalid symbol.")
        return symbol

    async def _trades(self, params: dict[str, str]) -> Any:
        symbol = self._symbol(params)
        limit = limit_param(params, default=500, maximum=1000)
        return [trade_row(p) for p in self.sim.tape.recent(symbol, limit)]

    async def _historical_trades(self, params: dict[str, str]) -> Any:
        symbol = self._symbol(params)
        limit = limit_param(params, default=500, maximum=1000)
        from_id = _long(params, "fromId")
        tape = self.sim.tape
        prints = (
            tape.recent(symbol, limit) if from_id is None else tape.from_id(symbol, from_id, limit)
        )
        return [trade_row(p) for p in prints]

    async def _agg_trades(self, params: dict[str, str]) -> Any:
        symbol = self._symbol(params)
        limit = limit_param(params, default=500, maximum=1000)
        from_id, start, end = (_long(params, n) for n in ("fromId", "startTime", "endTime"))
        tape = self.sim.tape
        if from_id is not None:
            if start is not None or end is not None:
                raise BinanceError(-1128, "Combination of optional parameters invalid.")
            prints = tape.from_id(symbol, from_id, limit)
        elif start is None and end is None:
            prints = tape.recent(symbol, limit)
        else:
            if start is not None and end is not None and end - start > _HOUR_MS:
                raise BinanceError(-1127, "More than 1 hours between startTime and endTime.")
            prints = tape.between(symbol, start, end, limit)
        return [agg_row(p) for p in prints]

    async def _klines(self, params: dict[str, str]) -> Any:
        symbol = self._symbol(params)
        name = required(params, "interval")
        if name not in INTERVALS:
            raise BinanceError(-1120, "Invalid interval.")
        limit = limit_param(params, default=500, maximum=1000)
        start, end = _long(params, "startTime"), _long(params, "endTime")
        tape = self.sim.tape
        return kline_rows(
            tape.all(symbol),
            tape.times(symbol),
            Interval(name),
            start_ms=start,
            end_ms=end,
            limit=limit,
        )
