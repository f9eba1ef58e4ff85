"""Done when "Consistency, metrics and alerts": a real Prometheus scrapes a running bot.

``gridmaker sim-exchange --walk-ms 10`` moves a market by itself; ``gridmaker run --api``
trades it over REST (venue streams off, so the periodic audit, not the user-data stream,
finds what changed) and serves ``/metrics`` behind its bearer token; Debian's ``prometheus``
scrapes it every second. A person cancels one of the bot's orders by hand at the venue
(signed REST DELETE, as in the venue's UI). Through Prometheus' HTTP API the test sees
``gridmaker_orders_missing`` go non-zero, an alert reach a local webhook, and the metric
return to zero once the bot has repaired its grid.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gridmaker.cli.venue import SIM_API_KEY, SIM_API_SECRET
from gridmaker.core.ids import decode_cid
from tests.kit.http_venue import control
from tests.kit.processes import background
from tests.kit.prometheus import NO_PROMETHEUS, PROMETHEUS, PrometheusServer
from tests.kit.waiting import eventually
from tests.kit.webhook import webhook_receiver

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(PROMETHEUS is None, reason=NO_PROMETHEUS)]

SYMBOL = "BTC/USDT"
TOKEN = "e2e-metrics-token-0123456789"
AUDIT_INTERVAL_S = 3.0
"""Long enough for a 1 s scrape to see one audit's finding before the next audit."""
API_LINE = re.compile(r"api: http://127\.0\.0\.1:(\d+) ")
"""What ``run --api 127.0.0.1:0`` prints once it listens (port 0: any free port)."""


def _cancel_by_hand(url: str, client_order_id: str) -> dict[str, Any]:
    """``DELETE /api/v3/order`` signed with the simulator's key pair, as a person would."""
    query = urllib.parse.urlencode(
        {
            "symbol": "BTCUSDT",
            "origClientOrderId": client_order_id,
            "timestamp": int(time.time() * 1000),
        }
    )
    signature = hmac.new(SIM_API_SECRET.encode(), query.encode(), hashlib.sha256).hexdigest()
    request = urllib.request.Request(
        f"{url}/api/v3/order?{query}&signature={signature}",
        method="DELETE",
        headers={"X-MBX-APIKEY": SIM_API_KEY},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        body: dict[str, Any] = json.load(answer)
        return body


def _open_orders(url: str) -> list[dict[str, Any]]:
    return [o for o in control(url, "/__sim/dump")["orders"] if o["status"] == "open"]


def test_order_cancelled_by_hand_shows_in_prometheus_alerts_and_is_repaired(
    tmp_path: Path,
) -> None:
    sim_dir, bot_dir = tmp_path / "sim", tmp_path / "bot"
    sim_dir.mkdir()
    bot_dir.mkdir()
    sim_log = sim_dir / "sim.out"
    with (
        webhook_receiver() as hook,
        background(
            [
                sys.executable,
                "-m",
                "gridmaker.cli",
                "sim-exchange",
                "--port",
                "0",
                "--walk-ms",
                "10",
                "--state",
                str(sim_dir / "x.sqlite"),
            ],
            sim_log,
        ),
    ):
        line = eventually(
            lambda: next(
                (x for x in sim_log.read_text().splitlines() if "listening on" in x), None
            ),
            what="the simulator to listen",
        )
        url = line.rsplit(" ", 1)[1]
        config = bot_dir / "gridmaker.yaml"
        config.write_text(
            "exchange: binance\n"
            f"venue:\n  base_url: {url}\n  streams: false\n"
            f"  audit_interval_s: {AUDIT_INTERVAL_S}\n"
            # Levels far apart: the walk fills nothing during the test, so no fill read
            # late by an audit can pass for the order cancelled by hand.
            "markets:\n  - symbol: BTC/USDT\n"
            "    grid: {spacing: '5%', buy_levels: 2, sell_levels: 2}\n"
        )
        env = {
            **os.environ,
            "GRIDMAKER_API_TOKEN": TOKEN,
            "GRIDMAKER_ALERT_URLS": hook.url("alerts"),
        }
        bot = [
            sys.executable,
            "-m",
            "gridmaker.cli",
            "run",
            "--config",
            str(config),
            "--data-dir",
            str(bot_dir / "data"),
            "--api",
            "127.0.0.1:0",
            "--duration",
            "600",
        ]
        bot_log = bot_dir / "bot.out"
        with background(bot, bot_log, env):
            found = eventually(
                lambda: API_LINE.search(bot_log.read_text()), what="the bot's API to listen"
            )
            target = f"127.0.0.1:{found.group(1)}"
            with PrometheusServer(tmp_path / "prom", target, TOKEN) as prom:
                _consistency_round_trip(prom, url, hook.bodies, bot_log)


def _consistency_round_trip(
    prom: PrometheusServer,
    url: str,
    alerts: Callable[[], list[dict[str, Any]]],
    bot_log: Path,
) -> None:
    # Arrange: the grid is out, Prometheus scrapes it, an audit found it whole.
    missing = f'gridmaker_orders_missing{{symbol="{SYMBOL}"}}'
    try:
        prom.wait_value(missing, lambda v: v == 0, timeout_s=60)
    except AssertionError as e:
        raise AssertionError(f"{e}\nbot: {bot_log.read_text()[-3000:]}") from e
    assert prom.value('up{job="gridmaker"}') == 1
    assert (prom.value("gridmaker_rate_budget_limit_weight") or 0) > 0  # a ccxt venue's

    def vanished() -> bool:
        return any("vanished" in str(b.get("title", "")) for b in alerts())

    assert not vanished()
    ours = eventually(
        lambda: [o for o in _open_orders(url) if decode_cid(o["client_order_id"])],
        what="the bot's orders at the venue",
    )

    # Act: a person cancels one of the bot's orders in the venue's UI (the lowest
    # buy: the farthest from the price, so the bot is not cancelling it itself).
    victim = min(ours, key=lambda o: float(o["price"]))
    answer = _cancel_by_hand(url, victim["client_order_id"])
    assert answer["status"] == "CANCELED"

    # Assert: Prometheus sees the order missing, an alert reaches the webhook, and
    # once the bot repaired its grid the metric is back at zero.
    prom.wait_value(missing, lambda v: v >= 1, timeout_s=30)
    eventually(vanished, what="the vanished-order alert at the webhook")
    prom.wait_value(missing, lambda v: v == 0, timeout_s=30)
    diverged = f'gridmaker_audits_total{{symbol="{SYMBOL}",result="diverged"}}'
    assert (prom.value(diverged) or 0) >= 1
    expected = prom.value(f'gridmaker_orders_expected{{symbol="{SYMBOL}"}}')
    at_venue = prom.value(f'gridmaker_orders_open_at_venue{{symbol="{SYMBOL}"}}')
    assert expected and expected == at_venue
