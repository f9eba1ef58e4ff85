"""Venue choices that cannot work: named, refused before anything is opened."""

from __future__ import annotations

from tests.e2e.bad_inputs.kit import BadInput

CASES = [
    BadInput(
        id="venue-unknown-exchange-id",
        argv=["run", "--exchange", "nosuchvenue", "--data-dir", "{data}", "--steps", "5"],
        exit_code=2,
        culprit="nosuchvenue",
    ),
]

CASES += [
    BadInput(
        id="venue-api-key-without-secret-against-loopback",
        argv=[
            "run",
            "--exchange",
            "binance",
            "--base-url",
            "http://127.0.0.1:9",
            "--data-dir",
            "{data}",
            "--steps",
            "5",
        ],
        env={"GRIDMAKER_API_KEY": "only-the-key", "GRIDMAKER_API_SECRET": ""},
        exit_code=2,
        culprit="GRIDMAKER_API_SECRET is not",
    ),
    BadInput(
        id="venue-api-secret-without-key",
        argv=["run", "--exchange", "binance", "--data-dir", "{data}", "--steps", "5"],
        env={"GRIDMAKER_API_KEY": "", "GRIDMAKER_API_SECRET": "only-the-secret"},
        exit_code=2,
        culprit="GRIDMAKER_API_KEY is not",
    ),
    BadInput(
        id="venue-binance-without-keys",
        argv=["run", "--exchange", "binance", "--data-dir", "{data}", "--steps", "5"],
        env={"GRIDMAKER_API_KEY": "", "GRIDMAKER_API_SECRET": ""},
        exit_code=2,
        culprit="GRIDMAKER_API_KEY",
    ),
    BadInput(
        id="venue-nothing-listens-at-base-url",
        argv=[
            "run",
            "--exchange",
            "binance",
            "--base-url",
            "http://127.0.0.1:9",
            "--data-dir",
            "{data}",
            "--steps",
            "5",
        ],
        exit_code=5,
        culprit="127.0.0.1:9",
    ),
    BadInput(
        id="venue-base-url-not-a-url",
        argv=["run", "--exchange", "binance", "--base-url", "not a url", "--data-dir", "{data}"],
        exit_code=2,
        culprit="base_url",
    ),
    BadInput(
        id="venue-sandbox-on-builtin-exchange",
        argv=["run", "--sandbox", "--data-dir", "{data}", "--steps", "5"],
        exit_code=2,
        culprit="sandbox",
    ),
]
