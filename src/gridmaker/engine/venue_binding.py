"""A data dir belongs to one venue: its books, fill cursors and client ids mean nothing elsewhere.

A fill cursor is a position in one venue's trade history; on another venue it can point past
every fill there is, and orders the book thinks open are simply absent. Continuing a data dir
on another venue therefore loses fills, so the first boot binds the data dir to the venue it
trades on (exchange id, endpoint, and the account where the venue names one) and every later
boot must find the same one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

__all__ = ["VenueBindingStore", "VenueIdentity", "VenueMismatch", "bind_venue"]


@dataclass(frozen=True, slots=True, kw_only=True)
class VenueIdentity:
    """Where orders go: ``exchange`` (``sim`` = built in), ``endpoint``, ``account``."""

    exchange: str
    endpoint: str
    account: str = ""
    """The venue's id of the account ("" where the venue names none)."""

    def as_dict(self) -> dict[str, str]:
        return {"exchange": self.exchange, "endpoint": self.endpoint, "account": self.account}

    @classmethod
    def from_dict(cls, stored: Mapping[str, str]) -> VenueIdentity:
        return cls(
            exchange=str(stored.get("exchange", "")),
            endpoint=str(stored.get("endpoint", "")),
            account=str(stored.get("account", "")),
        )

    def describe(self) -> str:
        if self.exchange == "sim":
            return "the built-in simulated exchange"
        account = f", account {self.account}" if self.account else ""
        return f"{self.exchange} at {self.endpoint}{account}"

    def same_venue(self, other: VenueIdentity) -> bool:
        """Same exchange and endpoint, and the same account wherever both name one."""
        accounts_differ = bool(self.account and other.account and self.account != other.account)
        return (
            self.exchange == other.exchange
            and self.endpoint == other.endpoint
            and not accounts_differ
        )


class VenueMismatch(Exception):
    """The data dir was made on another venue: continuing would lose or mix up fills."""


class VenueBindingStore(Protocol):
    def venue(self) -> dict[str, str] | None: ...

    def bind_venue(self, identity: Mapping[str, str]) -> None: ...


def bind_venue(
    store: VenueBindingStore,
    identity: VenueIdentity,
    data_dir: str,
    *,
    presumed: VenueIdentity | None = None,
) -> None:
    """Refuse (``VenueMismatch``) a data dir bound to another venue; bind an unbound one to
    ``identity`` (the store writes it with the first book it saves).

    ``presumed`` is the venue a data dir made before binding existed evidently belongs to
    (the built-in exchange, whose file lies in it); it is checked like a binding.
    """
    stored = store.venue()
    bound = VenueIdentity.from_dict(stored) if stored is not None else presumed
    if bound is not None and not bound.same_venue(identity):
        raise VenueMismatch(
            f"{data_dir} belongs to {bound.describe()}; this run trades on "
            f"{identity.describe()}. A data dir holds one venue's orders, fills and fill "
            "cursor, and continuing it elsewhere loses fills. Run it with the venue it was "
            "made on, or give this venue its own --data-dir"
        )
    if stored is None:
        store.bind_venue(identity.as_dict())
