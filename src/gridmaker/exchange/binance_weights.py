"""Binance spot REST v3 request weights: what the simulator charges and what a client spends.

Binance's published table, kept apart from both sides so the simulator (which emulates
Binance) and the ccxt adapter's budget read one table without either importing the other.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

__all__ = ["BINANCE_SPOT_WEIGHTS", "DEFAULT_WEIGHT", "endpoint_weight"]

BINANCE_SPOT_WEIGHTS: Final[Mapping[tuple[str, str], int]] = {
    ("GET", "ping"): 1,
    ("GET", "time"): 1,
    ("GET", "exchangeInfo"): 20,
    ("GET", "ticker/24hr"): 2,
    ("GET", "depth"): 5,
    ("GET", "account"): 20,
    ("POST", "order"): 1,
    ("GET", "order"): 4,
    ("DELETE", "order"): 1,
    ("GET", "openOrders"): 6,
    ("DELETE", "openOrders"): 1,
    ("GET", "myTrades"): 20,
    ("GET", "allOrders"): 20,
    ("GET", "trades"): 25,
    ("GET", "historicalTrades"): 25,
    ("GET", "aggTrades"): 4,
    ("GET", "klines"): 2,
}
"""Binance spot REST v3 request weights (per symbol where a symbol is given)."""

DEFAULT_WEIGHT: Final = 1


def endpoint_weight(
    method: str, path: str, weights: Mapping[tuple[str, str], int] = BINANCE_SPOT_WEIGHTS
) -> int:
    """The weight of ``method path`` (``path`` relative to ``/api/v3/``); 1 when not listed."""
    return weights.get((method.upper(), path.strip("/")), DEFAULT_WEIGHT)
