"""``Watchdog``: is the bot trading, not merely alive?

A process that answers is not a bot that trades. Per market it reads the orchestrator's
frozen view and asks: is the last price recent, is the last decision, does the price still
come from the stream (a stream that went silent is replaced by polls: ``degraded``), and,
the costliest failure users report, does the price sit inside the grid while no order of
ours rests at the venue (``failing`` once it lasts ``empty_grace_s``)? The verdict feeds
``/health``, liveness alerts (through the ``Alerter``) and an optional dead-man URL, pinged
only while every market really progresses, so the external service notices when it stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gridmaker.core.display import price_text
from gridmaker.core.risk import BreakerState
from gridmaker.core.state import Control, GridState
from gridmaker.engine.book import BookView
from gridmaker.engine.notices import Audited, Halted, Notice, SourceChanged, now_ms
from gridmaker.ops.alert_urls import Redactor

if TYPE_CHECKING:
    from gridmaker.engine.orchestrator import GridOrchestrator
    from gridmaker.ops.alerts import Alerter

__all__ = ["ENV_DEADMAN_URL", "STATUSES", "Watchdog", "WatchdogSettings", "load_deadman_url"]

log = logging.getLogger("gridmaker.ops.watchdog")

ENV_DEADMAN_URL = "GRIDMAKER_DEADMAN_URL"
STATUSES = ("ok", "booting", "degraded", "failing")
"""Best to worst: the overall status is the worst of the markets'."""


@dataclass(frozen=True, slots=True, kw_only=True)
class WatchdogSettings:
    price_stale_s: float = 60.0
    """No price for this long: ``degraded`` (a live venue prints every few seconds)."""
    price_dead_s: float = 300.0
    """No price for this long: ``failing``."""
    decision_stale_s: float = 21600.0
    """No decision for this long: ``degraded`` (0: not checked). A calm market may not cross
    a level for hours, hence the long default."""
    empty_grace_s: float = 30.0
    """The price inside the grid with no resting order for this long: ``failing`` (before
    that ``degraded``: an order may be between a cancel and its replacement)."""
    check_every_s: float = 5.0
    deadman_url: str = ""
    """Pinged (GET) while trading progresses; a secret: never logged ("" = off)."""
    deadman_every_s: float = 60.0
    deadman_timeout_s: float = 10.0

    def __post_init__(self) -> None:
        for name in (
            "price_stale_s",
            "price_dead_s",
            "empty_grace_s",
            "check_every_s",
            "deadman_every_s",
            "deadman_timeout_s",
        ):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"watchdog.{name} must be a number of seconds > 0; was {value}")
        if not (math.isfinite(self.decision_stale_s) and self.decision_stale_s >= 0):
            raise ValueError(
                f"watchdog.decision_stale_s must be >= 0 (0: off); was {self.decision_stale_s}"
            )
        if self.price_dead_s < self.price_stale_s:
            raise ValueError(
                "watchdog.price_dead_s must be >= watchdog.price_stale_s; was "
                f"{self.price_dead_s} < {self.price_stale_s}"
            )


def load_deadman_url(env_value: str | None, file: Path | str | None = None) -> str:
    """The dead-man URL from ``GRIDMAKER_DEADMAN_URL`` or the first line of ``file`` that is
    not blank or a ``#`` comment ("" when neither). Errors never show the URL."""
    url = (env_value or "").strip()
    where = ENV_DEADMAN_URL
    if not url and file is not None:
        try:
            lines = Path(file).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as e:
            raise ValueError(
                f"dead-man URL file {file} must be a readable UTF-8 text file; "
                f"was unreadable ({type(e).__name__})"
            ) from None
        url = next((s for s in (x.strip() for x in lines) if s and not s.startswith("#")), "")
        where = str(file)
    if url and (not url.lower().startswith(("http://", "https://")) or " " in url):
        raise ValueError(
            f"the dead-man URL in {where} must start with http:// or https://; was something "
            "else (not shown: it may hold a secret)"
        )
    return url


@dataclass(frozen=True, slots=True)
class _Market:
    status: str
    reasons: tuple[str, ...]
    progressing: bool
    """Trading moves: ok, the operator lets it trade, the breaker lets it (dead-man pings)."""
    liveness: str = "ok"
    """The status without what has an alert of its own (a breaker, a halt): what the
    liveness alert is about, so a trip is not told twice ("": a halt, told already; the
    liveness alert stays as it is)."""


_ALERTED_ELSEWHERE = "breaker "
"""Reasons with an alert of their own (``alert_rules``): not a liveness alert too."""


def _worst(statuses: list[str]) -> str:
    return max(statuses, key=STATUSES.index, default="ok")


