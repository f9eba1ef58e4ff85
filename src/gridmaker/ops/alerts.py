"""``Alerter``: notices become alerts, sent through apprise on a task of their own.

The trading loop only ever calls ``observe`` (through the hub): it maps the notice to alerts
(``alert_rules``), de-duplicates them and puts them on a bounded queue with ``put_nowait``.
A full queue drops the alert (counted, logged now and then): it never blocks and never
raises, so a dead chat service cannot slow a decision. ``run`` sends them, each with a
timeout; a failure is logged and counted and the next alert goes on.

De-duplication, per condition key (``breaker:BTC/USDT``): firing a key already firing sends
nothing (unless it got worse: warning → critical); recovering it sends one "resolved". A key
that flaps inside ``repeat_after_s`` of its alert sends one alert and one recovery, then
stays quiet; when the window ends ``settle`` sends the state it ended in if the operator
last heard otherwise, so a flap never hides a condition that is still on.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from apprise import Apprise

from gridmaker.engine.notices import Notice
from gridmaker.ops.alert_rules import AlertRules, Signal, severity_rank
from gridmaker.ops.alert_urls import (
    SENDING_LOGGERS,
    AlertConfigError,
    Redactor,
    accepts,
    load_alert_urls,
    scheme_of,
)

__all__ = ["Alert", "AlertConfigError", "Alerter", "load_alert_urls"]

log = logging.getLogger("gridmaker.ops.alerts")

DROP_LOG_EVERY_S = 60.0
"""A full queue is logged at its first drop and then at most this often."""

SETTLE_EVERY_S = 1.0
"""How often ``run`` looks for flapping keys whose window ended."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Alert:
    """One message as it goes out: ``resolved`` is a recovery."""

    key: str
    severity: str
    title: str
    body: str
    resolved: bool = False

    @property
    def notify_type(self) -> str:
        """Apprise's type: a recovery is ``success``; critical is ``failure``."""
        if self.resolved:
            return "success"
        return {"info": "info", "warning": "warning"}.get(self.severity, "failure")


@dataclass(slots=True)
class _Condition:
    """What is true of one key and what the operator last heard of it."""

    on: bool = False
    heard_on: bool = False
    heard_severity: str = "info"
    alerted_at: float = float("-inf")
    """When the last alert (not recovery) of this key went on the queue (monotonic s)."""
    flaps: int = 0
    last: Signal | None = field(default=None)


