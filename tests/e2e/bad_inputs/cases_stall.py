"""A stalled ticker stream's knobs set wrong: the bot's threshold and the simulator's chaos."""

from __future__ import annotations

from tests.e2e.bad_inputs.kit import BadInput

_RUN = ["run", "--config", "{tmp}/c.yaml", "--data-dir", "{data}", "--steps", "5"]


def _venue(stall_after_s: str) -> str:
    return f"exchange: binance\nvenue:\n  stall_after_s: {stall_after_s}\n"


CASES = [
    BadInput(
        id="stall-threshold-zero",
        argv=_RUN,
        files={"c.yaml": _venue("0")},
        exit_code=2,
        culprit="venue.stall_after_s: must be > 0",
    ),
    BadInput(
        id="stall-threshold-over-an-hour",
        argv=_RUN,
        files={"c.yaml": _venue("3601")},
        exit_code=2,
        culprit="venue.stall_after_s: must be <= 3600",
    ),
    BadInput(
        id="stall-threshold-not-a-number",
        argv=_RUN,
        files={"c.yaml": _venue("soon")},
        exit_code=2,
        culprit="venue.stall_after_s",
    ),
    BadInput(
        id="sim-stall-after-negative",
        argv=["sim-exchange", "--port", "0", "--stall-after-s", "-1"],
        exit_code=2,
        culprit="--stall-after-s",
    ),
    BadInput(
        id="sim-stall-after-nan",
        argv=["sim-exchange", "--port", "0", "--stall-after-s", "nan"],
        exit_code=2,
        culprit="--stall-after-s",
    ),
]
