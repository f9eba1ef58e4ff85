"""Lifecycle controls end to end on the HTTP simulator, through the real CLI: a trigger price,
``gridmaker capital`` on a running grid, ``gridmaker stop --sell``."""

from __future__ import annotations

from contextlib import closing
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import Any

import pytest

from gridmaker.config import Config, sim_instrument
from gridmaker.core.events import Side
from gridmaker.core.ids import encode_cid
from gridmaker.core.planning import LIQUIDATION_LEVEL
from gridmaker.core.state import order_qty
from gridmaker.store import Store
from tests.kit.cli import gridmaker, last_json
from tests.kit.http_venue import control
from tests.kit.processes import background, sim_bot_command, sim_exchange
from tests.kit.waiting import eventually

pytestmark = pytest.mark.e2e

WALK = 'feed:\n  volatility: "0.001"\n'
"""The simulator's market: a print moves 0.1 % (a 0.25 % grid fills often)."""
MARKET = (
    'markets:\n  - symbol: BTC/USDT\n    order_size: "0.001"\n'
    '    budget_base: "0.03"\n    budget_quote: "3000"\n'
    "    grid: {buy_levels: 10, sell_levels: 10}\n"
    "    risk: {fast_move: null, drawdown: null}\n"
)


def _orders(url: str) -> list[dict[str, Any]]:
    return list(control(url, "/__sim/dump")["orders"])


def _open(url: str) -> list[dict[str, Any]]:
    return [o for o in _orders(url) if o["status"] == "open"]


def _book(data_dir: Path) -> Any:
    with closing(Store(data_dir / "gridmaker.sqlite", read_only=True)) as store:
        return store.load_book("BTC/USDT")


# --- trigger price ---------------------------------------------------------------------------


def _trigger(wait: int) -> tuple[Decimal, int]:
    """A tick above every print of the default feed's first ``wait``; the first print at it."""
    config = Config()
    walk = config.feed.random_walk(sim_instrument(config, "BTC/USDT"))
    prices = [t.price for t in islice(walk.trades(0), 5_000)]
    trigger = max(prices[:wait]) + Decimal("0.01")
    return trigger, next(i for i, p in enumerate(prices) if p >= trigger)


def test_trigger_price_grid_places_nothing_before_the_trigger_and_trades_after(
    tmp_path: Path,
) -> None:
    # Arrange: a simulator the bot prints the config's feed on; a trigger it first reaches
    # at print ``crossed``.
    trigger, crossed = _trigger(200)
    config = tmp_path / "c.yaml"
    config.write_text(f'markets:\n  - symbol: BTC/USDT\n    trigger_price: "{trigger}"\n')
    data = tmp_path / "bot"
    with sim_exchange(tmp_path / "sim") as url:
        bot = ("run", "--exchange", "binance", "--base-url", url, "--data-dir", str(data))

        # Act: a run that ends one print short of the trigger, then one that goes past it.
        before = last_json(
            gridmaker(*bot, "--config", str(config), "--steps", str(crossed), "--json")
        )
        orders_before = _orders(url)
        waiting = _book(data)
        after = last_json(gridmaker(*bot, "--config", str(config), "--steps", "300", "--json"))
        orders_after = _open(url)
        position = control(url, "/__sim/dump")["positions"]["BTC/USDT"]

    # Assert: nothing at the venue before; then the grid, built around the trigger.
    assert before["open_orders"] == 0
    assert orders_before == []
    assert not waiting.is_started and waiting.trigger_ticks == int(trigger * 100)
    assert position == crossed + 300
    assert after["open_orders"] == len(orders_after) >= 15
    spacing = int(trigger * 100) * 500 // 1_000_000  # 0.25 % of the trigger, floored to ticks
    for order in orders_after:
        assert (int(Decimal(order["price"]) * 100) - int(trigger * 100)) % spacing == 0


# --- capital -----------------------------------------------------------------------------------


def test_capital_add_on_a_running_grid_grows_next_buys_and_cancels_nothing(
    tmp_path: Path,
) -> None:
    # Arrange: a market that moves by itself, a bot trading it until stopped.
    (tmp_path / "sim.yaml").write_text(WALK)
    (tmp_path / "c.yaml").write_text(MARKET)
    data = tmp_path / "bot"
    with sim_exchange(
        tmp_path / "sim", "--walk-ms", "20", "--config", str(tmp_path / "sim.yaml")
    ) as url:
        command = sim_bot_command(url, data, "--config", str(tmp_path / "c.yaml"))
        with background(command, tmp_path / "bot.log") as bot:
            eventually(lambda: len(_open(url)) >= 15, timeout_s=120, what="the grid")
            open_before = {o["client_order_id"] for o in _open(url)}

            # Act
            added = gridmaker(
                "capital",
                "--add",
                "4500",
                "--config",
                str(tmp_path / "c.yaml"),
                "--data-dir",
                str(data),
                "--wait",
                "60",
                "--json",
            )
            seen = {o["client_order_id"] for o in _orders(url)}
            book = _book(data)
            grown = Decimal(order_qty(book)) / 100_000
            fresh = eventually(
                lambda: [
                    o
                    for o in _orders(url)
                    if o["client_order_id"] not in seen and o["side"] == "buy"
                ],
                timeout_s=120,
                what="a buy placed after the change",
            )
            assert bot.poll() is None, (tmp_path / "bot.log").read_text()[-3000:]
            orders = {o["client_order_id"]: o for o in _orders(url)}

    # Assert: applied; the capital is the book's equity plus 4500; no order was cancelled,
    # those open before are still open under the same ids (or filled); new buys are larger.
    assert last_json(added)["result"] == "applied", added.stdout
    assert book.capital_atoms == book.sizing_atoms + 4500 * 10**13
    ratio = Decimal(book.capital_atoms) / book.sizing_atoms  # about (4500 + 4500) / 4500
    assert Decimal("1.8") < ratio < Decimal("2.2")
    assert order_qty(book) == 100 * book.capital_atoms // book.sizing_atoms
    assert [o for o in orders.values() if o["status"] == "canceled"] == []
    assert all(orders[c]["status"] in ("open", "filled") for c in open_before)
    assert {Decimal(o["amount"]) for o in fresh} == {grown}


