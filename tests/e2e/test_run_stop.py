"""One SIGINT or SIGTERM ends any ``gridmaker run`` cleanly: summary, exit 0, a clean restart.

The bot is a subprocess as a user runs it; signals are sent once progress shows, and every wait
is on a condition with a deadline.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_http_venue import sim_exchange
from tests.kit.http_venue import control
from tests.kit.waiting import eventually

pytestmark = pytest.mark.e2e
FOREVER = "10000000"
"""More trades than any test waits for: only the signal ends the run."""
STOP_TIMEOUT_S = 60
"""How long a stopped run may take to save and print its summary."""


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "gridmaker.cli", *args]


def _run_until_signal(tmp: Path, sig: signal.Signals, *args: str) -> tuple[int, str, str]:
    """Start ``gridmaker run ARGS``, send ``sig`` once progress shows; its code, out, err."""
    out, err = tmp / "run.out", tmp / "run.err"
    with out.open("w") as stdout, err.open("w") as stderr:
        bot = subprocess.Popen(_cli("run", *args), cwd=tmp, stdout=stdout, stderr=stderr)
    try:
        eventually(
            lambda: bot.poll() is not None or " trades 500/" in err.read_text(),
            timeout_s=180,
            what="the first progress line",
        )
        assert bot.poll() is None, err.read_text()[-3000:]
        bot.send_signal(sig)
        try:
            code = bot.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"still running {STOP_TIMEOUT_S} s after one {sig.name}:\n"
                + err.read_text()[-2000:]
            ) from None
    finally:
        if bot.poll() is None:
            bot.kill()
            bot.wait()
    return code, out.read_text(), err.read_text()


def _summary(stdout: str) -> dict[str, Any]:
    return json.loads(stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _boot_only(*args: str, cwd: Path) -> dict[str, Any]:
    result = subprocess.run(
        _cli("run", "--steps", "0", "--json", *args),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return _summary(result.stdout)


def _assert_nothing_to_repair(boot_sync: dict[str, int], open_orders: int) -> None:
    """A clean stop leaves nothing for the next boot to explain: every order matched."""
    surprises = {k: v for k, v in boot_sync.items() if k not in ("matched", "foreign") and v}
    assert surprises == {}, boot_sync
    assert boot_sync["matched"] == open_orders


@pytest.mark.parametrize(
    ("engine", "sig"),
    [("simple", signal.SIGINT), ("durable", signal.SIGINT), ("simple", signal.SIGTERM)],
)
def test_run_builtin_exchange_one_signal_stops_with_summary_and_restarts_clean(
    tmp_path: Path, engine: str, sig: signal.Signals
) -> None:
    # Arrange
    data = tmp_path / "data"

    # Act
    code, out, err = _run_until_signal(
        tmp_path, sig, "--engine", engine, "--steps", FOREVER, "--data-dir", str(data), "--json"
    )
    restart = _boot_only("--engine", engine, "--data-dir", str(data), cwd=tmp_path)

    # Assert: exit 0, the summary, where it stopped said; the next boot finds all in order.
    assert code == 0, err[-3000:]
    summary = _summary(out)
    assert 500 <= summary["feed_position"] < int(FOREVER)
    assert f"{sig.name}: stopping at the next safe point" in err
    assert (
        f"stopped (a signal or an operator's stop) after {summary['feed_position']} trades" in err
    )
    _assert_nothing_to_repair(restart["boot_sync"], summary["open_orders"])
    assert restart["feed_position"] == summary["feed_position"]
    assert restart["fills"] == summary["fills"]
    assert restart["realized_pnl"] == summary["realized_pnl"]


def test_run_printing_a_sim_exchange_one_sigint_stops_with_summary_and_restarts_clean(
    tmp_path: Path,
) -> None:
    # Arrange: a simulator whose market waits to be printed (no --walk-ms): the bot prints it.
    state = tmp_path / "sim" / "x.sqlite"
    with sim_exchange(tmp_path / "sim", "--state", str(state)) as url:
        venue = ("--exchange", "binance", "--base-url", url, "--data-dir", str(tmp_path / "bot"))

        # Act
        code, out, err = _run_until_signal(
            tmp_path, signal.SIGINT, *venue, "--steps", FOREVER, "--json"
        )
        restart = _boot_only(*venue, cwd=tmp_path)

    # Assert
    assert code == 0, err[-3000:]
    summary = _summary(out)
    assert 500 <= summary["feed_position"] < int(FOREVER)
    _assert_nothing_to_repair(restart["boot_sync"], summary["open_orders"])
    assert restart["fills"] == summary["fills"]
    assert restart["feed_position"] == summary["feed_position"]


def test_run_second_signal_quits_at_once_with_130_and_the_next_start_boots(
    tmp_path: Path,
) -> None:
    # Arrange: every venue call fails as unavailable, so the boot sits in the retry policy's
    # backoff (about 10 s in all): the first signal must wait for the boot to end.
    config = tmp_path / "chaos.yaml"
    config.write_text("chaos:\n  rate: 1.0\n  kinds: [unavailable]\n")
    data = str(tmp_path / "data")
    out, err = tmp_path / "run.out", tmp_path / "run.err"
    with out.open("w") as stdout, err.open("w") as stderr:
        bot = subprocess.Popen(
            _cli("run", "--config", str(config), "--data-dir", data, "--steps", FOREVER),
            cwd=tmp_path,
            stdout=stdout,
            stderr=stderr,
        )
    try:
        eventually(lambda: "chaos:" in err.read_text(), timeout_s=60, what="the boot to begin")

        # Act
        bot.send_signal(signal.SIGINT)
        eventually(
            lambda: "stopping at the next safe point" in err.read_text() or bot.poll() is not None,
            timeout_s=30,
            what="the first signal to be taken",
        )
        assert bot.poll() is None, err.read_text()[-3000:]  # still booting
        bot.send_signal(signal.SIGINT)
        code = bot.wait(timeout=STOP_TIMEOUT_S)
    finally:
        if bot.poll() is None:
            bot.kill()
            bot.wait()
    restart = subprocess.run(
        _cli("run", "--data-dir", data, "--steps", "300", "--json"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )

    # Assert: 130, said plainly, no summary, no traceback; the next start is a normal one.
    assert code == 130, err.read_text()[-3000:]
    assert "interrupted: stopped at once, without the summary" in err.read_text()
    assert "Traceback" not in err.read_text()
    assert out.read_text() == ""
    assert restart.returncode == 0, restart.stderr[-3000:]
    assert _summary(restart.stdout)["feed_position"] == 300


def test_run_live_venue_one_sigint_stops_with_summary_as_sigterm_does(tmp_path: Path) -> None:
    # Arrange: a market that moves by itself: a live session over streams, until stopped.
    with sim_exchange(tmp_path / "sim", "--walk-ms", "5") as url:
        out, err = tmp_path / "bot.out", tmp_path / "bot.err"
        command = _cli(
            "run", "--exchange", "binance", "--base-url", url, "--data-dir", "bot", "--json"
        )
        with out.open("w") as stdout, err.open("w") as stderr:
            bot = subprocess.Popen(command, cwd=tmp_path, stdout=stdout, stderr=stderr)
        try:
            eventually(
                lambda: len(control(url, "/__sim/dump")["fills"]) >= 3 or bot.poll() is not None,
                timeout_s=120,
                what="a few fills",
            )
            assert bot.poll() is None, err.read_text()[-3000:]

            # Act
            bot.send_signal(signal.SIGINT)
            code = bot.wait(timeout=STOP_TIMEOUT_S)
        finally:
            if bot.poll() is None:
                bot.kill()
                bot.wait()

    # Assert: the one rule of every run kind: exit 0 and the summary.
    assert code == 0, err.read_text()[-3000:]
    assert _summary(out.read_text())["fills"] > 0
