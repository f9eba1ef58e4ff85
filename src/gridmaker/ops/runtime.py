"""``Operating``: the observers of one ``run``, started with it and stopped after it.

The hub exists before the orchestrator (it is its ``NoticeSink``); ``start`` attaches the
observers that read the books (metrics, the watchdog, the live view) and serves the API,
then each slow observer runs on its own task: alert sending, the watchdog's timer, the live
view's refresh, uvicorn. None of them is awaited by the trading loop; ``close`` says the bot
stopped, gives queued alerts a few seconds, and stops the rest.
"""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gridmaker.engine.notices import Lifecycle
from gridmaker.ops.hub import Hub

if TYPE_CHECKING:
    from gridmaker.engine.orchestrator import GridOrchestrator
    from gridmaker.engine.retry import Retrier
    from gridmaker.ops.alerts import Alerter
    from gridmaker.ops.watchdog import Watchdog, WatchdogSettings
    from gridmaker.store import Store

__all__ = ["ApiSettings", "Operating", "OpsSettings"]

log = logging.getLogger("gridmaker.ops")

OBSERVER_STOP_S = 5.0
"""How long each observer's task gets to end once cancelled."""
ALERT_DRAIN_S = 5.0
"""How long queued alerts (the stop's own among them) may take to leave at a clean stop."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiSettings:
    host: str
    port: int
    token: str
    """Never logged; ``token_source`` says where it came from instead."""
    token_source: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OpsSettings:
    api: ApiSettings | None = None
    alert_urls: tuple[str, ...] = ()
    alert_repeat_after_s: float = 3600.0
    daily_summary_utc: str | None = None
    watchdog: WatchdogSettings | None = None
    live_view: bool = False
    engine: str = "simple"
    venue: str = "sim"


@dataclass(slots=True)
class Operating:
    settings: OpsSettings
    hub: Hub = field(default_factory=Hub)
    api_port: int = 0
    alerter: Alerter | None = None
    watchdog: Watchdog | None = None
    _stack: AsyncExitStack = field(default_factory=AsyncExitStack)
    _tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    _closed: bool = False

    async def start(
        self, orchestrator: GridOrchestrator, store: Store, retrier: Retrier, exchange: object
    ) -> None:
        """Attach the observers and serve the API (before the boot: ``/health`` says so)."""
        from gridmaker.ops.alerts import Alerter
        from gridmaker.ops.watchdog import Watchdog

        settings = self.settings
        if settings.alert_urls:
            self.alerter = Alerter(
                settings.alert_urls, repeat_after_s=settings.alert_repeat_after_s
            )
            self.hub.subscribe(self.alerter.observe)
            self._spawn(self.alerter.run(), "alerts")
            if settings.daily_summary_utc:
                from gridmaker.ops.alert_daily import DailySummary

                daily = DailySummary(orchestrator, self.alerter, settings.daily_summary_utc)
                self._spawn(daily.run(), "daily")
        self.watchdog = Watchdog(orchestrator, settings.watchdog, self.alerter)
        self.hub.subscribe(self.watchdog.observe)
        self._spawn(self.watchdog.run(), "watchdog")
        if settings.live_view:
            from gridmaker.ops.console import LiveView

            self._spawn(LiveView(orchestrator, watchdog=self.watchdog).run(), "view")
        if settings.api is not None:
            await self._serve(settings.api, orchestrator, store, retrier, exchange)

    async def _serve(
        self,
        api: ApiSettings,
        orchestrator: GridOrchestrator,
        store: Store,
        retrier: Retrier,
        exchange: object,
    ) -> None:
        from gridmaker.ops.api import create_app
        from gridmaker.ops.metrics import Metrics
        from gridmaker.ops.server import serve_api
        from gridmaker.ops.surface import Surface

        metrics = Metrics(orchestrator, retrier=retrier, exchange=exchange)
        self.hub.subscribe(metrics.observe)
        watchdog = self.watchdog
        surface = Surface(
            orchestrator=orchestrator,
            store=store,
            hub=self.hub,
            token=api.token,
            started_ms=int(time.time() * 1000),
            engine=self.settings.engine,
            venue=self.settings.venue,
            metrics=metrics.render,
            health=watchdog.verdict if watchdog is not None else None,
        )
        app = create_app(surface)
        # Open event streams end first at a stop, so the server's shutdown does not wait them out.
        self._stack.callback(app.state.events.close)
        self.api_port = await self._stack.enter_async_context(serve_api(app, api.host, api.port))

    def _spawn(self, work: Any, name: str) -> None:
        self._tasks.append(asyncio.create_task(work, name=f"gridmaker-{name}"))

    def started(self, detail: str) -> None:
        self.hub.publish(Lifecycle(stage="started", detail=detail))

    async def close(self, detail: str = "") -> None:
        """The bot stopped: say so, let queued alerts leave, stop every observer's task.

        Closing twice is closing once (the run closes it when trading ends; its exit stack
        again on the way out, which is the only close when the run was refused).
        """
        if self._closed:
            return
        self._closed = True
        self.hub.publish(Lifecycle(stage="stopped", detail=detail))
        if self.alerter is not None:
            try:
                await self.alerter.drain(ALERT_DRAIN_S)
            except Exception as e:  # alerts never decide how a run ends
                log.warning("alerts not all sent at the stop: %s", e)
        for task in self._tasks:
            task.cancel()
        if self._tasks:  # an observer that ignores its cancel must not keep the bot alive
            _, stuck = await asyncio.wait(self._tasks, timeout=OBSERVER_STOP_S)
            for task in stuck:
                log.warning(
                    "observer task %s did not stop within %ss", task.get_name(), OBSERVER_STOP_S
                )
        await self._stack.aclose()
