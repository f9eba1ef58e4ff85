"""``Hub``: the one ``NoticeSink`` a running bot publishes to, fanning out to its observers.

Each observer is a plain callable run inline: it must be cheap (update a counter, put on a
bounded queue) and anything slow belongs on its own task behind such a queue. One that raises
is logged once per kind of failure and kept; the loop never sees it. The hub also keeps the
last notices (``recent``) for the API's "recent events" and a page that connects late.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from gridmaker.engine.notices import Notice

__all__ = ["Hub", "Observer", "notice_json", "notice_type"]

log = logging.getLogger("gridmaker.ops")

Observer = Callable[[Notice], None]

RECENT = 500
"""Notices kept for readers that come late (the API's recent events)."""


class Hub:
    def __init__(self, recent: int = RECENT) -> None:
        self._observers: list[Observer] = []
        self.recent: deque[Notice] = deque(maxlen=recent)
        self.published = 0
        self._failed: set[tuple[str, str]] = set()

    def subscribe(self, observer: Observer) -> None:
        self._observers.append(observer)

    def publish(self, notice: Notice) -> None:
        self.published += 1
        self.recent.append(notice)
        for observer in self._observers:
            try:
                observer(notice)
            except Exception as e:  # an observer's bug must never reach the trading loop
                key = (getattr(observer, "__qualname__", repr(observer)), type(e).__name__)
                if key not in self._failed:
                    self._failed.add(key)
                    log.exception("observer %s failed (logged once): %s", key[0], e)


def notice_type(notice: Notice) -> str:
    """``FillApplied`` → ``fill_applied``: the notice's name on the wire."""
    name = type(notice).__name__
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


def notice_json(notice: Notice) -> dict[str, Any]:
    """The notice as JSON for the event stream: its type and its fields (ints stay ints)."""
    body = asdict(notice)
    if "counts" in body:
        body["counts"] = dict(body["counts"])
    return {"type": notice_type(notice), **body}
