"""What a process's clients of one venue share when enabled: its markets and proven keys.

Binance's ``exchangeInfo`` costs 20 weight and lists every market of the venue. A fleet worker
opens one client per grid, and a takeover boots many grids at once: each loading the same list
would spend the key's window on identical answers exactly when a new owner needs it for its sync.
The same goes for the balance read that proves a start's keys and names their account (20 more).
``share_venue(max_age_s)`` (the worker calls it) makes clients of one venue reuse the markets
loaded, and the keys proven, in the last ``max_age_s``; one loader at a time, the others wait
for its answer. Off by default: a ``run`` has one client, and tests that change a venue's
markets between clients must see the change.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

__all__ = ["VenueShare", "share_venue", "shared"]

WAIT_FOR_LOADER_S: Final = 30.0
"""How long a client waits for another's load before it loads for itself."""


@dataclass(frozen=True, slots=True)
class _Loaded:
    at: float
    markets: Any
    currencies: Any
    time_difference: Any
    """ccxt measures the venue's clock while it loads markets (``adjustForTimeDifference``);
    a client given shared markets signs with the same offset (same host, same venue)."""


class VenueShare:
    """Markets per venue (exchange id and its API URLs) and proven keys per venue and key;
    thread-safe across the event loops of a worker's grids."""

    def __init__(self, max_age_s: float) -> None:
        if max_age_s <= 0:
            raise ValueError(f"max_age_s must be > 0, was {max_age_s}")
        self.max_age_s = max_age_s
        self._lock = threading.Lock()
        self._loaded: dict[str, _Loaded] = {}
        self._proven: dict[str, tuple[float, str]] = {}
        """Per venue and key: when its keys were last proven, and the account they belong to."""
        self._loading: dict[str, int] = {}
        """Loads in flight per key (a waiter that gave up on a slow one starts its own)."""
        self.loads = 0
        """How many times a client of this process asked the venue (for benchmarks and tests)."""

    def _fresh(self, key: str) -> _Loaded | None:
        got = self._loaded.get(key)
        if got is None or time.monotonic() - got.at > self.max_age_s:
            return None
        return got

    async def markets_for(self, client: Any, load: Callable[[], Awaitable[object]]) -> None:
        """Give ``client`` the venue's markets: shared ones if fresh, else ``await load()``
        (which must fill ``client.markets``) and share what it loaded."""
        key = venue_key(client)
        deadline = time.monotonic() + WAIT_FOR_LOADER_S
        while True:
            with self._lock:
                got = self._fresh(key)
                if got is None and (not self._loading.get(key) or time.monotonic() > deadline):
                    self._loading[key] = self._loading.get(key, 0) + 1
                    break
            if got is not None:
                client.set_markets(got.markets, got.currencies)
                if got.time_difference is not None:
                    client.options["timeDifference"] = got.time_difference
                return
            await asyncio.sleep(0.05)  # another client of this venue is loading them
        try:
            await load()
            with self._lock:
                self.loads += 1
                self._loaded[key] = _Loaded(
                    time.monotonic(),
                    client.markets,
                    client.currencies,
                    client.options.get("timeDifference"),
                )
        finally:
            with self._lock:
                self._loading[key] -= 1

    def proven_account(self, client: Any) -> str | None:
        """The account of ``client``'s keys if another client proved them lately, else None."""
        with self._lock:
            got = self._proven.get(_keys_of(client))
        if got is None or time.monotonic() - got[0] > self.max_age_s:
            return None
        return got[1]

    def proved(self, client: Any, account_id: str) -> None:
        """``client``'s keys just worked (a balance read), for the account ``account_id``."""
        with self._lock:
            self._proven[_keys_of(client)] = (time.monotonic(), account_id)


def _keys_of(client: Any) -> str:
    """One venue and API key, the key never kept in clear."""
    digest = hashlib.sha256(str(client.apiKey or "").encode()).hexdigest()[:16]
    return f"{venue_key(client)} {digest}"


def venue_key(client: Any) -> str:
    """One venue: the exchange id and where its API is (a sandbox or a simulator differs)."""
    return f"{client.id} {client.urls.get('api')!r}"


_SHARE: list[VenueShare] = []


def share_venue(max_age_s: float | None) -> VenueShare | None:
    """Share loaded markets between this process's clients for ``max_age_s`` (None: stop)."""
    _SHARE[:] = [] if max_age_s is None else [VenueShare(max_age_s)]
    return _SHARE[0] if _SHARE else None


def shared() -> VenueShare | None:
    """The process's share, if ``share_venue`` turned it on."""
    return _SHARE[0] if _SHARE else None
