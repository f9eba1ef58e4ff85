"""``gridmaker download`` against a ``gridmaker sim-exchange`` serving a recorded history.

The simulator's state file is made by printing a recorded market on it (every print lands on
its tape), then served as a subprocess; the download runs as a user runs it. The finished
parquet must hold every trade of the span exactly once, exactly as recorded, also after the
download was killed or the venue vanished mid-way and the same command was run again.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq  # type: ignore[import-untyped]
import pytest

from tests.kit.cli import gridmaker
from tests.kit.http_venue import control
from tests.kit.waiting import eventually

pytestmark = pytest.mark.e2e

DAY = "2024-01-01"
T0 = 1_704_067_200_000
"""2024-01-01T00:00:00Z."""
FIRST_MS = T0 + 9_000_000
"""The first trade, 2.5 hours in: the download passes two empty hours before it."""
TRADES = 3000
EVERY_MS = 3000


@dataclass(frozen=True, slots=True)
class Recorded:
    ts_ms: int
    price: Decimal
    amount: Decimal


def _recorded() -> list[Recorded]:
    rng = random.Random(7)
    ticks = 4_200_000
    trades = []
    for i in range(TRADES):
        ticks += rng.choice((-2, -1, 0, 1, 2))
        amount = Decimal(rng.randint(1, 500)) / 100_000
        trades.append(Recorded(FIRST_MS + i * EVERY_MS, Decimal(ticks) / 100, amount))
    return trades


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Recorded]]:
    """A simulator state file that has printed the recorded market."""
    from gridmaker.config import load_config, sim_instrument
    from gridmaker.exchange.sim import SimExchange

    path = tmp_path_factory.mktemp("history") / "exchange.sqlite"
    config = load_config(None, {})
    sim = SimExchange(
        instruments=[sim_instrument(config, "BTC/USDT")],
        initial_balances=config.sim.balances,
        path=path,
    )
    trades = _recorded()
    for t in trades:
        sim.apply_trade("BTC/USDT", t.price, t.amount, t.ts_ms)
    sim.close_sync()
    return path, trades


@contextmanager
def _sim(state: Path, log: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``gridmaker sim-exchange --state`` on a free port; yields its URL and process."""
    with log.open("w") as sink:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gridmaker.cli",
                "sim-exchange",
                "--port",
                "0",
                "--state",
                str(state),
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        line = eventually(
            lambda: next((x for x in log.read_text().splitlines() if "listening on" in x), None),
            what="the simulator to listen",
        )
        yield line.rsplit(" ", 1)[1], server
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)


@pytest.fixture
def served(
    history: tuple[Path, list[Recorded]], tmp_path: Path
) -> Iterator[tuple[str, list[Recorded]]]:
    with _sim(history[0], tmp_path / "sim.out") as (url, _):
        yield url, history[1]


def _download(url: str, out: Path, *args: str, env: dict[str, str | None] | None = None) -> Any:
    return gridmaker(
        "download", "--exchange", "binance", "--symbol", "BTC/USDT", "--since", DAY,
        "--until", "2024-01-02", "--base-url", url, "--out", str(out), *args,
        env=env,
    )  # fmt: skip


def _rows(out: Path) -> list[dict[str, Any]]:
    return pq.read_table(out).to_pylist()  # type: ignore[no-any-return]


def _expected(trades: list[Recorded]) -> list[dict[str, Any]]:
    return [
        {"ts_ms": t.ts_ms, "price": format(t.price, "f"), "amount": format(t.amount, "f"),
         "id": str(i)}
        for i, t in enumerate(trades, start=1)
    ]  # fmt: skip


def test_download_of_a_recorded_history_writes_every_trade_once_in_the_loader_layout(
    served: tuple[str, list[Recorded]], tmp_path: Path
) -> None:
    url, trades = served
    out = tmp_path / "t.parquet"

    result = _download(url, out)

    assert result.returncode == 0, result.stderr[-2000:]
    schema = pq.read_schema(out)
    assert [(f.name, str(f.type)) for f in schema] == [
        ("ts_ms", "int64"), ("price", "string"), ("amount", "string"), ("id", "string"),
    ]  # fmt: skip
    assert _rows(out) == _expected(trades)
    assert f"{TRADES} trades of BTC/USDT" in result.stdout
    assert not (tmp_path / "t.parquet.partial.json").exists()
    assert not (tmp_path / "t.parquet.parts").exists()


def test_download_until_inside_the_history_stops_before_it(
    served: tuple[str, list[Recorded]], tmp_path: Path
) -> None:
    url, trades = served
    out = tmp_path / "t.parquet"
    until_ms = FIRST_MS + 1000 * EVERY_MS  # exclusive: trade 1001 is at it
    result = gridmaker(
        "download", "--exchange", "binance", "--symbol", "BTC/USDT",
        "--since", "2024-01-01T02:30:00+00:00", "--until", "2024-01-01T03:20:00Z",
        "--base-url", url, "--out", str(out),
    )  # fmt: skip

    assert result.returncode == 0, result.stderr[-2000:]
    assert until_ms == T0 + (3 * 60 + 20) * 60_000
    assert _rows(out) == _expected(trades)[:1000]


def test_download_killed_between_a_part_and_its_record_resumes_with_every_trade_once(
    served: tuple[str, list[Recorded]], tmp_path: Path
) -> None:
    url, trades = served
    out = tmp_path / "t.parquet"
    small = ("--page", "400", "--part-rows", "400")

    # Act: killed (SIGKILL) right after its second part is on disk, before it is recorded.
    killed = _download(url, out, *small, env={"GRIDMAKER_FAILPOINT": "download:part-written:n=2"})
    sidecar = json.loads((tmp_path / "t.parquet.partial.json").read_text())
    parts_on_disk = sorted(p.name for p in (tmp_path / "t.parquet.parts").iterdir())
    resumed = _download(url, out, *small)

    # Assert: the sidecar counted only the first part; the resume ends with every trade once.
    assert killed.returncode == -signal.SIGKILL
    assert (sidecar["parts"], sidecar["rows"]) == (1, 400)
    assert parts_on_disk == ["part-000001.parquet", "part-000002.parquet"]
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert _rows(out) == _expected(trades)


