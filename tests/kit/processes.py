"""Long-running ``gridmaker`` processes for end-to-end tests: a simulator, a bot with its API.

Each runs in the background writing to a log file; the test waits on lines of that log (with
a deadline), and leaving the block stops the process with SIGTERM, as an operator would
(SIGKILL only if it does not stop).
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from tests.kit.waiting import eventually

__all__ = [
    "API_LINE",
    "background",
    "bot_api_port",
    "gridmaker_command",
    "sim_bot_command",
    "sim_exchange",
]

API_LINE = re.compile(r"api: http://127\.0\.0\.1:(\d+) ")
"""What ``run --api 127.0.0.1:0`` prints once it listens."""


def gridmaker_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "gridmaker.cli", *args]


def sim_bot_command(url: str, data_dir: Path, *args: str) -> list[str]:
    """``gridmaker run`` on the simulator at ``url`` (Binance-shaped), then ``args``."""
    return gridmaker_command(
        "run", "--exchange", "binance", "--base-url", url, "--data-dir", str(data_dir), *args
    )


@contextmanager
def background(
    command: list[str], log: Path, env: Mapping[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """``command`` running with its output in ``log``; SIGTERM (then SIGKILL) at the end."""
    with log.open("w") as sink:
        proc = subprocess.Popen(
            command, stdout=sink, stderr=subprocess.STDOUT, env=env, cwd=log.parent
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


@contextmanager
def sim_exchange(work: Path, *args: str) -> Iterator[str]:
    """``gridmaker sim-exchange --port 0 ARGS`` in ``work``; yields its base URL."""
    work.mkdir(parents=True, exist_ok=True)
    log = work / "sim.out"
    with background(gridmaker_command("sim-exchange", "--port", "0", *args), log):
        line = eventually(
            lambda: next((x for x in log.read_text().splitlines() if "listening on" in x), None),
            what="the simulator to listen",
        )
        yield line.rsplit(" ", 1)[1]


def bot_api_port(log: Path) -> int:
    """The port a bot started with ``--api 127.0.0.1:0`` listens on, once it says so."""
    found = eventually(lambda: API_LINE.search(log.read_text()), what="the bot's API to listen")
    return int(found.group(1))