def _verdict(markets: dict[str, _Market]) -> dict[str, Any]:
    return {
        "status": _worst([m.status for m in markets.values()]),
        "markets": {
            s: {"status": m.status, "reasons": list(m.reasons)} for s, m in markets.items()
        },
    }


def _inside(state: GridState) -> bool:
    """The last price the grid acted on lies between its lowest and highest level."""
    price, grid = state.last_price_ticks, state.grid
    if price <= 0:
        return False
    if grid.min_level is None or grid.max_level is None:
        return True  # unbounded (trailing): the price is always among its levels
    return grid.price_ticks(grid.min_level) <= price <= grid.price_ticks(grid.max_level)


def _resting(view: BookView, state: GridState) -> int:
    """Orders that rest, as far as we can know: the book's live ones, unless the last audit
    (with no decision since, so nothing repaired yet) found none of them at the venue."""
    live = sum(1 for s in state.slots.values() if s.has_live_order)
    audit = view.audit
    repaired = audit is None or audit.at_ms < view.last_decision_ms
    if live and not repaired and audit is not None and 0 < audit.expected <= audit.missing:
        return 0
    return live


class Watchdog:
    """Verdicts from the books' views (``verdict``: cheap, for ``/health``), liveness alerts
    and dead-man pings on its own task (``run``); observes notices only to wake early."""

    def __init__(
        self,
        orchestrator: GridOrchestrator,
        settings: WatchdogSettings | None = None,
        alerter: Alerter | None = None,
        *,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self.orchestrator = orchestrator
        self.settings = settings or WatchdogSettings()
        self.alerter = alerter
        self._clock = clock
        self._started_ms = clock()
        self._streamed: set[str] = set()
        self._fallback: dict[str, str] = {}
        self._empty_since: dict[str, int] = {}
        self._alerting: set[str] = set()
        self._wake = asyncio.Event()
        self._pinged_ms: int | None = None
        self._redactor = Redactor([self.settings.deadman_url] if self.settings.deadman_url else [])
        if self.settings.deadman_url:  # httpx logs every request's URL at INFO
            logging.getLogger("httpx").addFilter(self._redactor)
        self.checks = 0
        self.pings = 0
        self.ping_failures = 0

    # --- the loop's side -----------------------------------------------------------------

    def observe(self, notice: Notice) -> None:
        """Track stream fallbacks; wake the check early on news that may change a verdict."""
        if isinstance(notice, SourceChanged):
            if notice.source == "stream":
                self._streamed.add(notice.symbol)
                self._fallback.pop(notice.symbol, None)
            elif notice.symbol in self._streamed or self._has_streams():
                self._fallback[notice.symbol] = notice.reason or "the stream went quiet"
            self._wake.set()
        elif isinstance(notice, Halted | Audited):
            self._wake.set()

    def _has_streams(self) -> bool:
        """The venue streams prices: polling there means its stream failed, not by design."""
        return bool(getattr(self.orchestrator.exchange, "has_streams", False))

    # --- verdicts ------------------------------------------------------------------------

    def verdict(self) -> dict[str, Any]:
        """``{"status", "markets": {symbol: {"status", "reasons"}}}``: JSON for ``/health``."""
        return _verdict(self._markets())

    def _markets(self) -> dict[str, _Market]:
        orch = self.orchestrator
        if not orch.is_booted:
            booting = _Market("booting", ("the boot sync has not finished",), False, "")
            return dict.fromkeys(orch.symbols, booting)
        now = self._clock()
        return {s: self._market(orch.view(s), now) for s in orch.symbols}

    def _market(self, view: BookView, now: int) -> _Market:
        cfg, symbol = self.settings, view.symbol
        if view.halted:
            self._empty_since.pop(symbol, None)
            return _Market("failing", (f"not trading: {view.halted}",), False, liveness="")
        found: list[tuple[str, str]] = []
        last_price = view.last_price_ms or self._started_ms
        price_age = (now - last_price) / 1000
        if price_age >= cfg.price_stale_s:
            seen = "no price for" if view.last_price_ms else "no price since the start,"
            found.append(
                (
                    "failing" if price_age >= cfg.price_dead_s else "degraded",
                    f"{seen} {price_age:.0f} s (degraded after {cfg.price_stale_s:g} s, "
                    f"failing after {cfg.price_dead_s:g} s)",
                )
            )
        if view.source == "stream":  # the view is the truth; a notice may have been missed
            self._streamed.add(symbol)
            self._fallback.pop(symbol, None)
        elif view.source == "polling" and (symbol in self._streamed or self._has_streams()):
            self._fallback.setdefault(symbol, "the stream went quiet")
        if symbol in self._fallback:
            found.append(
                ("degraded", f"price stream silent; prices are polled ({self._fallback[symbol]})")
            )
        state = view.state
        progressing = state is not None and self._check_book(view, state, now, found)
        status = _worst([s for s, _ in found])
        liveness = _worst([s for s, r in found if not r.startswith(_ALERTED_ELSEWHERE)])
        return _Market(status, tuple(r for _, r in found), progressing and status == "ok", liveness)

    def _check_book(
        self, view: BookView, state: GridState, now: int, found: list[tuple[str, str]]
    ) -> bool:
        """Adds what the book shows to ``found``; returns whether it is let to trade."""
        cfg, symbol = self.settings, view.symbol
        if cfg.decision_stale_s and view.last_decision_ms:
            age = (now - view.last_decision_ms) / 1000
            if age >= cfg.decision_stale_s:
                found.append(("degraded", f"no decision for {age:.0f} s"))
        breaker = state.risk.breaker
        if breaker is not BreakerState.ACTIVE:
            found.append(("degraded", f"{_ALERTED_ELSEWHERE}{breaker.value}: {state.risk.reason}"))
        if state.control is not Control.TRADING:
            found.append(("ok", f"{state.control.value.replace('_', ' ')} by the operator"))
        trading = breaker is BreakerState.ACTIVE and state.control is Control.TRADING
        if trading and _inside(state) and not _resting(view, state):
            since = self._empty_since.setdefault(symbol, now)
            empty_s = (now - since) / 1000
            price = price_text(state.instrument, state.last_price_ticks)
            found.append(
                (
                    "failing" if empty_s >= cfg.empty_grace_s else "degraded",
                    f"price {price} inside the grid and no order resting at the venue "
                    f"for {empty_s:.0f} s",
                )
            )
        else:
            self._empty_since.pop(symbol, None)
        return trading

    # --- alerts and the dead-man ---------------------------------------------------------

    def check(self) -> dict[str, Any]:
        """The verdict, with each market's change of status told to the alerter."""
        markets = self._markets()
        self.checks += 1
        if self.alerter is not None:
            for symbol, market in markets.items():
                self._tell(symbol, market)
        return {
            **_verdict(markets),
            "progressing": bool(markets) and all(m.progressing for m in markets.values()),
        }

    def _tell(self, symbol: str, market: _Market) -> None:
        assert self.alerter is not None
        key, status = f"liveness:{symbol}", market.liveness
        if status in ("degraded", "failing"):
            self._alerting.add(symbol)
            reasons = [r for r in market.reasons if not r.startswith(_ALERTED_ELSEWHERE)]
            self.alerter.fire(
                key,
                "critical" if status == "failing" else "warning",
                f"{symbol}: {status}: {reasons[0] if reasons else ''}",
                "What the watchdog sees:\n"
                + "\n".join(f"- {r}" for r in market.reasons)
                + "\nCheck the bot's log and the venue's status; `gridmaker status` shows the "
                "book. A market with a price inside its grid and no orders loses every trade "
                "it should make: restart the bot if it does not repair itself.",
            )
        elif status == "ok" and symbol in self._alerting:
            self._alerting.discard(symbol)
            self.alerter.recover(key, f"{symbol}: trading again", "The watchdog sees progress.")

    async def run(self) -> None:
        """Check every ``check_every_s`` (sooner on news), alert, ping the dead-man URL."""
        while True:
            try:
                verdict = self.check()
                if verdict["progressing"] and verdict["status"] == "ok":
                    await self._ping()
            except Exception:  # a watchdog bug must not end the bot; it is logged
                log.exception("watchdog check failed")
            self._wake.clear()
            # ``asyncio.timeout``, not ``wait_for``: on 3.11 a cancel that lands as the wait
            # ends is swallowed by ``wait_for``, and the stop would wait on this task forever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.settings.check_every_s):
                    await self._wake.wait()

    def close(self) -> None:
        """Stop redacting httpx's log for the dead-man URL (the watchdog is gone)."""
        logging.getLogger("httpx").removeFilter(self._redactor)

    async def _ping(self) -> None:
        cfg = self.settings
        now = self._clock()
        if not cfg.deadman_url:
            return
        if self._pinged_ms is not None and now - self._pinged_ms < cfg.deadman_every_s * 1000:
            return
        self._pinged_ms = now
        import httpx

        try:
            async with httpx.AsyncClient(timeout=cfg.deadman_timeout_s) as client:
                answer = await client.get(cfg.deadman_url)
            if answer.status_code >= 400:
                raise RuntimeError(f"HTTP {answer.status_code}")
            self.pings += 1
        except Exception as e:  # the URL is a secret: only the kind of failure is logged
            self.ping_failures += 1
            log.warning("dead-man ping failed: %s", type(e).__name__)
