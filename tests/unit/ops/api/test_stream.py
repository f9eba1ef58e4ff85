"""The event stream's per-client queue: bounded, oldest dropped and counted, never blocking."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest

from gridmaker.engine.notices import ControlChanged, Notice, Quiet
from gridmaker.ops.api.stream import EventStream


def _notice(i: int) -> Notice:
    return ControlChanged(symbol="BTC/USDT", control=f"c{i}", previous="", at_ms=i + 1)


async def _take(frames: AsyncIterator[str], n: int) -> list[str]:
    return [await asyncio.wait_for(anext(frames), 5) for _ in range(n)]


def test_stream_full_queue_drops_the_oldest_and_says_how_many_in_one_write() -> None:
    async def main() -> list[str]:
        stream = EventStream(dict, queue_size=3)
        frames = stream.frames([])
        first = asyncio.ensure_future(anext(frames))  # connects the client
        await asyncio.sleep(0)
        for i in range(5):  # the client does not read meanwhile
            stream.observe(_notice(i))
        chunk = await first  # everything queued meanwhile comes in one write
        return [frame + "\n\n" for frame in chunk.split("\n\n") if frame]

    out = asyncio.run(main())

    assert out[0].startswith("event: dropped\n")
    assert json.loads(out[0].split("data: ")[1]) == {"type": "dropped", "dropped": 2}
    assert [json.loads(f.split("data: ")[1])["control"] for f in out[1:]] == ["c2", "c3", "c4"]


def test_stream_replays_first_then_new_notices_in_order() -> None:
    async def main() -> list[str]:
        stream = EventStream(dict)
        frames = stream.frames([_notice(0), _notice(1)])
        out = await _take(frames, 2)
        stream.observe(Quiet(at_ms=9))
        return out + await _take(frames, 1)

    out = asyncio.run(main())

    assert [f.split("\n")[0] for f in out] == [
        "event: control_changed",
        "event: control_changed",
        "event: quiet",
    ]
    assert all(f.endswith("\n\n") for f in out)


def test_stream_quiet_sends_a_keep_alive_comment() -> None:
    async def main() -> str:
        stream = EventStream(dict, keep_alive_s=0.01)
        return await asyncio.wait_for(anext(stream.frames([])), 5)

    assert asyncio.run(main()) == ": keep-alive\n\n"


def test_stream_close_ends_every_stream_and_forgets_its_clients() -> None:
    async def main() -> tuple[int, int]:
        stream = EventStream(dict)
        frames = stream.frames([])
        pending = asyncio.ensure_future(anext(frames))
        await asyncio.sleep(0)
        connected = len(stream.clients)
        stream.close()
        with pytest.raises(StopAsyncIteration):  # the stream ended
            await asyncio.wait_for(pending, 5)
        return connected, len(stream.clients)

    assert asyncio.run(main()) == (1, 0)
