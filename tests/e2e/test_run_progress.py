"""What ``gridmaker run`` tells a person while and after it runs: progress they can trust.

Progress counts the market's feed position against where this run stops (a feed file's length
caps it), a feed's end is said, a run with nothing left to print says so, ``--steps 0`` is a
boot-only run that needs a book, and ``status`` says when there is no book yet.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from gridmaker.store import Store
from tests.kit.cli import gridmaker, last_json

pytestmark = pytest.mark.e2e
FEED_TRADES = 1234
WIDE = {"COLUMNS": "300"}  # help in boxes: one line per option


def _feed_file(tmp: Path) -> Path:
    """A recorded feed of ``FEED_TRADES`` trades at round prices (50000, 49900, ...): numbers
    that a careless rendering shows as ``5E+4``."""
    rng = random.Random(5)
    price, rows = 50_000, ["timestamp,price,amount"]
    for n in range(FEED_TRADES):
        price = min(max(price + rng.choice((-100, 100)), 48_000), 52_000)
        rows.append(f"{1_700_000_000_000 + n * 1000},{price},0.5")
    path = tmp / "trades.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def test_progress_on_a_feed_file_counts_to_its_length_and_says_it_ended(tmp_path: Path) -> None:
    # Arrange
    feed = _feed_file(tmp_path)

    # Act: the default steps (20000) ask for more than the file holds.
    result = gridmaker("run", "--feed", str(feed), "--json", cwd=tmp_path, env=WIDE)

    # Assert: the real total, the end said, plain numbers.
    summary = last_json(result)
    assert summary["feed_position"] == FEED_TRADES
    assert f"BTC/USDT trades 500/{FEED_TRADES} " in result.stderr
    assert f"BTC/USDT trades {FEED_TRADES}/{FEED_TRADES} " in result.stderr
    assert f"feed ended after {FEED_TRADES} trades ({feed})" in result.stderr
    assert "/20000" not in result.stderr
    assert "E+" not in result.stderr and "E-" not in result.stderr


def test_progress_after_a_restart_counts_from_the_market_position(tmp_path: Path) -> None:
    # Arrange
    last_json(gridmaker("run", "--steps", "600", "--json", cwd=tmp_path, env=WIDE))

    # Act
    second = gridmaker("run", "--steps", "600", "--json", cwd=tmp_path, env=WIDE)

    # Assert: positions continue from the first run; this run's share is said.
    assert last_json(second)["feed_position"] == 1200
    assert "BTC/USDT trades 1100/1200 (500 this run) " in second.stderr
    assert "BTC/USDT trades 1200/1200 (600 this run) " in second.stderr
    assert "/600" not in second.stderr


def test_run_past_the_end_of_a_feed_says_nothing_is_left(tmp_path: Path) -> None:
    # Arrange
    feed = _feed_file(tmp_path)
    first = last_json(gridmaker("run", "--feed", str(feed), "--json", cwd=tmp_path, env=WIDE))

    # Act
    again = gridmaker("run", "--feed", str(feed), "--json", cwd=tmp_path, env=WIDE)

    # Assert: exit 0 with the book's summary, and the reason nothing traded.
    assert last_json(again)["feed_position"] == first["feed_position"] == FEED_TRADES
    assert (
        f"the feed {feed} ended at trade {FEED_TRADES}; nothing left to print: "
        "use a new --data-dir or a longer feed"
    ) in again.stderr


def test_run_steps_zero_on_a_fresh_data_dir_refuses_and_creates_nothing(tmp_path: Path) -> None:
    # Act
    result = gridmaker(
        "run", "--steps", "0", "--data-dir", "fresh", "--json", cwd=tmp_path, env=WIDE
    )

    # Assert
    assert result.returncode == 2, result.stderr
    assert "--steps 0 boots and reconciles a stored book only" in result.stderr
    assert result.stdout == ""
    assert not (tmp_path / "fresh").exists()


def test_run_steps_zero_on_a_data_dir_boots_and_reports_without_trading(tmp_path: Path) -> None:
    # Arrange
    first = last_json(gridmaker("run", "--steps", "700", "--json", cwd=tmp_path, env=WIDE))

    # Act
    boot = gridmaker("run", "--steps", "0", "--json", cwd=tmp_path, env=WIDE)

    # Assert: the book as it was; boot sync done; no trade printed, no progress shown.
    summary = last_json(boot)
    assert summary["feed_position"] == 700
    assert summary["fills"] == first["fills"]
    assert summary["boot_sync"]["matched"] == first["open_orders"]
    assert " trades " not in boot.stderr


def test_status_on_a_store_without_a_book_says_so_and_exits_3(tmp_path: Path) -> None:
    # Arrange: a store that exists but holds no symbol yet.
    data = tmp_path / "data"
    data.mkdir()
    Store(data / "gridmaker.sqlite").close()

    # Act
    result = gridmaker("status", "--data-dir", str(data), cwd=tmp_path, env=WIDE)
    as_json = gridmaker("status", "--data-dir", str(data), "--json", cwd=tmp_path, env=WIDE)

    # Assert: the same code as for no store at all.
    for answer in (result, as_json):
        assert answer.returncode == 3, answer.stderr
        assert f"no book yet in {data}: the bot has not traded a price" in answer.stderr
        assert answer.stdout == ""


def test_run_help_says_it_trades_real_venues_and_what_steps_zero_does(tmp_path: Path) -> None:
    # Act
    result = gridmaker("run", "--help", cwd=tmp_path, env=WIDE)

    # Assert
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert "on the simulated exchange (no keys needed)." not in text
    assert "or a real venue" in text
    assert "0: boot and reconcile only" in text
