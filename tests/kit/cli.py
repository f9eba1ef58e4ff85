"""The command line as a user runs it: ``python -m gridmaker.cli`` in a subprocess.

One helper for every end-to-end test, so the interpreter, timeout and environment handling
are the same everywhere and change in one place.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["gridmaker", "last_json"]

TIMEOUT_S = 240.0


def gridmaker(
    *args: str,
    cwd: Path | None = None,
    env: Mapping[str, str | None] | None = None,
    timeout: float = TIMEOUT_S,
) -> subprocess.CompletedProcess[str]:
    """Run ``gridmaker ARGS`` and capture its output; never raises on a non-zero exit.

    The command sees this process's environment with ``env`` laid over it (a ``None`` value
    removes the variable) and a headless plotting backend, so a report never opens a window.
    """
    merged = {**os.environ, "MPLBACKEND": "Agg", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "gridmaker.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={k: v for k, v in merged.items() if v is not None},
    )


def last_json(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The JSON object a ``--json`` command prints last; the command must have succeeded."""
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]
