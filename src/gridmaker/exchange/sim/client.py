"""``HttpSimVenue``: the ccxt venue at the local simulator, which also moves its market."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from gridmaker.exchange.api import ExchangeFill, Unavailable
from gridmaker.exchange.ccxt import CcxtExchange, RateBudget
from gridmaker.exchange.sim.http.control import control_headers

__all__ = ["HttpSimVenue"]


class HttpSimVenue(CcxtExchange):
    """``CcxtExchange`` at the local simulator, which also moves the simulator's market.

    ``apply_trade`` and ``bind_feed`` make it the ``SimulatedMarket`` of a session: each feed
    trade is printed on the server (control endpoint) before the bot hears of it, exactly as
    ``gridmaker run`` does with the in-process exchange. These calls are blocking and local;
    they carry ``GRIDMAKER_SIM_TOKEN`` (as ``X-Sim-Token``) when it is set.
    """

    def __init__(self, client: Any, *, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._positions: dict[str, int] = {}
        # The simulator states its weight limit (Binance lists it in exchangeInfo, which ccxt
        # does not parse); this process's budget for the key follows it.
        limit = int(self._control("/__sim/chaos", None)["weight_limit"])
        super().__init__(client, budget=RateBudget(limit=limit))
        # The simulator shows an order to lookups as soon as it takes it (its chaos makes
        # answers get lost, never orders invisible): "not found" is proof at once.
        self.lookup_grace_s = 0.0

    def _control(self, path: str, body: Mapping[str, Any] | None) -> Any:
        request = urllib.request.Request(
            self.base_url + path,
            data=None if body is None else json.dumps(body).encode(),
            headers=control_headers(),
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as e:
            raise ValueError(f"simulator refused {path}: {e.read().decode()[:300]}") from e
        except (urllib.error.URLError, OSError) as e:
            raise Unavailable(f"simulator at {self.base_url} unreachable: {e}") from e

    def apply_trade(
        self, symbol: str, price: Decimal, amount: Decimal, ts_event: int
    ) -> list[ExchangeFill]:
        """Print a trade on the simulator; its fills reach the bot through the API only."""
        body = {
            "symbol": symbol,
            "price": format(price, "f"),
            "amount": format(amount, "f"),
            "ts_event": ts_event,
        }
        self._positions[symbol] = int(self._control("/__sim/trade", body)["position"])
        return []

    def bind_feed(self, symbol: str, key: str) -> int:
        position = int(self._control("/__sim/bind", {"symbol": symbol, "key": key})["position"])
        self._positions[symbol] = position
        return position

    def feed_position(self, symbol: str) -> int:
        return self._positions.get(symbol, 0)
