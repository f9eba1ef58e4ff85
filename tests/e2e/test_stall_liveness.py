"""Done when "Stall": a ticker stream that stays open but goes silent is noticed in time.

``gridmaker sim-exchange --walk-ms 10`` moves a market; a bot trades it with its streams on,
its API up and its alerts going to a local webhook. The simulator's ticker stream is stalled
(sockets open, nothing published): within ``venue.stall_after_s`` the bot polls prices over
REST instead, ``/health`` says the market is degraded and why, and a liveness alert arrives.
Once the stream speaks again the bot goes back to it and the alert recovers.
"""

from __future__ import annotations

import json
import os
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.kit.http_venue import control
from tests.kit.processes import background, bot_api_port, gridmaker_command, sim_exchange
from tests.kit.waiting import eventually
from tests.kit.webhook import webhook_receiver

pytestmark = pytest.mark.e2e

TOKEN = "e2e-stall-token-0123456789"
STALL_AFTER_S = 2.0


def _health(port: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=10) as answer:
        body: dict[str, Any] = json.load(answer)
        return body


def _source_reasons(port: int) -> str:
    market = _health(port).get("markets", {}).get("BTC/USDT", {})
    return " ".join(market.get("reasons", []))


def test_a_silent_ticker_stream_is_polled_through_and_alerted(tmp_path: Path) -> None:
    bot_dir = tmp_path / "bot"
    bot_dir.mkdir()
    with webhook_receiver() as hook, sim_exchange(tmp_path / "sim", "--walk-ms", "10") as url:
        config = bot_dir / "gridmaker.yaml"
        config.write_text(
            "exchange: binance\n"
            f"venue:\n  base_url: {url}\n  poll_interval_s: 0.2\n"
            f"  stall_after_s: {STALL_AFTER_S}\n"
            "watchdog:\n  check_every_s: 0.5\n",
            encoding="utf-8",
        )
        env = {**os.environ, "GRIDMAKER_API_TOKEN": TOKEN, "GRIDMAKER_ALERT_URLS": hook.url("a")}
        command = gridmaker_command(
            "run", "--config", str(config), "--data-dir", str(bot_dir / "data"),
            "--api", "127.0.0.1:0", "--duration", "300",
        )  # fmt: skip
        log = bot_dir / "bot.out"
        with background(command, log, env):
            port = bot_api_port(log)
            eventually(lambda: _health(port)["status"] == "ok", what="a healthy bot", timeout_s=60)

            # Act: the ticker stream stays open and goes silent
            control(url, "/__sim/streams", {"stall": True})
            stalled_at = time.monotonic()

            # Assert: polling within the threshold (plus a check), a liveness alert
            eventually(
                lambda: "poll" in _source_reasons(port),
                what="the watchdog to see prices polled",
                timeout_s=30,
            )
            switched_after = time.monotonic() - stalled_at
            alert = eventually(
                lambda: next(
                    (b for b in hook.bodies() if "degraded" in str(b.get("title", ""))), None
                ),
                what="a liveness alert at the webhook",
                timeout_s=30,
            )
            assert _health(port)["status"] == "degraded"

            # Act: the stream speaks again
            control(url, "/__sim/streams", {"stall": False})

            # Assert: back on the stream, healthy again
            eventually(lambda: _health(port)["status"] == "ok", what="healthy again", timeout_s=60)

    assert switched_after < STALL_AFTER_S + 10, switched_after
    assert alert is not None
