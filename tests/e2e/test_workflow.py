"""The seed's scenarios: the bot as a real process, killed and restarted."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
from contextlib import closing
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from gridmaker.config import Config, book_setups, load_config, sim_instrument
from gridmaker.core.events import Side
from gridmaker.engine.orchestrator import GridOrchestrator
from gridmaker.exchange.sim import SimExchange
from gridmaker.store import Store
from tests.kit.cli import gridmaker, last_json
from tests.kit.waiting import eventually
from tests.kit.world import make_executor

pytestmark = pytest.mark.e2e
SYMBOL = "BTC/USDT"


def _command(data_dir: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "gridmaker.cli", "run", "--data-dir", str(data_dir), *args]


def _run(
    data_dir: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return gridmaker("run", "--data-dir", str(data_dir), *args, env=env)


def _open_orders(data_dir: Path) -> list[tuple[str, str, str]]:
    path = data_dir / "exchange.sqlite"
    if not path.exists():
        return []
    try:
        with closing(sqlite3.connect(path)) as db:
            rows = db.execute(
                "SELECT client_order_id, side, price FROM orders WHERE status = 'open'"
            ).fetchall()
    except sqlite3.OperationalError:
        return []  # the file is being created
    return [(str(c), str(s), str(p)) for c, s, p in rows]


def _intents(data_dir: Path) -> dict[str, int]:
    with closing(sqlite3.connect(data_dir / "gridmaker.sqlite")) as db:
        rows = db.execute("SELECT client_order_id, revision FROM intents WHERE kind = 'place'")
        return {str(cid): int(rev) for cid, rev in rows}


def test_recovery_offline_fills(tmp_path: Path, engine: str) -> None:
    # Arrange: the bot runs until its grid is placed, then dies.
    bot = subprocess.Popen(
        _command(tmp_path, "--engine", engine, "--steps", "100000000"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        eventually(lambda: len(_open_orders(tmp_path)) >= 40, what="the grid to be placed")
    finally:
        bot.send_signal(signal.SIGKILL)
        bot.wait()
    intents_before = _intents(tmp_path)
    config = load_config(None)
    inst = sim_instrument(config, SYMBOL)
    venue = SimExchange(instruments=[inst], initial_balances={}, path=tmp_path / "exchange.sqlite")
    best_buy = max(Decimal(p) for _, side, p in _open_orders(tmp_path) if side == "buy")
    offline = venue.apply_trade(SYMBOL, best_buy, Decimal("1"), 1)  # fills while the bot is down
    venue.close_sync()
    assert [f.side for f in offline] == [Side.BUY]

    # Act
    summary = last_json(_run(tmp_path, "--engine", engine, "--steps", "0", "--json"))

    # Assert: the fill is in the book, and answered by a sell one level up.
    # The offline fill is a ghost fill (the kill may also have beaten the poll of another one).
    assert summary["boot_sync"]["ghost_fills"] >= 1
    store = Store(tmp_path / "gridmaker.sqlite")
    state = store.load_book(SYMBOL)
    boot = store.last_boot(SYMBOL)
    fill_revision = store._db.execute(
        "SELECT revision FROM fills WHERE trade_id = ?", (offline[0].trade_id,)
    ).fetchone()[0]
    store.close()
    assert state is not None and boot is not None
    slot = state.slots[inst.buy_price_ticks(best_buy)]
    assert slot.position_steps == inst.to_steps(Decimal("0.001"))
    new_intents = {c: r for c, r in _intents(tmp_path).items() if c not in intents_before}
    assert slot.order_cid in new_intents and slot.order_side is Side.SELL
    assert all(rev >= fill_revision > boot.revision for rev in new_intents.values())
    spacing = state.grid.spacing_ticks
    assert (slot.order_cid, "sell", str(inst.from_ticks(slot.buy_ticks + spacing))) in {
        (c, s, str(Decimal(p).normalize())) for c, s, p in _open_orders(tmp_path)
    }


class RecordingVenue:
    """The real simulated exchange, with a log of every call in the order it was made."""

    def __init__(self, inner: SimExchange) -> None:
        self.inner = inner
        self.calls: list[tuple[str, str]] = []

    def __getattr__(self, name: str) -> Any:
        target = getattr(self.inner, name)
        if not name.startswith(("fetch_", "place_", "cancel_")):
            return target

        async def recorded(*args: Any) -> Any:
            symbol = args[0].symbol if name == "place_order" else (args[0] if args else "")
            self.calls.append((name, symbol))
            return await target(*args)

        return recorded


def test_sync_runs_before_trading(tmp_path: Path, engine: str) -> None:
    async def main() -> list[tuple[str, str]]:
        # Arrange: two symbols with stored books and open orders.
        raw = {
            "sim": {
                "balances": {"BTC": "1", "ETH": "10", "USDT": "100000"},
                "instruments": {"BTC/USDT": {}, "ETH/USDT": {"min_notional": "1"}},
            },
            "markets": [{"symbol": "BTC/USDT"}, {"symbol": "ETH/USDT", "order_size": "0.01"}],
        }
        config = Config.model_validate(raw)
        instruments = [sim_instrument(config, m.symbol) for m in config.markets]
        setups = book_setups(config, instruments)

        async def life() -> RecordingVenue:
            sim = SimExchange(
                instruments=instruments,
                initial_balances=config.sim.balances,
                path=tmp_path / "x.sqlite",
            )
            venue = RecordingVenue(sim)
            store = Store(tmp_path / "gm.sqlite")
            executor = make_executor(engine, tmp_path, store, venue)
            orch = GridOrchestrator(exchange=venue, executor=executor, setups=setups)
            await orch.boot()
            for symbol, price in (("BTC/USDT", "50000"), ("ETH/USDT", "3000")):
                sim.apply_trade(symbol, Decimal(price), Decimal("0.1"), 1)
                await orch.on_trade(symbol, Decimal(price), 1)
            await executor.close()
            await sim.close()
            return venue

        await life()
        down = SimExchange(instruments=instruments, initial_balances={}, path=tmp_path / "x.sqlite")
        for symbol, price in (("BTC/USDT", "49875"), ("ETH/USDT", "2992.5")):
            assert down.apply_trade(symbol, Decimal(price), Decimal("1"), 2)  # fills while down
        down.close_sync()

        # Act
        second = await life()
        return second.calls

    calls = asyncio.run(main())

    # Assert: every symbol's open orders and fills were fetched before anything was sent.
    first_write = next(
        i for i, (name, _) in enumerate(calls) if name in ("place_order", "cancel_order")
    )
    synced = {(n, s) for n, s in calls[:first_write]}
    for symbol in ("BTC/USDT", "ETH/USDT"):
        assert ("fetch_open_orders", symbol) in synced
        assert ("fetch_fills", symbol) in synced


def test_client_order_ids_deterministic(tmp_path: Path) -> None:
    # Arrange: die right after the first intents are recorded, before anything is sent.
    env = {**os.environ, "GRIDMAKER_FAILPOINT": "intent:recorded:n=1"}
    crashed = _run(tmp_path, "--steps", "100", env=env)
    assert crashed.returncode == -signal.SIGKILL
    journaled = set(_intents(tmp_path))
    assert len(journaled) == 40 and _open_orders(tmp_path) == []

    # Act
    last_json(_run(tmp_path, "--steps", "0", "--json"))

    # Assert: the very same ids went out, once each.
    with closing(sqlite3.connect(tmp_path / "exchange.sqlite")) as db:
        placed = [str(r[0]) for r in db.execute("SELECT client_order_id FROM orders")]
    assert sorted(placed) == sorted(journaled)


def test_corrupt_state_refuses_start(tmp_path: Path, engine: str) -> None:
    # Arrange
    last_json(_run(tmp_path, "--engine", engine, "--steps", "300", "--json"))
    with closing(sqlite3.connect(tmp_path / "exchange.sqlite")) as db:
        orders_before = db.execute("SELECT count(*) FROM orders").fetchone()[0]
    path = tmp_path / "gridmaker.sqlite"
    raw = bytearray(path.read_bytes())
    at = raw.find(b'"quote_atoms":') + len(b'"quote_atoms":')
    raw[at] = ord("1") if raw[at] != ord("1") else ord("2")
    path.write_bytes(bytes(raw))

    # Act
    result = _run(tmp_path, "--engine", engine, "--steps", "300")

    # Assert
    assert result.returncode == 3
    assert str(path) in result.stderr.replace("\n", "")
    with closing(sqlite3.connect(tmp_path / "exchange.sqlite")) as db:
        assert db.execute("SELECT count(*) FROM orders").fetchone()[0] == orders_before


def test_rate_limited_backs_off(tmp_path: Path, engine: str) -> None:
    # Arrange
    chaos = tmp_path / "chaos.yaml"
    chaos.write_text("chaos:\n  every: 3\n  kinds: [rate_limited]\n")

    # Act
    calm = last_json(_run(tmp_path / "calm", "--engine", engine, "--steps", "1500", "--json"))
    limited = last_json(
        _run(
            tmp_path / "limited",
            *("--engine", engine, "--steps", "1500", "--json", "--config", str(chaos)),
        )
    )

    # Assert: it waited and retried, and traded exactly as without the limits.
    assert limited["retries"] > 0 and calm["retries"] == 0 and calm["fills"] > 0
    for key in (
        "fills",
        "buy_fills",
        "sell_fills",
        "realized_pnl",
        "base_balance",
        "quote_balance",
        "open_orders",
    ):
        assert limited[key] == calm[key], key


def test_ban_stops_trading_and_status_says_why(tmp_path: Path) -> None:
    # Arrange
    chaos = tmp_path / "ban.yaml"
    chaos.write_text("chaos:\n  every: 60\n  kinds: [banned]\n")

    # Act
    result = _run(tmp_path / "d", "--steps", "5000", "--config", str(chaos))
    status = subprocess.run(
        [
            sys.executable,
            "-m",
            "gridmaker.cli",
            "status",
            "--data-dir",
            str(tmp_path / "d"),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    # Assert
    assert result.returncode == 5
    assert "banned" in result.stderr
    assert "banned by the exchange" in last_json(status)["last_halt"]


def _crash_feed(path: Path) -> Path:
    """Calm zig-zag around 50,000, a 6 % drop within 20 seconds, then calm inside the grid."""
    zigzag = [0, -150, -300, -150, 0, 150, 300, 150]
    prices = [50_000 + zigzag[i % 8] for i in range(300)]
    prices += [50_000 - 3_000 * (i + 1) // 20 for i in range(20)]
    prices += [47_900 + zigzag[i % 8] // 3 for i in range(600)]
    rows = ["timestamp,price,amount"]
    rows += [f"{1_700_000_000_000 + i * 1000},{p},0.05" for i, p in enumerate(prices)]
    path.write_text("\n".join(rows) + "\n")
    return path


def _buy_orders(data_dir: Path) -> int:
    with closing(sqlite3.connect(data_dir / "exchange.sqlite")) as db:
        return int(db.execute("SELECT count(*) FROM orders WHERE side = 'buy'").fetchone()[0])


def _breaker(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "gridmaker.cli", "breaker", *args, "--data-dir", str(data_dir)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def test_risk_circuit_breaker(tmp_path: Path, engine: str) -> None:
    # Arrange
    feed = str(_crash_feed(tmp_path / "crash.csv"))
    data = tmp_path / "d"
    run = ("--engine", engine, "--feed", feed)

    # Act 1: the drop trips the fast-move breaker.
    tripped = last_json(_run(data, *run, "--steps", "400", "--json"))

    # Assert 1: buys cancelled, take-profit sells still working.
    assert tripped["breaker"] == "reducing" and "within 300000 ms" in tripped["breaker_reason"]
    assert tripped["open_buys"] == 0 and tripped["open_sells"] > 0
    assert not [o for o in _open_orders(data) if o[1] == "buy"]
    buys_before_restart = _buy_orders(data)

    # Act 2: restart; the market keeps trading below.
    restarted = last_json(_run(data, *run, "--steps", "100", "--json"))

    # Assert 2: still tripped; the boot sync and the session placed no buy.
    assert restarted["breaker"] == "reducing"
    assert _buy_orders(data) == buys_before_restart
    status = _breaker(data, "status")
    assert (
        status.returncode == 0
        and "REDUCING since" in status.stdout
        and "fast_move" in status.stdout
    )

    # Act 3: the operator resets; the bot trades again.
    reset = _breaker(data, "reset", "--reason", "market calm again")
    resumed = last_json(_run(data, *run, "--steps", "100", "--json"))

    # Assert 3
    assert reset.returncode == 0 and "ACTIVE" in reset.stdout
    assert resumed["breaker"] == "active" and resumed["open_buys"] > 0
    assert _buy_orders(data) > buys_before_restart


def test_breaker_trip_reaches_a_running_bot(tmp_path: Path) -> None:
    # Arrange: a bot trading with its grid placed.
    bot = subprocess.Popen(
        _command(tmp_path, "--steps", "100000000"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        eventually(lambda: len(_open_orders(tmp_path)) >= 40, what="the grid to be placed")

        # Act
        trip = _breaker(tmp_path, "trip", "--reason", "operator says stop", "--wait", "60")

        # Assert: the running bot applied it and cancelled its buys.
        assert trip.returncode == 0 and "applied by the running bot" in trip.stdout
        eventually(
            lambda: not [o for o in _open_orders(tmp_path) if o[1] == "buy"], what="buys cancelled"
        )
        assert "operator says stop" in trip.stdout
    finally:
        bot.send_signal(signal.SIGKILL)
        bot.wait()


def test_second_bot_on_the_same_data_dir_is_refused(tmp_path: Path) -> None:
    bot = subprocess.Popen(
        _command(tmp_path, "--steps", "100000000"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        eventually(lambda: _open_orders(tmp_path), what="the first bot to trade")
        second = _run(tmp_path, "--steps", "10")
        assert second.returncode == 4 and "another gridmaker process is running" in second.stderr
    finally:
        bot.send_signal(signal.SIGKILL)
        bot.wait()
