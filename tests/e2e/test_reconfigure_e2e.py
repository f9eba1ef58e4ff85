"""Issue 16's "Keep", end to end: a running grid changed in place keeps its untouched orders.

A ``sim-exchange`` prints a steady price (its feed has no volatility) and a bot trades a range
grid on it over HTTP. ``gridmaker plan`` predicts a change of spacing and level counts;
``gridmaker reconfigure`` queues it and the running bot applies it. The venue's own records
(``/__sim/dump``) then show the unchanged levels' orders still open under the same client ids,
and exactly the cancels and places ``plan`` predicted. Restarted with the new config, the bot
boots and trades. A refused change exits 2 and changes nothing.
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.kit.cli import gridmaker, last_json
from tests.kit.http_venue import control
from tests.kit.processes import background, bot_api_port, sim_bot_command, sim_exchange
from tests.kit.waiting import eventually

pytestmark = pytest.mark.e2e

SYMBOL = "BTC/USDT"
TOKEN = "e2e-token-reconfigure-0123456789"
STEADY = 'feed:\n  volatility: "0"\n'
"""The walk prints its start price (50000) every time: nothing fills unless the test prints."""
OLD = (
    STEADY
    + 'markets:\n  - grid:\n      lower: "49000"\n      upper: "51000"\n      spacing: "200"\n'
)
NEW = (
    STEADY
    + 'markets:\n  - grid:\n      lower: "48600"\n      upper: "51000"\n      spacing: "100"\n'
)
"""Half the spacing and two more levels below: every old buy price stays a level."""
OTHER_ID = NEW.replace("  - grid:", "  - strategy_id: other\n    grid:")
"""The new grid under another strategy id: a new grid, which a reconfiguration refuses."""


def _orders(url: str) -> dict[str, dict[str, Any]]:
    """Every order the venue ever took, by client id (the venue's records, not the bot's)."""
    return {o["client_order_id"]: o for o in control(url, "/__sim/dump")["orders"]}


def _open(url: str) -> set[str]:
    return {cid for cid, o in _orders(url).items() if o["status"] == "open"}


def _commands(data_dir: Path) -> int:
    db = sqlite3.connect(f"file:{data_dir / 'gridmaker.sqlite'}?mode=ro", uri=True)
    try:
        return int(db.execute("SELECT count(*) FROM commands").fetchone()[0])
    finally:
        db.close()


def _settled(url: str, expected: int | set[str]) -> set[str] | None:
    """The venue's open orders once they are ``expected`` (or that many)."""
    opened = _open(url)
    done = opened == expected if isinstance(expected, set) else len(opened) == expected
    return opened if done else None


def test_reconfigure_keeps_unchanged_orders_and_does_what_plan_said(tmp_path: Path) -> None:
    # Arrange: a bot trading the old range grid on a steady market
    old, new, other = tmp_path / "old.yaml", tmp_path / "new.yaml", tmp_path / "other.yaml"
    old.write_text(OLD)
    new.write_text(NEW)
    other.write_text(OTHER_ID)
    data_dir = tmp_path / "bot"
    sim_args = ("--walk-ms", "100", "--config", str(old), "--state", str(tmp_path / "x.sqlite"))
    with sim_exchange(tmp_path / "sim", *sim_args) as url:
        bot = sim_bot_command(url, data_dir, "--config", str(old))
        with background(bot, tmp_path / "bot.log") as process:
            before = eventually(
                lambda: _settled(url, 10),
                timeout_s=90,
                what="the old grid's 10 orders at the venue",
            )

            # A refused change: exit 2 naming it, nothing queued, nothing at the venue moves.
            refused = gridmaker(
                "reconfigure",
                "--config",
                str(other),
                "--data-dir",
                str(data_dir),
                "--yes",
                "--wait",
                "20",
            )
            assert refused.returncode == 2, refused.stderr
            assert "strategy_id" in refused.stderr and "Traceback" not in refused.stderr
            assert _commands(data_dir) == 0
            assert _open(url) == before

            # Act: plan, then reconfigure the running bot
            plan = last_json(
                gridmaker("plan", "--config", str(new), "--data-dir", str(data_dir), "--json")
            )
            market = plan["markets"][0]
            assert market["kind"] == "change" and market["allowed"]
            predicted = market["orders"]
            applied = gridmaker(
                "reconfigure",
                "--config",
                str(new),
                "--data-dir",
                str(data_dir),
                "--yes",
                "--wait",
                "20",
                "--json",
            )
            # Settled: the venue's open orders are the kept ones and the placed ones (by count
            # alone a moment mid-way could pass for the end).
            expected = set(predicted["keep"]) | {p["cid"] for p in predicted["place"]}
            after = eventually(
                lambda: _settled(url, expected),
                timeout_s=60,
                what="the venue's open orders to be the kept and the placed ones",
            )
            assert process.poll() is None

        # Assert: the change reached the venue exactly as planned
        answer = last_json(applied)["markets"][0]
        assert answer["result"] == "applied" and answer["outcome"] == ""
        orders = _orders(url)
        kept = set(predicted["keep"])
        assert kept and kept <= before and kept <= after
        cancelled = {c for c in before if orders[c]["status"] == "canceled"}
        assert cancelled == set(predicted["cancel"])
        placed = set(orders) - before
        assert placed == {p["cid"] for p in predicted["place"]}
        for p in predicted["place"]:
            assert (orders[p["cid"]]["side"], orders[p["cid"]]["price"]) == (p["side"], p["price"])
        assert after == kept | placed
        assert before - after == cancelled

        # Restarted with the new config, the bot boots on the reshaped book (every order
        # matched) and trades: the venue fills its best buy and the bot applies the fill.
        restart = sim_bot_command(url, data_dir, "--config", str(new), "--api", "127.0.0.1:0")
        log = tmp_path / "again.log"
        with background(restart, log, env={**os.environ, "GRIDMAKER_API_TOKEN": TOKEN}) as again:
            api = f"http://127.0.0.1:{bot_api_port(log)}"
            auth = {"Authorization": f"Bearer {TOKEN}"}
            eventually(
                lambda: httpx.get(f"{api}/api/status", headers=auth).json()["booted"],
                timeout_s=90,
                what="the restart's boot",
            )
            market = httpx.get(f"{api}/api/markets/BTC-USDT", headers=auth).json()
            assert market["boot_sync_report"]["matched"] == len(after)
            trade = {"symbol": SYMBOL, "price": "49850", "amount": "1", "ts_event": 0}
            control(url, "/__sim/trade", trade | {"ts_event": int(time.time() * 1000)})
            eventually(
                lambda: httpx.get(f"{api}/api/markets/BTC-USDT", headers=auth).json()["buy_fills"],
                timeout_s=60,
                what="the bot to apply the fill",
            )
            assert again.poll() is None, log.read_text()[-3000:]
        assert _orders(url)["gmbtcusdtBPdC1"]["status"] == "filled"
        assert "does not match" not in log.read_text()
