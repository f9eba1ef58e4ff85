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
