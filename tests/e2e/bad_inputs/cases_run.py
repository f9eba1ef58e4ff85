"""``gridmaker run`` arguments that cannot work: refused (2) before the data dir is touched."""

from __future__ import annotations

from tests.e2e.bad_inputs.kit import BadInput

RUN = ["run", "--data-dir", "{data}"]
FEED = "timestamp,price,amount\n1700000000000,50000.00,0.5\n1700000001000,50010.00,0.5\n"

CASES = [
    BadInput(id="run-steps-negative", argv=[*RUN, "--steps", "-1"], exit_code=2, culprit="--steps"),
    BadInput(
        id="run-steps-not-a-number", argv=[*RUN, "--steps", "ten"], exit_code=2, culprit="--steps"
    ),
    BadInput(
        id="run-duration-negative",
        argv=[*RUN, "--duration", "-1"],
        exit_code=2,
        culprit="--duration",
    ),
    BadInput(
        id="run-duration-nan",
        argv=[*RUN, "--duration", "nan", "--steps", "5"],
        exit_code=2,
        culprit="--duration",
    ),
    BadInput(
        id="run-duration-infinite",
        argv=[*RUN, "--duration", "inf", "--steps", "5"],
        exit_code=2,
        culprit="--duration must be a finite number",
    ),
    BadInput(
        id="run-engine-bogus",
        argv=[*RUN, "--engine", "bogus", "--steps", "5"],
        exit_code=2,
        culprit="'bogus'",
    ),
    BadInput(
        id="run-exchange-nosuchvenue",
        argv=[*RUN, "--exchange", "nosuchvenue", "--steps", "0"],
        exit_code=2,
        culprit="nosuchvenue",
    ),
    BadInput(
        id="run-feed-missing",
        argv=[*RUN, "--feed", "{tmp}/nope.csv", "--steps", "5"],
        exit_code=2,
        culprit="nope.csv",
    ),
    BadInput(
        id="run-feed-empty",
        argv=[*RUN, "--feed", "{tmp}/empty.csv", "--steps", "5"],
        files={"empty.csv": ""},
        exit_code=2,
        culprit="empty.csv",
    ),
    BadInput(
        id="run-feed-directory",
        argv=[*RUN, "--feed", "{tmp}/feeds", "--steps", "5"],
        files={"feeds/trades.csv": FEED},
        exit_code=2,
        culprit="feeds",
    ),
    BadInput(
        id="run-feed-header-only",
        argv=[*RUN, "--feed", "{tmp}/header.csv", "--steps", "5"],
        files={"header.csv": "timestamp,price,amount\n"},
        exit_code=2,
        culprit="header.csv",
    ),
    BadInput(
        id="run-feed-missing-on-a-data-dir",
        argv=[*RUN, "--feed", "{tmp}/nope.csv", "--steps", "5"],
        template="sim_run",
        exit_code=2,
        culprit="nope.csv",
    ),
    BadInput(
        id="run-steps-zero-fresh-data-dir",
        argv=[*RUN, "--steps", "0", "--json"],
        exit_code=2,
        culprit="--steps 0",
    ),
    BadInput(
        id="run-unknown-flag",
        argv=[*RUN, "--bogus", "--steps", "5"],
        exit_code=2,
        culprit="--bogus",
    ),
    BadInput(
        id="run-extra-argument",
        argv=[*RUN, "--steps", "5", "extra"],
        exit_code=2,
        culprit="extra",
    ),
    BadInput(
        id="run-feed-other-than-the-bound-one",
        argv=[*RUN, "--feed", "{tmp}/other.csv", "--steps", "5"],
        files={"other.csv": FEED},
        template="sim_run",
        exit_code=4,
        culprit="other.csv",
    ),
]
