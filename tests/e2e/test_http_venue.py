"""The real ccxt binance client (through ``CcxtExchange``) against ``gridmaker sim-exchange``.

Both the simulator and the bot are subprocesses, talking HTTP on 127.0.0.1.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from gridmaker.core.ids import decode_cid
from gridmaker.store import Store
from tests.kit.http_venue import control
from tests.kit.processes import sim_bot_command
from tests.kit.waiting import eventually

pytestmark = pytest.mark.e2e
SYMBOL = "BTC/USDT"
STEPS = "800"
TRADING_KEYS = (
    "fills",
    "buy_fills",
    "sell_fills",
    "completed_cycles",
    "realized_pnl",
    "fees",
    "base_balance",
    "quote_balance",
    "inventory",
    "open_orders",
    "open_buys",
    "open_sells",
    "last_price",
    "feed_position",
)


@contextmanager
def sim_exchange(tmp: Path, *args: str) -> Iterator[str]:
    """``gridmaker sim-exchange`` on a free port; yields its base URL; stops it with SIGTERM."""
    tmp.mkdir(parents=True, exist_ok=True)
    out = tmp / "sim.out"
    with out.open("w") as sink:
        server = subprocess.Popen(
            [sys.executable, "-m", "gridmaker.cli", "sim-exchange", "--port", "0", *args],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        line = eventually(
            lambda: next((x for x in out.read_text().splitlines() if "listening on" in x), None),
            what="the simulator to listen",
        )
        yield line.rsplit(" ", 1)[1]
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


def _bot(data_dir: Path, url: str, *args: str) -> list[str]:
    return sim_bot_command(url, data_dir, *args)


def _run(command: list[str]) -> dict[str, Any]:
    result = subprocess.run(command, capture_output=True, text=True, timeout=240, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _in_process(data_dir: Path, *args: str) -> dict[str, Any]:
    return _run([sys.executable, "-m", "gridmaker.cli", "run", "--data-dir", str(data_dir), *args])


def _duplicates(dump: dict[str, Any]) -> int:
    """Client ids placed more than once, plus levels with two open orders on one side."""
    per_cid = Counter(o["client_order_id"] for o in dump["orders"])
    open_slots = Counter(
        (d.level, d.side)
        for o in dump["orders"]
        if o["status"] == "open" and (d := decode_cid(o["client_order_id"])) is not None
    )
    return sum(n - 1 for n in per_cid.values()) + sum(n - 1 for n in open_slots.values())


def _recorded_fills(data_dir: Path) -> list[str]:
    store = Store(data_dir / "gridmaker.sqlite")
    try:
        rows = store._db.execute("SELECT trade_id FROM fills WHERE symbol = ?", (SYMBOL,))
        return sorted(str(r[0]) for r in rows)
    finally:
        store.close()


def test_full_grid_session_over_ccxt_equals_the_in_process_run(tmp_path: Path) -> None:
    # Arrange
    with sim_exchange(tmp_path / "sim", "--state", str(tmp_path / "sim" / "x.sqlite")) as url:
        # Act: this time the venue comes from the config file, not the flags.
        config = tmp_path / "venue.yaml"
        config.write_text(f"exchange: binance\nvenue:\n  base_url: {url}\n")
        command = [sys.executable, "-m", "gridmaker.cli", "run", "--config", str(config)]
        over_http = _run(
            [*command, "--data-dir", str(tmp_path / "bot"), "--steps", STEPS, "--json"]
        )
        dump = control(url, "/__sim/dump")
        stats = control(url, "/__sim/chaos")
    in_process = _in_process(tmp_path / "ref", "--steps", STEPS, "--json")

    # Assert: the same trading, order for order, as on the embedded exchange.
    assert over_http["fills"] > 0
    assert {k: over_http[k] for k in TRADING_KEYS} == {k: in_process[k] for k in TRADING_KEYS}
    assert _duplicates(dump) == 0
    assert _recorded_fills(tmp_path / "bot") == sorted(f["trade_id"] for f in dump["fills"])
    assert stats["calls"]["POST order"] >= 40  # the grid went out through POST /api/v3/order
    assert stats["calls"]["GET myTrades"] > 0


def test_crash_fill_while_down_restart_syncs_and_counter_orders(tmp_path: Path) -> None:
    # Arrange: the bot places its grid through ccxt, then dies.
    with sim_exchange(tmp_path / "sim", "--state", str(tmp_path / "sim" / "x.sqlite")) as url:
        bot = subprocess.Popen(
            _bot(tmp_path / "bot", url, "--steps", "100000000"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def open_orders() -> list[dict[str, Any]]:
            return [o for o in control(url, "/__sim/dump")["orders"] if o["status"] == "open"]

        try:
            eventually(lambda: len(open_orders()) >= 40, what="the grid to be placed")
        finally:
            bot.send_signal(signal.SIGKILL)
            bot.wait()
        before = {o["client_order_id"] for o in control(url, "/__sim/dump")["orders"]}
        best_buy = max(Decimal(o["price"]) for o in open_orders() if o["side"] == "buy")
        control(
            url,
            "/__sim/trade",
            {"symbol": SYMBOL, "price": str(best_buy), "amount": "1", "ts_event": 1},
        )  # fills while the bot is down

        # Act
        summary = _run(_bot(tmp_path / "bot", url, "--steps", "0", "--json"))
        dump = control(url, "/__sim/dump")

    # Assert: the fill was applied once and answered by a sell one level up.
    assert summary["boot_sync"]["ghost_fills"] >= 1
    assert _recorded_fills(tmp_path / "bot") == sorted(f["trade_id"] for f in dump["fills"])
    new_sells = [
        o
        for o in dump["orders"]
        if o["client_order_id"] not in before and o["status"] == "open" and o["side"] == "sell"
    ]
    assert new_sells, "no counter-order was placed"
    spacing = Decimal("125.00")  # 0.25 % of the 50,000.00 anchor
    assert any(Decimal(o["price"]) == best_buy + spacing for o in new_sells)
    assert _duplicates(dump) == 0


def test_chaos_on_the_wire_keeps_every_invariant_and_ends_as_a_calm_run(tmp_path: Path) -> None:
    # Arrange
    chaos = ("--chaos", "0.35", "--seed", "7")
    with sim_exchange(tmp_path / "calm") as url:
        calm = _run(_bot(tmp_path / "calm-bot", url, "--steps", STEPS, "--json"))
    with sim_exchange(tmp_path / "wild", *chaos) as url:
        # Act
        wild = _run(_bot(tmp_path / "wild-bot", url, "--steps", STEPS, "--json"))
        dump = control(url, "/__sim/dump")
        stats = control(url, "/__sim/chaos")

    # Assert: at least 20 % of API requests were faulted ...
    faulted = sum(stats["faults"].values())
    assert faulted >= 0.2 * stats["requests"] and faulted >= 20, stats
    assert len(stats["faults"]) >= 5, stats
    # ... no order went out twice, every fill was applied once ...
    assert _duplicates(dump) == 0
    assert _recorded_fills(tmp_path / "wild-bot") == sorted(f["trade_id"] for f in dump["fills"])
    # ... and the bot ends exactly where the fault-free run did.
    assert wild["retries"] > 0
    assert {k: wild[k] for k in TRADING_KEYS} == {k: calm[k] for k in TRADING_KEYS}


def test_a_market_that_moves_by_itself_is_traded_over_streams_like_a_real_venue(
    tmp_path: Path,
) -> None:
    # Arrange: the simulator's market trades on its own (600 prints, 10 ms apart), so the
    # bot takes the path it takes on Binance: a live session fed by ccxt.pro streams.
    walk = ("--walk-ms", "10", "--walk-trades", "600")
    with sim_exchange(tmp_path / "sim", *walk) as url:
        # Act: trade for longer than the market moves.
        summary = _run(_bot(tmp_path / "bot", url, "--duration", "16", "--json"))
        market = control(url, "/__sim/market")
        streams = control(url, "/__sim/streams")["counts"]
        calls = control(url, "/__sim/chaos")["calls"]
        dump = control(url, "/__sim/dump")

    # Assert: the walk was over before the bot stopped; every venue fill is recorded once;
    # prices came over the ticker stream (one REST ticker read: the boot sync's).
    assert not market["moves_itself"] and market["positions"][SYMBOL] == 600
    assert summary["fills"] > 0
    assert _recorded_fills(tmp_path / "bot") == sorted(f["trade_id"] for f in dump["fills"])
    assert _duplicates(dump) == 0
    assert streams["public_connections"] >= 1 and streams["ticker_events"] > 0
    assert streams["user_connections"] >= 1 and streams["order_events"] > 0
    assert calls.get("GET ticker/24hr", 0) <= 1


def test_a_live_run_goes_until_stopped_and_a_sigterm_ends_it_cleanly(tmp_path: Path) -> None:
    # Arrange: a market that keeps moving; a bot with neither --steps nor --duration.
    with sim_exchange(tmp_path / "sim", "--walk-ms", "5") as url:
        out = tmp_path / "bot.out"
        with out.open("w") as sink:
            bot = subprocess.Popen(
                _bot(tmp_path / "bot", url, "--json"), stdout=sink, stderr=subprocess.STDOUT
            )
        try:
            eventually(lambda: len(control(url, "/__sim/dump")["fills"]) >= 3, what="a few fills")
            assert bot.poll() is None  # still trading

            # Act
            bot.send_signal(signal.SIGTERM)
            code = bot.wait(timeout=60)
        finally:
            if bot.poll() is None:
                bot.kill()
        dump = control(url, "/__sim/dump")

    # Assert: a clean exit with the summary; every fill up to the last catch-up recorded.
    assert code == 0, out.read_text()[-3000:]
    summary = json.loads(out.read_text().strip().splitlines()[-1])
    assert summary["fills"] > 0
    recorded = _recorded_fills(tmp_path / "bot")
    assert set(recorded) <= {f["trade_id"] for f in dump["fills"]}
    assert len(recorded) == summary["fills"]
