"""Waiting on a condition with a deadline: never a fixed sleep."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


def eventually(probe: Callable[[], T | None], *, timeout_s: float = 30.0, what: str = "") -> T:
    """Poll ``probe`` until it returns something truthy; fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    delay = 0.01
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what or probe}")
        time.sleep(delay)
        delay = min(delay * 2, 0.2)


async def eventually_async(
    probe: Callable[[], T | None], *, timeout_s: float = 30.0, what: str = ""
) -> T:
    """``eventually`` for code running on the event loop: waits without blocking it."""
    deadline = time.monotonic() + timeout_s
    delay = 0.005
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what or probe}")
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.1)


async def eventually_coro(
    probe: Callable[[], Awaitable[bool]], *, timeout_s: float = 30.0, what: str = ""
) -> None:
    """``eventually_async`` for a probe that must itself await (e.g. ask a venue)."""
    deadline = time.monotonic() + timeout_s
    while not await probe():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what or probe}")
        await asyncio.sleep(0.02)