# --- stop --sell -------------------------------------------------------------------------------


def test_stop_sell_cancels_sells_the_inventory_within_the_limit_and_exits_zero(
    tmp_path: Path,
) -> None:
    # Arrange: a neutral grid holding base for its sells, on a market that moves by itself.
    (tmp_path / "sim.yaml").write_text(WALK)
    (tmp_path / "c.yaml").write_text(MARKET)
    data = tmp_path / "bot"
    sim = ("--walk-ms", "20", "--config", str(tmp_path / "sim.yaml"))
    with sim_exchange(tmp_path / "sim", *sim) as url:
        command = sim_bot_command(url, data, "--config", str(tmp_path / "c.yaml"), "--json")
        log = tmp_path / "bot.log"
        with background(command, log) as bot:
            eventually(lambda: len(_open(url)) >= 15, timeout_s=120, what="the grid")
            held = _book(data)

            # Act
            stopped = gridmaker("stop", "--sell", "--limit", "1%", "--data-dir", str(data))
            code = bot.wait(timeout=60)
        dump = control(url, "/__sim/dump")
        book = _book(data)
        restart = last_json(
            gridmaker(
                "run",
                "--exchange",
                "binance",
                "--base-url",
                url,
                "--data-dir",
                str(data),
                "--config",
                str(tmp_path / "c.yaml"),
                "--steps",
                "0",
                "--json",
            )
        )

    # Assert: the bot ended by itself (0); nothing of ours is open; one sale, whole and filled,
    # no lower than 1 % under the price it filled at; the next start trades again.
    assert stopped.returncode == 0, stopped.stderr
    assert "stopped" in stopped.stdout
    assert code == 0, log.read_text()[-3000:]
    assert [o for o in dump["orders"] if o["status"] == "open"] == []
    sale = next(o for o in dump["orders"] if o["client_order_id"] == held_sale(book))
    assert sale["status"] == "filled" and sale["side"] == "sell"
    fill = next(f for f in dump["fills"] if f["client_order_id"] == sale["client_order_id"])
    assert Decimal(sale["price"]) <= Decimal(fill["price"])
    assert Decimal(sale["price"]) >= Decimal(fill["price"]) * Decimal("0.985")
    assert Decimal(sale["amount"]) > 0
    assert book.control.value == "closing" and book.liquidation_cid == ""
    assert held.is_started
    # What the levels held when the sale went out was sold; a buy the venue filled before its
    # cancel landed may still arrive after the sale (a late fill: on a fast market, more than
    # one), so the restart's inventory is at most the buys that were working, each of one
    # order's size, and less than the inventory the grid held.
    working_buys = sum(s.has_live_order and s.order_side is Side.BUY for s in held.slots.values())
    late = held.params.order_qty_steps * working_buys
    inventory = sum(s.position_steps for s in held.slots.values()) + held.dust_steps
    left = sum(s.position_steps for s in book.slots.values()) + book.dust_steps
    assert left <= late and left < inventory, (left, late, inventory)
    assert restart["control"] == "trading"
    assert Decimal(restart["inventory"]) <= held.instrument.from_steps(late)


def held_sale(book: Any) -> str:
    """The client id of the book's last inventory sale (its cycle is ``liquidations - 1``)."""

    return encode_cid(book.params.strategy_id, LIQUIDATION_LEVEL, Side.SELL, book.liquidations - 1)


@pytest.mark.parametrize(("way", "left_open"), [("--cancel", False), ("--leave", True)])
def test_stop_cancel_or_leave_ends_the_run_with_our_orders_gone_or_kept(
    tmp_path: Path, way: str, left_open: bool
) -> None:
    # Arrange
    (tmp_path / "sim.yaml").write_text(WALK)
    (tmp_path / "c.yaml").write_text(MARKET)
    data = tmp_path / "bot"
    sim = ("--walk-ms", "20", "--config", str(tmp_path / "sim.yaml"))
    with sim_exchange(tmp_path / "sim", *sim) as url:
        command = sim_bot_command(url, data, "--config", str(tmp_path / "c.yaml"))
        log = tmp_path / "bot.log"
        with background(command, log) as bot:
            eventually(lambda: len(_open(url)) >= 15, timeout_s=120, what="the grid")

            # Act
            stopped = last_json(gridmaker("stop", way, "--data-dir", str(data), "--json"))
            code = bot.wait(timeout=60)
        still_open = _open(url)
        book = _book(data)

    # Assert: the bot ended by itself; its orders cancelled, or left open as its book has them
    assert stopped["stopped"] is True
    assert code == 0, log.read_text()[-3000:]
    live = {s.order_cid for s in book.slots.values() if s.has_live_order}
    if left_open:  # the market moves on: some may have filled since
        assert len(still_open) >= 10
        assert {o["client_order_id"] for o in still_open} <= live
    else:
        assert still_open == [] and live == set()
