"""``gridmaker sim-exchange`` started wrong: refused before it listens or touches ``--state``.

A busy ``--port`` cannot be staged here (the port would have to stay taken across the
subprocess): ``tests/e2e/test_sim_exchange_cli.py`` holds that case.
"""

from __future__ import annotations

from pathlib import Path

from tests.e2e.bad_inputs.kit import BadInput

_STATE = ["--state", "{tmp}/exchange.sqlite"]


def _bound_to_another_feed(tmp: Path) -> None:
    """An exchange file whose market another feed has been driving."""
    from gridmaker.config import load_config, sim_instrument
    from gridmaker.exchange.sim import SimExchange

    config = load_config(None, {})
    symbols = sorted(config.sim.instruments)
    sim = SimExchange(
        instruments=[sim_instrument(config, s) for s in symbols],
        initial_balances=config.sim.balances,
        path=tmp / "exchange.sqlite",
    )
    sim.bind_feed(symbols[0], "another-feed")
    sim.close_sync()


CASES = [
    BadInput(
        id="sim-host-beyond-loopback-without-token",
        argv=["sim-exchange", "--host", "0.0.0.0", "--port", "0", *_STATE],
        env={"GRIDMAKER_SIM_TOKEN": ""},
        exit_code=2,
        culprit="GRIDMAKER_SIM_TOKEN",
    ),
    BadInput(
        id="sim-host-unknown",
        argv=["sim-exchange", "--host", "no-such-host.invalid", "--port", "0", *_STATE],
        env={"GRIDMAKER_SIM_TOKEN": "t"},
        exit_code=2,
        culprit="--host no-such-host.invalid",
    ),
    BadInput(
        id="sim-port-out-of-range",
        argv=["sim-exchange", "--port", "70000", *_STATE],
        exit_code=2,
        culprit="--port",
    ),
    BadInput(
        id="sim-chaos-kinds-unknown",
        argv=[
            "sim-exchange",
            "--port",
            "0",
            "--chaos",
            "0.3",
            "--chaos-kinds",
            "429,boom",
            *_STATE,
        ],
        exit_code=2,
        culprit="--chaos-kinds",
    ),
    BadInput(
        id="sim-chaos-rate-above-one",
        argv=["sim-exchange", "--port", "0", "--chaos", "1.5", *_STATE],
        exit_code=2,
        culprit="--chaos",
    ),
    BadInput(
        id="sim-walk-feed-file-missing",
        argv=["sim-exchange", "--port", "0", "--walk-ms", "5", "--config", "{tmp}/c.yaml", *_STATE],
        files={"c.yaml": "feed:\n  kind: file\n  path: no-such-trades.csv\n"},
        exit_code=2,
        culprit="no-such-trades.csv",
    ),
    BadInput(
        id="sim-walk-state-bound-to-another-feed",
        argv=["sim-exchange", "--port", "0", "--walk-ms", "5", *_STATE],
        prepare=_bound_to_another_feed,
        exit_code=4,
        culprit="another-feed",
    ),
    BadInput(
        id="sim-state-not-a-database",
        argv=["sim-exchange", "--port", "0", *_STATE],
        files={"exchange.sqlite": "these are not the exchange's books\n"},
        exit_code=3,
        culprit="exchange.sqlite",
    ),
]
