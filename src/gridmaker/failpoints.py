"""Named crash points for crash-torture runs: the process kills itself with SIGKILL there.

``GRIDMAKER_FAILPOINT="name:n"`` makes the n-th passage through ``hit("name")`` kill the
process, exactly as ``kill -9`` from outside would, at an instant chosen for being dangerous
(between recording an intent and sending it, between sending and recording the answer, inside
the transaction that applies a fill). Unset — the normal case — ``hit`` is one comparison.
"""

from __future__ import annotations

import os
import signal
from typing import Final

__all__ = ["ENV_VAR", "POINTS", "hit"]

ENV_VAR: Final = "GRIDMAKER_FAILPOINT"
POINTS: Final = (
    "intent:recorded",
    "send:done",
    "fill:in-transaction",
    "trade:printed",
    "download:part-written",
    "reconfigure:before-commit",
    "reconfigure:after-commit",
)


def _parse(spec: str | None) -> tuple[str, int] | None:
    if not spec:
        return None
    name, _, count = spec.partition(":n=")
    if name not in POINTS or not count.isdigit() or int(count) < 1:
        raise ValueError(
            f"{ENV_VAR} must be '<point>:n=<count>' with a point in {POINTS}, was {spec!r}"
        )
    return name, int(count)


_TARGET = _parse(os.environ.get(ENV_VAR))
_passes = 0


def hit(name: str) -> None:
    """Count a passage through ``name``; die there if this is the configured passage."""
    global _passes
    if _TARGET is None or _TARGET[0] != name:
        return
    _passes += 1
    if _passes == _TARGET[1]:
        os.kill(os.getpid(), signal.SIGKILL)
