"""``gridmaker download`` asked wrong: refused naming the option, nothing written.

Mistakes only a venue can judge (a symbol it does not list, a timeframe it does not have) need
a simulator running: ``tests/e2e/test_download_cli.py`` holds those.
"""

from __future__ import annotations

import json

from tests.e2e.bad_inputs.kit import BadInput

DAY = "2024-01-01"
_BASE = ["download", "--exchange", "binance", "--symbol", "BTC/USDT"]
_CLOSED = ["--base-url", "http://127.0.0.1:9"]
"""The discard port: nothing listens there, so a request never leaves the machine."""


def _sidecar(symbol: str, window_ms: object = 1704067200000, parts: int = 0) -> str:
    """What an interrupted download of ``symbol``'s trades on 2024-01-01 leaves beside --out."""
    request = {
        "exchange": "binance",
        "symbol": symbol,
        "kind": "trades",
        "since_ms": 1704067200000,
        "until_ms": 1704153600000,
    }
    cursor = {"next_id": None, "window_ms": window_ms}
    body = {"version": 1, "request": request, "parts": parts, "rows": 0, "cursor": cursor}
    return json.dumps(body)


_OTHER_DOWNLOAD = _sidecar("ETH/USDT")

CASES = [
    BadInput(
        id="download-since-not-a-date",
        argv=[*_BASE, "--since", "2024-13-01", *_CLOSED],
        exit_code=2,
        culprit="--since must be a date YYYY-MM-DD",
    ),
    BadInput(
        id="download-since-in-the-future",
        argv=[*_BASE, "--since", "2999-01-01", *_CLOSED],
        exit_code=2,
        culprit="--since must be in the past",
    ),
    BadInput(
        id="download-until-before-since",
        argv=[*_BASE, "--since", "2024-02-01", "--until", "2024-01-01", *_CLOSED],
        exit_code=2,
        culprit="--until must be after --since",
    ),
    BadInput(
        id="download-until-not-a-date",
        argv=[*_BASE, "--since", "2024-01-01", "--until", "soon", *_CLOSED],
        exit_code=2,
        culprit="--until must be a date",
    ),
    BadInput(
        id="download-exchange-unknown",
        argv=["download", "--exchange", "nosuchvenue", "--symbol", "X/Y", "--since", DAY, *_CLOSED],
        exit_code=2,
        culprit="--exchange must be a ccxt exchange id",
    ),
    BadInput(
        id="download-trades-from-a-venue-not-paged-by-id",
        argv=["download", "--exchange", "kraken", "--symbol", "BTC/USD", "--since", DAY, *_CLOSED],
        exit_code=2,
        culprit="--exchange kraken",
    ),
    BadInput(
        id="download-symbol-missing",
        argv=["download", "--exchange", "binance", "--since", "2024-01-01", *_CLOSED],
        exit_code=2,
        culprit="--symbol",
    ),
    BadInput(
        id="download-base-url-not-http",
        argv=[*_BASE, "--since", "2024-01-01", "--base-url", "ftp://127.0.0.1/x"],
        exit_code=2,
        culprit="--base-url must be an http(s) URL",
    ),
    BadInput(
        id="download-out-in-a-missing-folder",
        argv=[*_BASE, "--since", "2024-01-01", "--out", "{tmp}/nowhere/t.parquet", *_CLOSED],
        exit_code=2,
        culprit="--out must be a file in an existing folder",
    ),
    BadInput(
        id="download-out-already-finished",
        argv=[*_BASE, "--since", "2024-01-01", "--out", "{tmp}/t.parquet", *_CLOSED],
        files={"t.parquet": b"PAR1 a finished download PAR1"},
        exit_code=2,
        culprit="already exists",
    ),
    BadInput(
        id="download-out-holds-another-interrupted-download",
        argv=[*_BASE, "--since", "2024-01-01", "--out", "{tmp}/t.parquet", *_CLOSED],
        files={"t.parquet.partial.json": _OTHER_DOWNLOAD},
        exit_code=2,
        culprit="holds an interrupted download of trades of ETH/USDT",
    ),
    BadInput(
        id="download-out-sidecar-damaged",
        argv=[*_BASE, "--since", "2024-01-01", "--out", "{tmp}/t.parquet", *_CLOSED],
        files={"t.parquet.partial.json": "{not json"},
        exit_code=2,
        culprit="t.parquet.partial.json",
    ),
    BadInput(
        id="download-out-sidecar-with-a-cursor-of-text",
        argv=[*_BASE, "--since", "2024-01-01", "--out", "{tmp}/t.parquet", *_CLOSED],
        files={"t.parquet.partial.json": _sidecar("BTC/USDT", window_ms="1704067200000")},
        exit_code=2,
        culprit="its cursor",
    ),
    BadInput(
        id="download-out-sidecar-counts-a-missing-part",
        argv=[*_BASE, "--since", "2024-01-01", "--out", "{tmp}/t.parquet", *_CLOSED],
        files={"t.parquet.partial.json": _sidecar("BTC/USDT", parts=1)},
        exit_code=2,
        culprit="it counts part 1, which is not in",
    ),
    BadInput(
        id="download-venue-unreachable",
        argv=[*_BASE, "--since", "2024-01-01", "--out", "{tmp}/t.parquet", *_CLOSED],
        exit_code=5,
        culprit="cannot reach binance at http://127.0.0.1:9",
    ),
]
