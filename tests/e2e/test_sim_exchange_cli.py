"""``gridmaker sim-exchange`` as a user starts it: where it listens, and who may drive it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from gridmaker.cli.venue import SIM_API_KEY, SIM_API_SECRET
from gridmaker.exchange.ccxt import build_ccxt_client
from gridmaker.exchange.sim.client import HttpSimVenue
from tests.kit.waiting import eventually

pytestmark = pytest.mark.e2e


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "gridmaker.cli", "sim-exchange", *args]


@contextmanager
def _serving(tmp: Path, *args: str, env: Mapping[str, str]) -> Iterator[str]:
    """The simulator as a subprocess; yields the base URL it prints; SIGTERM at the end."""
    out = tmp / "sim.out"
    with out.open("w") as sink:
        server = subprocess.Popen(
            _cli("--port", "0", *args),
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={**os.environ, **env},
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


def _get(url: str, headers: Mapping[str, str] | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(url, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_sim_exchange_on_a_busy_port_exits_2_naming_it_and_creates_no_state(
    tmp_path: Path,
) -> None:
    # Arrange: another program listens on the port.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        # Act
        result = subprocess.run(
            _cli("--port", str(port), "--state", str(tmp_path / "exchange.sqlite")),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    # Assert
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert f"port {port} is in use on 127.0.0.1" in output
    assert "Traceback" not in output
    assert list(tmp_path.iterdir()) == []


def test_sim_exchange_beyond_loopback_takes_control_requests_only_with_the_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = {"GRIDMAKER_SIM_TOKEN": "a-long-shared-secret"}
    with _serving(tmp_path, "--host", "0.0.0.0", env=token) as url:
        local = url.replace("0.0.0.0", "127.0.0.1")

        # Act
        api = _get(f"{local}/api/v3/ping")
        without = _get(f"{local}/__sim/market")
        wrong = _get(f"{local}/__sim/market", {"X-Sim-Token": "guess"})
        right = _get(f"{local}/__sim/market", {"X-Sim-Token": token["GRIDMAKER_SIM_TOKEN"]})
        monkeypatch.setenv("GRIDMAKER_SIM_TOKEN", token["GRIDMAKER_SIM_TOKEN"])
        limit = asyncio.run(_venue_weight_limit(local))

    # Assert
    assert url.startswith("http://0.0.0.0:")
    assert api == (200, {})
    assert without[0] == 401 and "X-Sim-Token" in without[1]["error"]
    assert wrong[0] == 401
    assert right == (200, {"moves_itself": False, "positions": {"BTC/USDT": 0}})
    assert limit == 6000  # read from /__sim/chaos by the client, which sent the token


async def _venue_weight_limit(url: str) -> int:
    client = build_ccxt_client(
        "binance", api_key=SIM_API_KEY, api_secret=SIM_API_SECRET, base_url=url, streams=False
    )
    venue = HttpSimVenue(client, base_url=url)
    try:
        return venue.budget.limit
    finally:
        await venue.close()
