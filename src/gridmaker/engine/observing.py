"""What the loop tells the observers: one decision's fill, latency, breaker or control
change (after it was recorded and sent), and what an audit found against the venue."""

from __future__ import annotations

import time

from gridmaker.core.consistency import OrderCounts
from gridmaker.core.events import Event, Fill, PlaceOrder
from gridmaker.core.state import Decision, GridState
from gridmaker.engine.book import Book
from gridmaker.engine.notices import (
    Audited,
    BootSynced,
    BreakerChanged,
    ControlChanged,
    Decided,
    FillApplied,
    Halted,
    NoticeSink,
    now_ms,
)

__all__ = ["observe_decision", "publish_audit", "publish_sync"]


def observe_decision(
    notices: NoticeSink,
    book: Book,
    before: GridState,
    event: Event,
    decision: Decision,
    took_ns: int,
    started_ns: int,
) -> None:
    """Tell the observers what one decision did (after it was recorded and sent)."""
    at = book.last_decision_ms = now_ms()
    after, publish = decision.state, notices.publish
    counter_ns = 0
    if isinstance(event, Fill):
        publish(
            FillApplied(
                symbol=event.symbol,
                trade_id=event.trade_id,
                client_order_id=event.client_order_id,
                side=event.side.value,
                price_ticks=event.price_ticks,
                qty_steps=event.qty_steps,
                fee_atoms=event.fee_atoms,
                at_ms=at,
            )
        )
        if any(isinstance(a, PlaceOrder) for a in decision.actions):
            counter_ns = time.perf_counter_ns() - started_ns  # its counter-order answered
    publish(
        Decided(
            symbol=after.symbol,
            event=type(event).__name__,
            latency_ns=took_ns,
            actions=len(decision.actions),
            counter_latency_ns=counter_ns,
            at_ms=at,
        )
    )
    risk = after.risk
    if risk.breaker is not before.risk.breaker:
        publish(
            BreakerChanged(
                symbol=after.symbol,
                breaker=risk.breaker.value,
                trigger=risk.trigger if not risk.is_active else "",
                reason=risk.reason if not risk.is_active else risk.cleared_by,
                at_ms=at,
            )
        )
    if after.control is not before.control:
        publish(
            ControlChanged(
                symbol=after.symbol,
                control=after.control.value,
                previous=before.control.value,
                at_ms=at,
            )
        )


def publish_audit(notices: NoticeSink, book: Book, counts: OrderCounts) -> None:
    """Keep and publish what an audit found, before it repairs anything; an UNKNOWN order's
    age counts from the first audit that saw it so."""
    now = now_ms()
    book.unknown_since = {c: book.unknown_since.get(c, now) for c in counts.unknown}
    oldest = min(book.unknown_since.values(), default=now)
    book.audit = Audited(
        symbol=book.setup.symbol,
        expected=counts.expected,
        open_at_venue=counts.open_at_venue,
        missing=counts.missing,
        unexpected=counts.unexpected,
        foreign=counts.foreign,
        unknown=len(counts.unknown),
        oldest_unknown_s=(now - oldest) / 1000,
        at_ms=now,
    )
    notices.publish(book.audit)


def publish_sync(notices: NoticeSink, book: Book) -> None:
    """A symbol's boot sync: what it found while the bot was away, and a halt if any."""
    symbol = book.setup.symbol
    if not book.halted:
        book.synced_ms = now_ms()
    notices.publish(BootSynced(symbol=symbol, counts=book.report.counts(), halted=book.halted))
    if book.halted:
        notices.publish(Halted(symbol=symbol, reason=book.halted))