class Alerter:
    """The hub's alert observer and its sender task (see the module's docstring)."""

    def __init__(
        self,
        urls: Sequence[str],
        *,
        repeat_after_s: float = 3600.0,
        queue_size: int = 256,
        send_timeout_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if queue_size < 1:  # asyncio's 0 would mean unbounded: never here
            raise ValueError(f"alerts.queue_size must be >= 1; was {queue_size}")
        if not repeat_after_s >= 0:
            raise ValueError(f"alerts.repeat_after_s must be >= 0 seconds; was {repeat_after_s}")
        if not send_timeout_s > 0:
            raise ValueError(f"alerts.send_timeout_s must be > 0 seconds; was {send_timeout_s}")
        for n, url in enumerate(urls, start=1):
            if not accepts(url):
                raise AlertConfigError(
                    f"alert URL {n} of {len(urls)} must be a URL apprise accepts; "
                    f"was refused (scheme {scheme_of(url)})"
                )
        self.urls = tuple(urls)
        self.repeat_after_s = repeat_after_s
        self.send_timeout_s = send_timeout_s
        self.queue: asyncio.Queue[Alert] = asyncio.Queue(maxsize=queue_size)
        self.sent = 0
        self.dropped = 0
        self.failed = 0
        self._clock = clock
        self._rules = AlertRules()
        self._conditions: dict[str, _Condition] = {}
        self._drop_logged_at = float("-inf")
        self._redactor = Redactor(self.urls)
        for name in SENDING_LOGGERS:
            logging.getLogger(name).addFilter(self._redactor)
        self._apprise: Apprise | None = None
        if self.urls:
            log.info("alerts go to %s", ", ".join(scheme_of(u) for u in self.urls))

    # --- the loop's side: never blocks, never raises -------------------------------------

    def observe(self, notice: Notice) -> None:
        """The hub's callback: the notice's alerts, de-duplicated, onto the queue."""
        try:
            for signal in self._rules.signals(notice):
                self.signal(signal)
        except Exception:  # an alert rule's bug must not reach the trading loop
            log.exception("alert rules failed on %s", type(notice).__name__)

    def signal(self, signal: Signal) -> None:
        if signal.kind == "fire":
            self.fire(signal.key, signal.severity, signal.title, signal.body)
        elif signal.kind == "recover":
            self.recover(signal.key, signal.title, signal.body)
        else:
            self.note(signal.key, signal.severity, signal.title, signal.body)

    def fire(self, key: str, severity: str, title: str, body: str) -> None:
        """The condition ``key`` is on: alert unless the operator already knows."""
        now = self._clock()
        cond = self._conditions.setdefault(key, _Condition())
        fired = Signal(kind="fire", key=key, severity=severity, title=title, body=body)
        cond.last = fired
        if cond.on:
            if cond.heard_on and severity_rank(severity) > severity_rank(cond.heard_severity):
                self._alert(cond, fired, now)  # it got worse: say so
            return
        cond.on = True
        if now - cond.alerted_at < self.repeat_after_s:
            cond.flaps += 1  # heard of it and of its recovery just now: quiet till settle
            return
        self._alert(cond, fired, now)

    def recover(self, key: str, title: str, body: str = "") -> None:
        """The condition ``key`` is over: one "resolved" if the operator heard it fire."""
        cond = self._conditions.get(key)
        if cond is None or not cond.on:
            return
        cond.on = False
        if cond.heard_on:
            self._resolve(cond, key, title, body)

    def note(self, key: str, severity: str, title: str, body: str) -> None:
        """A one-off message (start, stop, "while you were away"): no condition to track."""
        self._put(Alert(key=key, severity=severity, title=title, body=body))

    def settle(self) -> None:
        """Send the state a flapping key ended in once its window is over."""
        now = self._clock()
        for cond in self._conditions.values():
            if cond.on == cond.heard_on or now - cond.alerted_at < self.repeat_after_s:
                continue
            if cond.on and cond.last is not None:  # it flapped and ended on
                last = cond.last
                body = f"{last.body}\n(It came and went {cond.flaps + 1} times; still on.)"
                cond.flaps = 0
                self._alert(cond, replace(last, body=body), now)

    def _alert(self, cond: _Condition, fired: Signal, now: float) -> None:
        cond.on = cond.heard_on = True
        cond.heard_severity = fired.severity
        cond.alerted_at = now
        self._put(Alert(key=fired.key, severity=fired.severity, title=fired.title, body=fired.body))

    def _resolve(self, cond: _Condition, key: str, title: str, body: str) -> None:
        cond.heard_on = False
        self._put(
            Alert(
                key=key,
                severity="info",
                title=f"Resolved: {title}",
                body=body or "The condition is over; nothing to do.",
                resolved=True,
            )
        )

    def _put(self, alert: Alert) -> None:
        try:
            self.queue.put_nowait(alert)
            log.info("alert [%s] %s", "resolved" if alert.resolved else alert.severity, alert.title)
        except asyncio.QueueFull:
            self.dropped += 1
            now = self._clock()
            if now - self._drop_logged_at >= DROP_LOG_EVERY_S:
                self._drop_logged_at = now
                log.warning(
                    "alert queue full (%d): dropped %d alert(s) so far; the latest: %s",
                    self.queue.maxsize,
                    self.dropped,
                    alert.key,
                )

    # --- the sender's side ----------------------------------------------------------------

    async def run(self) -> None:
        """Send what is queued until cancelled; never raises out (but cancellation)."""
        settled = self._clock()
        while True:
            if self._clock() - settled >= SETTLE_EVERY_S:
                settled = self._clock()
                self.settle()
            try:  # not ``wait_for``: on 3.11 it may swallow the stop's cancel
                async with asyncio.timeout(SETTLE_EVERY_S):
                    alert = await self.queue.get()
            except TimeoutError:
                continue
            await self._send(alert, self.send_timeout_s)

    async def drain(self, timeout_s: float) -> int:
        """Send what is queued at a clean stop, within ``timeout_s``; returns how many sent."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        before = self.sent
        while not self.queue.empty():
            left = deadline - loop.time()
            if left <= 0:
                log.warning("alerts: %d left unsent at stop", self.queue.qsize())
                break
            await self._send(self.queue.get_nowait(), min(left, self.send_timeout_s))
        return self.sent - before

    async def _send(self, alert: Alert, timeout_s: float) -> None:
        if not self.urls:
            return
        try:
            async with asyncio.timeout(timeout_s):  # not wait_for: it may swallow a cancel
                ok = await self._deliver(alert)
        except TimeoutError:
            ok = False
            log.warning("alert %s not sent: no answer within %.1f s", alert.key, timeout_s)
        except Exception as e:  # apprise or a plugin broke: count it, keep going
            ok = False
            log.warning("alert %s not sent: %s", alert.key, type(e).__name__)
        if ok:
            self.sent += 1
        else:
            self.failed += 1
            log.warning("alert %s failed to reach some destination", alert.key)

    async def _deliver(self, alert: Alert) -> bool:
        if self._apprise is None:
            self._apprise = Apprise(list(self.urls))
        result = await self._apprise.async_notify(
            body=alert.body or alert.title, title=alert.title, notify_type=alert.notify_type
        )
        return bool(result)

    def close(self) -> None:
        """Stop redacting the senders' logs for these URLs (the alerter is gone)."""
        for name in SENDING_LOGGERS:
            logging.getLogger(name).removeFilter(self._redactor)
