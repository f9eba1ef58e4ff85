"""``Surface``: everything the control API may reach in a running bot, in one place.

The API reads the books through the orchestrator's frozen views, the fills and commands
through the store, the recent notices through the hub; the only thing it writes is an
operator request into the store's command journal (then it wakes the loop, which applies it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gridmaker.engine.orchestrator import GridOrchestrator
    from gridmaker.ops.hub import Hub
    from gridmaker.store import Store

__all__ = ["Surface"]


@dataclass(slots=True, kw_only=True)
class Surface:
    orchestrator: GridOrchestrator
    store: Store
    hub: Hub
    token: str
    """The bearer token every route but ``/health`` requires ("" only when the lead's wiring
    refused to start without one: never serve without a token)."""
    started_ms: int
    engine: str = "simple"
    venue: str = "sim"
    metrics: Callable[[], tuple[bytes, str]] | None = None
    """``/metrics``: the exposition body and its content type (``None``: metrics off)."""
    health: Callable[[], dict[str, Any]] | None = None
    """The watchdog's verdict as JSON (``status``: ok, degraded or failing; per-market
    reasons); ``None`` before the watchdog runs."""
