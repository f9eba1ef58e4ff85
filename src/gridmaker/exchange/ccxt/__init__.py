"""Real venues through ccxt: the adapter and what it is made of.

- ``adapter``: ``CcxtExchange``, the ``Exchange`` protocol (with streams, lookup grace and the
  account id) over one ccxt client;
- ``client``: ``build_ccxt_client`` and what we change in a ccxt client (endpoints, limiter and
  retries off, the response hook);
- ``errors``: ``map_error``, the one ccxt → taxonomy mapping, and ``is_our_bug``;
- ``quirks``: what differs between venues, as data;
- ``records``: ccxt's unified records read into ours, or refused;
- ``rate_budget``: one weight budget per API key in the process.
"""

from gridmaker.exchange.ccxt.adapter import CcxtExchange
from gridmaker.exchange.ccxt.client import build_ccxt_client
from gridmaker.exchange.ccxt.errors import is_our_bug, map_error
from gridmaker.exchange.ccxt.quirks import BINANCE_QUIRKS, GENERIC_QUIRKS, QUIRKS, VenueQuirks
from gridmaker.exchange.ccxt.rate_budget import RateBudget, parse_retry_after, shared_budget

__all__ = [
    "BINANCE_QUIRKS",
    "GENERIC_QUIRKS",
    "QUIRKS",
    "CcxtExchange",
    "RateBudget",
    "VenueQuirks",
    "build_ccxt_client",
    "is_our_bug",
    "map_error",
    "parse_retry_after",
    "shared_budget",
]