def _slow_download(url: str, out: Path, log: Path) -> subprocess.Popen[bytes]:
    """A download in pages of 200 from a venue answering each 0.2 s late."""
    control(url, "/__sim/chaos", {"rate": 1, "kinds": ["delay"], "delay_s": 0.2})
    with log.open("w") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "gridmaker.cli", "download", "--exchange", "binance",
             "--symbol", "BTC/USDT", "--since", DAY, "--until", "2024-01-02",
             "--base-url", url, "--out", str(out), "--page", "200", "--part-rows", "200"],
            stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip


def _a_part_kept(sidecar: Path) -> bool:
    return sidecar.exists() and json.loads(sidecar.read_text())["parts"] >= 1


def test_download_when_the_venue_fails_mid_way_exits_5_keeps_its_parts_and_resumes_later(
    served: tuple[str, list[Recorded]], tmp_path: Path
) -> None:
    url, trades = served
    out, sidecar, log = tmp_path / "t.parquet", tmp_path / "t.parquet.partial.json", tmp_path / "dl"
    downloading = _slow_download(url, out, log)

    # Act: once a part is kept, every request fails (HTTP 5xx) until the download gives up;
    # then the venue is back and the same command runs again.
    eventually(lambda: _a_part_kept(sidecar), what="a part kept")
    control(url, "/__sim/chaos", {"rate": 1, "kinds": ["5xx"]})
    code = downloading.wait(timeout=120)
    kept = json.loads(sidecar.read_text())
    control(url, "/__sim/chaos", {})
    resumed = _download(url, out, "--page", "200", "--part-rows", "200")

    # Assert
    said = log.read_text()
    assert code == 5, said[-2000:]
    assert "stopped answering" in said and "run the same command again to resume" in said
    assert 1 <= kept["parts"] < TRADES // 200
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert _rows(out) == _expected(trades)


def test_download_stopped_with_ctrl_c_exits_130_and_the_same_command_resumes_it(
    served: tuple[str, list[Recorded]], tmp_path: Path
) -> None:
    url, trades = served
    out, sidecar, log = tmp_path / "t.parquet", tmp_path / "t.parquet.partial.json", tmp_path / "dl"
    downloading = _slow_download(url, out, log)

    # Act: Ctrl-C once a part is kept; then the same command again, the venue at full speed.
    eventually(lambda: _a_part_kept(sidecar), what="a part kept")
    downloading.send_signal(signal.SIGINT)
    code = downloading.wait(timeout=60)
    kept = json.loads(sidecar.read_text())
    control(url, "/__sim/chaos", {})
    resumed = _download(url, out, "--page", "200", "--part-rows", "200")

    # Assert
    said = log.read_text()
    assert code == 130, said[-2000:]
    assert "run the same command again to resume" in said and "Traceback" not in said
    assert 1 <= kept["parts"] < TRADES // 200
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert _rows(out) == _expected(trades)


def test_download_under_wire_chaos_retries_and_loses_nothing(
    served: tuple[str, list[Recorded]], tmp_path: Path
) -> None:
    url, trades = served
    out = tmp_path / "t.parquet"
    control(
        url,
        "/__sim/chaos",
        {"seed": 3, "rate": 0.3, "kinds": ["5xx", "504", "lost", "junk", "429"]},
    )

    result = _download(url, out, "--page", "500")

    faults = control(url, "/__sim/chaos")["faults"]
    assert result.returncode == 0, result.stderr[-2000:]
    assert sum(faults.values()) >= 3, faults
    assert _rows(out) == _expected(trades)


def test_download_of_candles_gives_each_minute_from_the_recorded_trades(
    served: tuple[str, list[Recorded]], tmp_path: Path
) -> None:
    url, trades = served
    out = tmp_path / "c.parquet"

    result = _download(url, out, "--candles", "1m", "--page", "60")

    minutes: dict[int, list[Recorded]] = {}
    for t in trades:
        minutes.setdefault(t.ts_ms // 60_000 * 60_000, []).append(t)
    expected = [
        {
            "ts_ms": at,
            "open": format(ts[0].price, "f"),
            "high": format(max(t.price for t in ts), "f"),
            "low": format(min(t.price for t in ts), "f"),
            "close": format(ts[-1].price, "f"),
            "volume": format(sum(t.amount for t in ts), "f"),
        }
        for at, ts in sorted(minutes.items())
    ]
    assert result.returncode == 0, result.stderr[-2000:]
    assert _rows(out) == expected


def test_download_of_a_symbol_or_timeframe_the_venue_lacks_exits_2_writing_nothing(
    served: tuple[str, list[Recorded]], tmp_path: Path
) -> None:
    url, _ = served
    out = tmp_path / "t.parquet"

    symbol = gridmaker(
        "download", "--exchange", "binance", "--symbol", "DOGE/USDT", "--since", DAY,
        "--base-url", url, "--out", str(out),
    )  # fmt: skip
    timeframe = _download(url, out, "--candles", "7m")

    assert symbol.returncode == 2 and "--symbol must be a market listed" in symbol.stderr
    assert timeframe.returncode == 2 and "--candles must be one of" in timeframe.stderr
    assert "Traceback" not in symbol.stderr + timeframe.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sim.out"]
