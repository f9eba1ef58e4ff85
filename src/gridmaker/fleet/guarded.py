"""The venue as a fleet grid's owner sees it: nothing is sent once its lease may be gone.

The epoch fence stops a worker that lost a grid from *recording* anything; an intent recorded
just before a long stop could still be *sent* after it. So every order and cancel first asks
the lease's local clock (``LeaseClock.valid``): past the instant the database may have given
the grid away, the send is refused with ``Fenced`` and the grid stops. Reads go through.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from gridmaker.core.units import Instrument
from gridmaker.exchange.api import (
    Balance,
    Exchange,
    ExchangeOrder,
    FillPage,
    LookupGrace,
    OrderRequest,
)
from gridmaker.fleet.leases import LeaseClock
from gridmaker.store.pg_fence import Fenced

__all__ = ["LeaseGuardedExchange"]


class LeaseGuardedExchange:
    """``inner`` behind the lease's clock for every write; keeps its lookup grace."""

    def __init__(self, inner: Exchange, lease: LeaseClock, owner: str) -> None:
        self.inner = inner
        self.lease = lease
        self.owner = owner
        self.lookup_grace_s = float(inner.lookup_grace_s) if isinstance(inner, LookupGrace) else 0.0
        self.refused = 0

    def _check(self, what: str) -> None:
        if not self.lease.valid():
            self.refused += 1
            why = self.lease.lost or "its lease ran out before it was renewed"
            raise Fenced(
                f"grid {self.lease.grid}: {what} not sent: worker {self.owner} may no longer "
                f"own it (epoch {self.lease.epoch}: {why})"
            )

    async def fetch_instrument(self, symbol: str) -> Instrument:
        return await self.inner.fetch_instrument(symbol)

    async def fetch_balances(self) -> Mapping[str, Balance]:
        return await self.inner.fetch_balances()

    async def fetch_last_price(self, symbol: str) -> Decimal | None:
        return await self.inner.fetch_last_price(symbol)

    async def fetch_open_orders(self, symbol: str) -> Sequence[ExchangeOrder]:
        return await self.inner.fetch_open_orders(symbol)

    async def fetch_order(self, symbol: str, client_order_id: str) -> ExchangeOrder:
        return await self.inner.fetch_order(symbol, client_order_id)

    async def fetch_fills(self, symbol: str, cursor: str, limit: int = 500) -> FillPage:
        return await self.inner.fetch_fills(symbol, cursor, limit)

    async def place_order(self, request: OrderRequest) -> ExchangeOrder:
        self._check(f"order {request.client_order_id}")
        return await self.inner.place_order(request)

    async def cancel_order(self, symbol: str, client_order_id: str) -> ExchangeOrder:
        self._check(f"cancel of {client_order_id}")
        return await self.inner.cancel_order(symbol, client_order_id)

    async def close(self) -> None:
        """The venue is its opener's to close."""
