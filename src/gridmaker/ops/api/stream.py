"""``EventStream``: the loop's notices as Server-Sent Events, one bounded queue per client.

The hub calls ``observe`` inline in the trading loop, so it only appends to each client's
queue (a ``deque`` with a bound) and wakes its reader: a slow or stuck client never slows the
loop. When a client's queue is full its oldest notices are dropped and the next thing it
reads is a ``dropped`` event saying how many, so a user interface knows to re-read the state.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from gridmaker.engine.notices import Notice
from gridmaker.ops.api.views import event_json
from gridmaker.ops.hub import notice_type

if TYPE_CHECKING:
    from gridmaker.core.units import Instrument

__all__ = ["KEEP_ALIVE_S", "QUEUE_SIZE", "REPLAY", "EventStream", "StreamClient", "router"]

QUEUE_SIZE = 1000
"""Notices kept for one client that reads slower than the loop publishes."""
REPLAY = 50
"""Recent notices sent first to a client that asks for them (``?replay=1``)."""
KEEP_ALIVE_S = 15.0
"""A comment line this often keeps proxies and idle timeouts from closing a quiet stream."""


class StreamClient:
    """One connected reader: its bounded queue, how many notices it lost, and its wake-up."""

    def __init__(self, size: int) -> None:
        self.queue: deque[Notice] = deque(maxlen=size)
        self.dropped = 0
        self.wake = asyncio.Event()

    def put(self, notice: Notice) -> None:
        if len(self.queue) == self.queue.maxlen:
            self.dropped += 1  # the deque drops the oldest on append
        self.queue.append(notice)
        self.wake.set()


class EventStream:
    """Observer of the hub that fans notices out to the connected stream clients."""

    def __init__(
        self,
        instruments: Callable[[], dict[str, Instrument]],
        *,
        queue_size: int = QUEUE_SIZE,
        keep_alive_s: float = KEEP_ALIVE_S,
    ) -> None:
        self._instruments = instruments
        self.queue_size = queue_size
        self.keep_alive_s = keep_alive_s
        self.clients: set[StreamClient] = set()
        self.closed = False

    def observe(self, notice: Notice) -> None:
        for client in self.clients:
            client.put(notice)

    def close(self) -> None:
        """End every stream (a server shutting down would otherwise wait on them)."""
        self.closed = True
        for client in self.clients:
            client.wake.set()

    async def frames(self, replay: list[Notice]) -> AsyncIterator[str]:
        """The SSE text of one client's stream: ``replay`` first, then every new notice."""
        client = StreamClient(self.queue_size)
        self.clients.add(client)  # before the replay: nothing published meanwhile is lost
        try:
            instruments = self._instruments()
            for notice in replay:
                yield self._frame(notice, instruments)
            while not self.closed:
                try:  # not ``wait_for``: on 3.11 it may swallow the cancel of a shutdown
                    async with asyncio.timeout(self.keep_alive_s):
                        await client.wake.wait()
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                client.wake.clear()
                chunk = []
                if client.dropped:
                    chunk.append(_sse("dropped", {"type": "dropped", "dropped": client.dropped}))
                    client.dropped = 0
                instruments = self._instruments()
                while client.queue:
                    chunk.append(self._frame(client.queue.popleft(), instruments))
                if chunk:  # one write per wake-up, however many notices came meanwhile
                    yield "".join(chunk)
        finally:
            self.clients.discard(client)

    @staticmethod
    def _frame(notice: Notice, instruments: dict[str, Instrument]) -> str:
        return _sse(notice_type(notice), event_json(notice, instruments))


def _sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


router = APIRouter()


@router.get(
    "/api/events/stream",
    summary="Notices as Server-Sent Events",
    response_class=StreamingResponse,
)
async def event_stream(
    request: Request, replay: Annotated[bool, Query(description="recent notices first")] = False
) -> StreamingResponse:
    """Each notice as ``event: <type>`` and ``data: <json>``; a ``: keep-alive`` comment when
    quiet; a ``dropped`` event when this client fell behind and lost notices.

    The token goes in the ``Authorization`` header, never in the URL: a browser's
    ``EventSource`` cannot send it, so a page reads the stream with ``fetch()`` instead.
    """
    events: EventStream = request.app.state.events
    recent = list(request.app.state.surface.hub.recent)[-REPLAY:] if replay else []
    return StreamingResponse(
        events.frames(recent),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
