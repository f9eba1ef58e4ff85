"""The dashboard's browser tests: Debian's Chromium driven by Playwright, loopback only.

Never ``playwright install``: the system browser is launched by path, and its host resolver
maps every name but loopback to "not found", so the page (and Chromium's own background
chatter) cannot reach anything outside this machine.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
from pathlib import Path

import httpx

from tests.kit.processes import sim_bot_command
from tests.kit.waiting import eventually

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "DashboardBot", "artifacts_dir", "bot_command"]

CHROMIUM = Path("/usr/lib/chromium/chromium")
"""Debian's real binary (``/usr/bin/chromium`` is a shell wrapper adding flags)."""

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
]

ROOT = Path(__file__).resolve().parents[2]


def artifacts_dir() -> Path:
    """Where screenshots go: ``$GRIDMAKER_ARTIFACTS`` or ``artifacts/`` at the repo root."""
    path = Path(os.environ.get("GRIDMAKER_ARTIFACTS") or ROOT / "artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


def bot_command(url: str, data_dir: Path, api: str, config: Path | None = None) -> list[str]:
    """``gridmaker run`` on the simulator at ``url`` serving its API (and page) at ``api``."""
    return sim_bot_command(
        url, data_dir, "--api", api, *(["--config", str(config)] if config else [])
    )


class DashboardBot:
    """One ``gridmaker run --api`` process that a test may stop and start again on the same
    address (the page must come back to it without a reload)."""

    def __init__(
        self,
        venue_url: str,
        data_dir: Path,
        log_dir: Path,
        token: str,
        config: Path | None = None,
    ) -> None:
        self.venue_url = venue_url
        self.config = config
        self.data_dir = data_dir
        self.log_dir = log_dir
        self.token = token
        self.api = "127.0.0.1:0"
        self.url = ""
        self.process: subprocess.Popen[str] | None = None
        self.runs = 0

    def start(self) -> str:
        """Start the bot; returns its API's URL once it listens and has booted."""
        self.runs += 1
        log = self.log_dir / f"bot-{self.runs}.log"
        env = {**os.environ, "GRIDMAKER_API_TOKEN": self.token}
        command = bot_command(self.venue_url, self.data_dir, self.api, self.config)
        with log.open("w") as err, log.with_suffix(".out").open("w") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=err, text=True, env=env)
        process = self.process

        def address() -> str | None:
            text = log.read_text()
            assert process.poll() is None, f"the bot exited {process.returncode}: {text[-3000:]}"
            found = re.search(r"api: (http://127\.0\.0\.1:(\d+))", text)
            return found.group(1) if found else None

        self.url = eventually(address, timeout_s=60, what="the API's address on stderr")
        self.api = self.url.removeprefix("http://")  # a restart listens where the page looks

        def booted() -> bool:
            try:
                answer = httpx.get(
                    self.url + "/api/status",
                    headers={"Authorization": f"Bearer {self.token}"},
                    timeout=10,
                )
            except httpx.TransportError:
                return False
            return answer.status_code == 200 and bool(answer.json()["booted"])

        eventually(booted, timeout_s=60, what="the bot to boot")
        return self.url

    def stop(self) -> None:
        """SIGINT (the bot stops at a safe point) and wait for its exit."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
