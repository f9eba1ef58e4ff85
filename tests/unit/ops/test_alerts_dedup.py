"""De-duplication and flapping: what the operator hears of one condition."""

from __future__ import annotations

import asyncio

import pytest

from gridmaker.ops.alerts import Alert, Alerter


class Clock:
    """Seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def queued(alerter: Alerter) -> list[Alert]:
    out = []
    while not alerter.queue.empty():
        out.append(alerter.queue.get_nowait())
    return out


def make(repeat_after_s: float = 600.0, queue_size: int = 256) -> tuple[Alerter, Clock]:
    clock = Clock()
    return Alerter([], repeat_after_s=repeat_after_s, queue_size=queue_size, clock=clock), clock


def test_fire_twice_sends_one_alert() -> None:
    alerter, _ = make()

    alerter.fire("breaker:X", "warning", "tripped", "body")
    alerter.fire("breaker:X", "warning", "tripped again", "body")

    assert [(a.key, a.resolved) for a in queued(alerter)] == [("breaker:X", False)]


def test_recover_after_fire_sends_one_resolved() -> None:
    alerter, _ = make()
    alerter.fire("k", "warning", "on", "")

    alerter.recover("k", "off")
    alerter.recover("k", "off")

    sent = queued(alerter)
    assert [a.resolved for a in sent] == [False, True]
    assert sent[1].notify_type == "success" and sent[1].title == "Resolved: off"


def test_recover_never_fired_sends_nothing() -> None:
    alerter, _ = make()

    alerter.recover("k", "off")

    assert queued(alerter) == []


def test_flapping_key_sends_one_alert_and_one_recovery() -> None:
    alerter, clock = make(repeat_after_s=600)

    for _ in range(5):
        alerter.fire("k", "warning", "on", "")
        clock.now += 10
        alerter.recover("k", "off")
        clock.now += 10

    assert [a.resolved for a in queued(alerter)] == [False, True]


def test_flapping_key_that_ends_on_is_sent_when_its_window_ends() -> None:
    alerter, clock = make(repeat_after_s=600)
    alerter.fire("k", "warning", "on", "why")
    alerter.recover("k", "off")
    alerter.fire("k", "warning", "on", "why")
    alerter.recover("k", "off")
    alerter.fire("k", "warning", "on", "why")  # it ends on
    assert [a.resolved for a in queued(alerter)] == [False, True]

    clock.now += 599
    alerter.settle()
    assert queued(alerter) == []
    clock.now += 2
    alerter.settle()

    again = queued(alerter)
    assert [(a.key, a.resolved) for a in again] == [("k", False)]
    assert "3 times; still on" in again[0].body
    alerter.settle()
    assert queued(alerter) == []


def test_flapping_key_that_ends_off_sends_nothing_more() -> None:
    alerter, clock = make(repeat_after_s=600)
    alerter.fire("k", "warning", "on", "")
    alerter.recover("k", "off")
    alerter.fire("k", "warning", "on", "")
    alerter.recover("k", "off")
    queued(alerter)

    clock.now += 10_000
    alerter.settle()

    assert queued(alerter) == []


def test_fire_after_window_is_a_new_alert() -> None:
    alerter, clock = make(repeat_after_s=600)
    alerter.fire("k", "warning", "on", "")
    alerter.recover("k", "off")
    queued(alerter)

    clock.now += 601
    alerter.fire("k", "warning", "on", "")

    assert [a.resolved for a in queued(alerter)] == [False]


def test_fire_worse_severity_while_on_sends_escalation() -> None:
    alerter, _ = make()
    alerter.fire("k", "warning", "degraded", "")

    alerter.fire("k", "critical", "failing", "")
    alerter.fire("k", "warning", "degraded", "")

    sent = queued(alerter)
    assert [(a.severity, a.notify_type) for a in sent] == [
        ("warning", "warning"),
        ("critical", "failure"),
    ]


def test_keys_are_independent() -> None:
    alerter, _ = make()

    alerter.fire("breaker:A", "warning", "a", "")
    alerter.fire("breaker:B", "warning", "b", "")

    assert [a.key for a in queued(alerter)] == ["breaker:A", "breaker:B"]


def test_full_queue_drops_and_counts_without_blocking() -> None:
    alerter, _ = make(queue_size=2)

    for n in range(5):
        alerter.note(f"n{n}", "info", "note", "")

    assert alerter.queue.qsize() == 2
    assert alerter.dropped == 3


def test_observe_broken_notice_never_raises() -> None:
    alerter, _ = make()

    alerter.observe(object())  # type: ignore[arg-type]

    assert queued(alerter) == []


def test_drain_without_urls_empties_the_queue() -> None:
    alerter, _ = make()
    alerter.note("n", "info", "note", "")

    asyncio.run(alerter.drain(1.0))

    assert alerter.queue.empty() and alerter.failed == 0


def test_alerter_bad_limits_are_refused_naming_the_field() -> None:
    with pytest.raises(ValueError, match=r"alerts\.queue_size must be >= 1; was 0"):
        Alerter([], queue_size=0)
    with pytest.raises(ValueError, match=r"alerts\.repeat_after_s must be >= 0"):
        Alerter([], repeat_after_s=-1)
    with pytest.raises(ValueError, match=r"alerts\.send_timeout_s must be > 0"):
        Alerter([], send_timeout_s=0)
