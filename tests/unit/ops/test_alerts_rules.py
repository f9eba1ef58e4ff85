"""Which notices become alerts, how severe, and that each says what to do."""

from __future__ import annotations

from gridmaker.engine.notices import (
    Audited,
    BootSynced,
    BreakerChanged,
    FillApplied,
    Halted,
    Lifecycle,
    Quiet,
)
from gridmaker.ops.alerts import Alert, Alerter

A, B = "BTC/USDT", "ETH/USDT"


def queued(alerter: Alerter) -> list[Alert]:
    out = []
    while not alerter.queue.empty():
        out.append(alerter.queue.get_nowait())
    return out


def audit(missing: int = 0, unexpected: int = 0, symbol: str = A) -> Audited:
    return Audited(
        symbol=symbol,
        expected=10,
        open_at_venue=10 - missing + unexpected,
        missing=missing,
        unexpected=unexpected,
        foreign=0,
        unknown=0,
    )


def breaker(state: str, symbol: str = A) -> BreakerChanged:
    reason = "operator" if state == "active" else "price fell 12 % in 5 min"
    trigger = "" if state == "active" else "fast_move"
    return BreakerChanged(symbol=symbol, breaker=state, trigger=trigger, reason=reason)


def test_breaker_trip_escalation_and_clearance_alerts_each_once() -> None:
    alerter = Alerter([])

    for state in ("reducing", "reducing", "halted", "active"):
        alerter.observe(breaker(state))

    sent = queued(alerter)
    assert [(a.key, a.severity, a.resolved) for a in sent] == [
        (f"breaker:{A}", "warning", False),
        (f"breaker:{A}", "critical", False),
        (f"breaker:{A}", "info", True),
    ]
    assert "breaker reset --symbol BTC/USDT" in sent[0].body
    assert "price fell 12 %" in sent[0].body


def test_ban_of_every_market_is_one_critical_alert() -> None:
    alerter = Alerter([])

    for symbol in (A, B):
        alerter.observe(Halted(symbol=symbol, reason="banned by the exchange: 418"))

    sent = queued(alerter)
    assert [(a.key, a.severity) for a in sent] == [("ban", "critical")]
    assert "banned by the exchange" in sent[0].body


def test_halted_market_is_critical_and_names_its_reason() -> None:
    alerter = Alerter([])

    alerter.observe(Halted(symbol=B, reason="its fills cannot be found"))

    sent = queued(alerter)
    assert [(a.key, a.severity) for a in sent] == [(f"halted:{B}", "critical")]
    assert "its fills cannot be found" in sent[0].body and "restart" in sent[0].body


def test_boot_sync_while_away_lists_counts_in_one_info_alert() -> None:
    alerter = Alerter([])
    counts = {"matched": 9, "ghost_fills": 2, "zombies": 1, "resolved": 0, "unknown_ours": 3}

    alerter.observe(BootSynced(symbol=A, counts=counts, halted=""))

    sent = queued(alerter)
    assert [(a.key, a.severity) for a in sent] == [(f"away:{A}", "info")]
    assert "2 fills applied" in sent[0].body
    assert "1 orders the book held" in sent[0].body
    assert "3 orders of ours found at the venue and adopted" in sent[0].body
    assert "- 0 " not in sent[0].body  # a class with nothing is not listed


def test_boot_sync_with_only_matched_orders_sends_nothing() -> None:
    alerter = Alerter([])

    alerter.observe(BootSynced(symbol=A, counts={"matched": 9, "foreign": 2}, halted=""))

    assert queued(alerter) == []


def test_audit_missing_orders_warns_once_and_resolves_when_clean() -> None:
    alerter = Alerter([])

    alerter.observe(audit(missing=3))
    alerter.observe(audit())
    alerter.observe(audit())

    sent = queued(alerter)
    assert [(a.key, a.severity, a.resolved) for a in sent] == [
        (f"vanished:{A}", "warning", False),
        (f"vanished:{A}", "info", True),
    ]
    assert "cancelled outside the bot" in sent[0].body and "re-places" in sent[0].body


def test_divergence_of_one_audit_is_not_critical() -> None:
    alerter = Alerter([])

    alerter.observe(audit(unexpected=1))
    alerter.observe(audit())

    assert [a for a in queued(alerter) if a.severity == "critical"] == []


def test_divergence_that_outlives_one_audit_is_critical_until_clean() -> None:
    alerter = Alerter([])

    alerter.observe(audit(unexpected=1))
    alerter.observe(audit(unexpected=2))
    alerter.observe(audit(unexpected=2))
    alerter.observe(audit())

    sent = [a for a in queued(alerter) if a.key.startswith("divergence")]
    assert [(a.severity, a.resolved) for a in sent] == [("critical", False), ("info", True)]
    assert "unexpected 2" in sent[0].body


def test_divergence_counts_each_symbol_apart() -> None:
    alerter = Alerter([])

    alerter.observe(audit(unexpected=1, symbol=A))
    alerter.observe(audit(unexpected=1, symbol=B))

    assert [a for a in queued(alerter) if a.key.startswith("divergence")] == []


def test_lifecycle_start_and_stop_are_info_notes() -> None:
    alerter = Alerter([])

    alerter.observe(Lifecycle(stage="started"))
    alerter.observe(Lifecycle(stage="stopping", detail="stop_leave operator"))
    alerter.observe(Lifecycle(stage="stopped"))

    sent = queued(alerter)
    assert [(a.severity, a.title) for a in sent] == [
        ("info", "gridmaker started trading"),
        ("info", "gridmaker is stopping"),
        ("info", "gridmaker stopped cleanly"),
    ]
    assert sent[1].body == "stop_leave operator"


def test_routine_notices_send_nothing() -> None:
    alerter = Alerter([])

    alerter.observe(Quiet())
    alerter.observe(
        FillApplied(
            symbol=A,
            trade_id="1",
            client_order_id="c",
            side="buy",
            price_ticks=1,
            qty_steps=1,
            fee_atoms=0,
        )
    )

    assert queued(alerter) == []
