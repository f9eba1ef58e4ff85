"""What the one loop tells its observers: small frozen records, published, never awaited.

The orchestrator and the sessions publish a notice at each thing an operator may want to see
(a fill applied, an order's answer, a breaker change, a boot sync, an audit against the
venue, a command applied, a price source switching). Observers (metrics, alerts, the
watchdog, the API's event stream) subscribe through a ``NoticeSink``; ``publish`` must return
at once and never raise into the loop, so a slow or broken observer can never delay a
decision or a send. Times are epoch milliseconds (``at_ms``) from the shell's clock.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

__all__ = [
    "Audited",
    "BootSynced",
    "BreakerChanged",
    "CommandApplied",
    "ControlChanged",
    "Decided",
    "FillApplied",
    "Halted",
    "Lifecycle",
    "Notice",
    "NoticeSink",
    "OrderAnswered",
    "Quiet",
    "SourceChanged",
    "now_ms",
]


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True, slots=True, kw_only=True)
class FillApplied:
    """A fill the running loop applied (fills the boot sync applies as ghost fills are
    counted in ``BootSynced`` instead)."""

    symbol: str
    trade_id: str
    client_order_id: str
    side: str
    price_ticks: int
    qty_steps: int
    fee_atoms: int
    at_ms: int = field(default_factory=now_ms)


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderAnswered:
    """The venue's answer to one place or cancel we sent: ``outcome`` is the status the
    answer carries (``open``, ``filled``, ``canceled``, ``rejected``, ``unknown``)."""

    symbol: str
    client_order_id: str
    outcome: str
    reason: str = ""
    at_ms: int = field(default_factory=now_ms)


@dataclass(frozen=True, slots=True, kw_only=True)
class Decided:
    """One ``decide`` call: what it answered (``event``: the event's type name), how long it
    took and how many actions it asked for. ``counter_latency_ns`` is set on a fill's
    decision once its counter-order was answered by the venue (fill → counter-order)."""

    symbol: str
    event: str
    latency_ns: int
    actions: int
    counter_latency_ns: int = 0
    at_ms: int = field(default_factory=now_ms)


@dataclass(frozen=True, slots=True, kw_only=True)
class BreakerChanged:
    symbol: str
    breaker: str
    """active, reducing or halted."""
    trigger: str
    reason: str
    at_ms: int = field(default_factory=now_ms)


@dataclass(frozen=True, slots=True, kw_only=True)
class ControlChanged:
    """The operator's control of a book changed (trading, paused, take_profit_only, stopped)."""

    symbol: str
    control: str
    previous: str
    at_ms: int = field(default_factory=now_ms)


@dataclass(frozen=True, slots=True, kw_only=True)
class BootSynced:
    """A symbol's boot sync: the reconcile report's counts ("while you were away")."""

    symbol: str
    counts: Mapping[str, int]
    halted: str
    at_ms: int = field(default_factory=now_ms)


@dataclass(frozen=True, slots=True, kw_only=True)
class Audited:
    """The book's orders against the venue's open orders, as found at one audit (before the
    audit repaired anything).

    ``expected``: orders the book holds open; ``open_at_venue``: our orders the venue lists;
    ``missing``: expected but not listed; ``unexpected``: ours (our id prefix) listed but not
    in the book; ``foreign``: listed orders that are not ours; ``unknown``: orders in UNKNOWN
    state; ``oldest_unknown_s``: how long the oldest of them has been unknown."""

    symbol: str
    expected: int
    open_at_venue: int
    missing: int
    unexpected: int
    foreign: int
    unknown: int
    oldest_unknown_s: float = 0.0
    at_ms: int = field(default_factory=now_ms)

    @property
    def diverges(self) -> bool:
        return bool(self.missing or self.unexpected)


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandApplied:
    """An operator command the loop applied (``symbol`` "*": every book)."""

    command_id: int
    symbol: str
    command: str
    outcome: str = ""
    """Why it was refused ("" when applied)."""
    at_ms: int = field(default_factory=now_ms)


@dataclass(frozen=True, slots=True, kw_only=True)
class Halted:
    """A symbol stopped trading (a refused sync, a ban, lost fills): why."""

    symbol: str
    reason: str
    at_ms: int = field(default_factory=now_ms)


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceChanged:
    """A symbol's price source switched: ``stream`` or ``polling``, and why."""

    symbol: str
    source: str
    reason: str
    at_ms: int = field(default_factory=now_ms)


@dataclass(frozen=True, slots=True, kw_only=True)
class Quiet:
    """Nothing happened for a while. The loop does not publish it today (the watchdog runs
    its own timer); an observer stream carries it like any notice."""

    at_ms: int = field(default_factory=now_ms)


@dataclass(frozen=True, slots=True, kw_only=True)
class Lifecycle:
    """The bot started trading (``started``), is stopping (``stopping``: why) or stopped."""

    stage: str
    detail: str = ""
    at_ms: int = field(default_factory=now_ms)


Notice = (
    FillApplied
    | OrderAnswered
    | Decided
    | BreakerChanged
    | ControlChanged
    | BootSynced
    | Audited
    | CommandApplied
    | Halted
    | SourceChanged
    | Quiet
    | Lifecycle
)


class NoticeSink(Protocol):
    def publish(self, notice: Notice) -> None:
        """Take the notice and return at once; never raise (observers own their failures)."""
        ...


class NoNotices:
    """The sink of a bot nobody observes (tests, benchmarks, the backtester)."""

    def publish(self, notice: Notice) -> None:
        return None
