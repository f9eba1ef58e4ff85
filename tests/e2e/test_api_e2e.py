"""The control API end to end: ``gridmaker run --api`` trading a self-moving ``sim-exchange``.

Both are subprocesses on 127.0.0.1; the test speaks HTTP to the bot's API with the token from
``GRIDMAKER_API_TOKEN`` and checks what happened at the venue through the simulator's own
records (``/__sim/dump``), never through the bot.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.test_http_venue import sim_exchange
from tests.kit.cli import gridmaker, last_json
from tests.kit.http_venue import control
from tests.kit.processes import sim_bot_command
from tests.kit.waiting import eventually

pytestmark = pytest.mark.e2e

SYMBOL = "BTC/USDT"
URL_SYMBOL = "BTC-USDT"
TOKEN = "e2e-token-0123456789abcdef"
WALK_TRADES = "1500"
"""The market walks one print every 10 ms this many times, then rests (the comparisons)."""


@contextmanager
def bot(data_dir: Path, url: str, log: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``gridmaker run --api 127.0.0.1:0`` on the simulator; yields it and its API's URL."""
    command = sim_bot_command(url, data_dir, "--api", "127.0.0.1:0", "--json")
    env = {**os.environ, "GRIDMAKER_API_TOKEN": TOKEN}
    with log.open("w") as sink, log.with_suffix(".out").open("w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=sink, text=True, env=env)
    try:

        def address() -> str | None:
            text = log.read_text()
            assert process.poll() is None, f"the bot exited {process.returncode}: {text[-3000:]}"
            found = re.search(r"api: (http://127\.0\.0\.1:\d+)", text)
            return found.group(1) if found else None

        yield process, eventually(address, timeout_s=60, what="the API's address on stderr")
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _venue_orders(url: str, status: str | None = None) -> list[dict[str, Any]]:
    orders: list[dict[str, Any]] = control(url, "/__sim/dump")["orders"]
    return [o for o in orders if status is None or o["status"] == status]


def _venue_fills(url: str) -> list[dict[str, Any]]:
    fills: list[dict[str, Any]] = control(url, "/__sim/dump")["fills"]
    return fills


def _command(api: httpx.Client, command: str, request_id: str, symbol: str = SYMBOL) -> Any:
    answer = api.post(
        "/api/commands",
        params={"wait": 20},
        json={"command": command, "symbol": symbol, "reason": "e2e", "request_id": request_id},
    )
    assert answer.status_code == 200, answer.text  # applied by the loop within the wait
    assert answer.json()["status"] == "applied"
    return answer.json()


def _market(api: httpx.Client) -> dict[str, Any]:
    answer = api.get(f"/api/markets/{URL_SYMBOL}")
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def _all_fills(api: httpx.Client) -> list[str]:
    seen: list[str] = []
    before = None
    while True:
        params: dict[str, int] = {"limit": 1000} | ({"before": before} if before else {})
        page = api.get(f"/api/markets/{URL_SYMBOL}/fills", params=params).json()
        seen += [f["trade_id"] for f in page["fills"]]
        before = page["next"]
        if before is None:
            return seen


def _pause_places_nothing(api: httpx.Client, url: str) -> None:
    """Paused, a working buy fills at the venue and the bot applies it, placing nothing."""
    _command(api, "pause", "e2e-pause")
    placed = len(_venue_orders(url))
    fills = _market(api)["fills"]
    levels = api.get(f"/api/markets/{URL_SYMBOL}/ladder").json()["levels"]
    best_buy = max(Decimal(r["order_price"]) for r in levels if r["side"] == "buy")
    now_ms = int(time.time() * 1000)
    trade = {"symbol": SYMBOL, "price": str(best_buy - 50), "amount": "1", "ts_event": now_ms}
    control(url, "/__sim/trade", trade)

    eventually(lambda: _market(api)["fills"] > fills, timeout_s=60, what="a fill while paused")

    assert len(_venue_orders(url)) == placed
    assert _market(api)["control"] == "paused"
    _command(api, "resume", "e2e-resume")
    eventually(lambda: len(_venue_orders(url)) > placed, timeout_s=60, what="orders on resume")
    assert _market(api)["control"] == "trading"


def _breaker_trips_and_resets(api: httpx.Client) -> None:
    _command(api, "trip", "e2e-trip")
    tripped = _market(api)
    assert tripped["breaker"] != "active" and tripped["breaker_details"]["reason"] == "e2e"
    _command(api, "reset", "e2e-reset")
    assert _market(api)["breaker"] == "active"


def _equal_to_status(api: httpx.Client, data_dir: Path, url: str) -> None:
    """At rest (the walk ended), the API reads what ``gridmaker status --json`` reads."""

    def agree() -> bool:
        cli = last_json(gridmaker("status", "--json", "--data-dir", str(data_dir)))
        market = _market(api)
        return {k: market.get(k) for k in cli} == cli

    eventually(agree, timeout_s=90, what="the API and status to agree")
    fills = _all_fills(api)
    assert fills == [f["trade_id"] for f in _venue_fills(url)][::-1]
    levels = api.get(f"/api/markets/{URL_SYMBOL}/ladder").json()["levels"]
    working = {r["client_order_id"] for r in levels if r["order"] == "open"}
    assert working == {o["client_order_id"] for o in _venue_orders(url, "open")}


def test_api_end_to_end_reads_commands_and_a_stop_that_leaves_the_orders(tmp_path: Path) -> None:
    data_dir = tmp_path / "bot"
    sim_state = tmp_path / "sim" / "x.sqlite"
    sim_args = ("--walk-ms", "10", "--walk-trades", WALK_TRADES, "--state", str(sim_state))
    with sim_exchange(tmp_path / "sim", *sim_args) as url:
        with bot(data_dir, url, tmp_path / "bot.log") as (process, api_url):
            with httpx.Client(
                base_url=api_url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
            ) as api:
                eventually(
                    lambda: api.get("/api/status").json()["booted"], timeout_s=60, what="boot"
                )
                # A wrong or missing token gets 401 and changes nothing.
                for headers in ({"Authorization": "Bearer wrong-token"}, {"Authorization": ""}):
                    refused = httpx.post(
                        f"{api_url}/api/commands",
                        headers=headers,
                        json={"command": "trip", "symbol": SYMBOL, "request_id": "x"},
                    )
                    assert refused.status_code == 401
                assert api.get("/api/commands").json()["commands"] == []

                _pause_places_nothing(api, url)
                _breaker_trips_and_resets(api)
                eventually(
                    lambda: not control(url, "/__sim/market")["moves_itself"],
                    timeout_s=120,
                    what="the walk to end",
                )
                _equal_to_status(api, data_dir, url)
                left_open = {o["client_order_id"] for o in _venue_orders(url, "open")}

                _command(api, "stop_leave", "e2e-stop", symbol="*")
                assert process.wait(timeout=60) == 0

            assert {o["client_order_id"] for o in _venue_orders(url, "open")} == left_open
            assert len(left_open) > 0

        # Restarted, the bot finds every order it left working.
        again = gridmaker(
            "run",
            "--exchange",
            "binance",
            "--base-url",
            url,
            "--data-dir",
            str(data_dir),
            "--steps",
            "0",
            "--json",
        )
        summary = last_json(again)
        assert summary["boot_sync"]["matched"] == len(left_open)
        assert summary["boot_sync"]["zombies"] == 0
