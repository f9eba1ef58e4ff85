"""What differs between venues, as data: one ``VenueQuirks`` per venue.

Binance spot is the venue with quirks (raw-shape checks, weights, its duplicate-id message, its
lookup and paging params); any other ccxt id gets ``GENERIC_QUIRKS``: ccxt's unified calls
only, weight 1 per call, fills paged by time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from gridmaker.exchange.binance_weights import BINANCE_SPOT_WEIGHTS

__all__ = ["BINANCE_QUIRKS", "GENERIC_QUIRKS", "QUIRKS", "VenueQuirks", "quirks_of"]


@dataclass(frozen=True, slots=True, kw_only=True)
class VenueQuirks:
    """What differs between venues, as data."""

    venue: str
    api_prefix: str = ""
    """URL path prefix of the REST API (``/api/v3/``); "" = no raw-shape checks."""
    weights: Mapping[tuple[str, str], int] = field(default_factory=dict)
    weight_limit: int = 1200
    used_weight_header: str | None = None
    list_endpoints: frozenset[str] = frozenset()
    """Endpoints whose 200 body must be a JSON list."""
    object_endpoints: frozenset[str] = frozenset()
    """Endpoints whose 200 body must be a JSON object."""
    duplicate_messages: tuple[str, ...] = ()
    """Error texts meaning "an order with this client id is open": it EXISTS."""
    lookup_param: str = "clientOrderId"
    """The param naming our client id in a lookup or cancel."""
    fill_cursor_param: str | None = None
    """The param paging fills by trade id (inclusive), or None to page by time."""
    local_options: Mapping[str, Any] = field(default_factory=dict)
    """ccxt options that keep a client on the few endpoints a local base URL serves."""
    lookup_grace_s: float = 60.0
    """How long a fresh order may be missing from lookups by client id (eventual consistency)."""


BINANCE_QUIRKS: Final = VenueQuirks(
    venue="binance",
    api_prefix="/api/v3/",
    weights=BINANCE_SPOT_WEIGHTS,
    weight_limit=6000,
    used_weight_header="X-MBX-USED-WEIGHT-1M",
    list_endpoints=frozenset({"openOrders", "myTrades", "allOrders"}),
    object_endpoints=frozenset({"order", "account", "ticker/24hr", "exchangeInfo", "time"}),
    duplicate_messages=("Duplicate order sent",),
    lookup_param="origClientOrderId",
    fill_cursor_param="fromId",
    local_options={
        "defaultType": "spot",
        "fetchMarkets": {"types": ["spot"]},
        "fetchCurrencies": False,
        "fetchMargins": False,
    },
)
GENERIC_QUIRKS: Final = VenueQuirks(venue="generic")
QUIRKS: Final[Mapping[str, VenueQuirks]] = {"binance": BINANCE_QUIRKS}


def quirks_of(exchange_id: str) -> VenueQuirks:
    """The quirks of a ccxt exchange id; ``GENERIC_QUIRKS`` for a venue without any."""
    return QUIRKS.get(exchange_id, GENERIC_QUIRKS)
