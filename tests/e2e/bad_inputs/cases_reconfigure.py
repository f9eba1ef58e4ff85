"""``gridmaker reconfigure``: each mistake named, nothing queued, no file touched."""

from __future__ import annotations

from tests.e2e.bad_inputs.kit import BadInput

RECONFIGURE = ["reconfigure", "--data-dir", "{data}", "--config", "{tmp}/new.yaml"]
GOOD = 'markets:\n  - grid:\n      spacing: "0.5%"\n'
"""A change the template's book takes (the defaults with twice the spacing)."""


def _case(
    id_: str, config: str, exit_code: int, culprit: str, *extra: str, template: str = "sim_run"
) -> BadInput:
    return BadInput(
        id=f"reconfigure-{id_}",
        argv=[*RECONFIGURE, *extra],
        files={"new.yaml": config},
        template=template,
        exit_code=exit_code,
        culprit=culprit,
    )


CASES = [
    _case("no-yes-without-a-terminal", GOOD, 2, "--yes is needed"),
    _case(
        "new-strategy-id",
        'markets:\n  - strategy_id: other\n    grid:\n      spacing: "0.5%"\n',
        2,
        "strategy_id",
        "--yes",
    ),
    _case("mode-of-a-running-grid", "markets:\n  - mode: long\n", 2, "mode", "--yes"),
    _case(
        "trailing-switched-on",
        "markets:\n  - grid:\n      trailing: true\n",
        2,
        "grid.trailing",
        "--yes",
    ),
    _case(
        "spacing-not-a-price",
        'markets:\n  - grid:\n      spacing: "-5"\n',
        2,
        "markets[0].grid.spacing",
        "--yes",
    ),
    _case(
        "order-size-finer-than-the-step",
        'markets:\n  - order_size: "0.0000001"\n',
        2,
        "order_size",
        "--yes",
    ),
    _case("negative-wait", GOOD, 2, "--wait", "--yes", "--wait", "-1"),
    BadInput(
        id="reconfigure-no-config",
        argv=["reconfigure", "--data-dir", "{data}", "--yes"],
        template="sim_run",
        exit_code=2,
        culprit="--config",
    ),
    BadInput(
        id="reconfigure-config-missing",
        argv=[*RECONFIGURE, "--yes"],
        template="sim_run",
        exit_code=2,
        culprit="new.yaml",
    ),
    BadInput(
        id="reconfigure-no-data-dir",
        argv=[*RECONFIGURE, "--yes"],
        files={"new.yaml": GOOD},
        exit_code=3,
        culprit="no gridmaker state",
    ),
]
