"""``gridmaker fleet limits``: every limit and scope is checked before the database is
opened (the URL here answers nothing: a case that reached it would exit 5, not 2), and the
database's password is never shown."""

from __future__ import annotations

from tests.e2e.bad_inputs.kit import BadInput

DOWN = "postgresql://bot:pw-not-shown@127.0.0.1:1/gm"
LIMITS = ["fleet", "limits", "--store", DOWN]


def _value(id_: str, option: str, value: str, culprit: str) -> BadInput:
    return BadInput(
        id=f"fleet-limits-{id_}",
        argv=[*LIMITS, "--account", "A", option, value],
        exit_code=2,
        culprit=culprit,
    )


FRACTION = "--max-drawdown must be a fraction between 0 and 1"
PLAIN_DRAWDOWN = "--max-drawdown must be a plain decimal number"
PLAIN_EXPOSURE = "--max-exposure must be a plain decimal number"

CASES = [
    _value("drawdown-zero", "--max-drawdown", "0", FRACTION),
    _value("drawdown-one", "--max-drawdown", "1", FRACTION),
    _value("drawdown-above-one", "--max-drawdown", "1.5", FRACTION),
    _value("drawdown-negative", "--max-drawdown", "-0.1", FRACTION),
    _value("drawdown-percent", "--max-drawdown", "5%", PLAIN_DRAWDOWN),
    _value("drawdown-exponent", "--max-drawdown", "5E-2", PLAIN_DRAWDOWN),
    _value("drawdown-nan", "--max-drawdown", "NaN", PLAIN_DRAWDOWN),
    _value("exposure-zero", "--max-exposure", "0", "--max-exposure must be above 0"),
    _value("exposure-negative", "--max-exposure", "-5", "--max-exposure must be above 0"),
    _value("exposure-word", "--max-exposure", "lots", PLAIN_EXPOSURE),
    _value("exposure-infinite", "--max-exposure", "Infinity", PLAIN_EXPOSURE),
    _value("exposure-underscores", "--max-exposure", "5_000", PLAIN_EXPOSURE),
    BadInput(
        id="fleet-limits-account-and-fleet",
        argv=[*LIMITS, "--account", "A", "--fleet", "--max-exposure", "10"],
        exit_code=2,
        culprit="give --account NAME or --fleet, not both",
    ),
    BadInput(
        id="fleet-limits-account-bad-name",
        argv=[*LIMITS, "--account", "two words", "--max-exposure", "10"],
        exit_code=2,
        culprit="--account must be 1 to 63 letters",
    ),
    BadInput(
        id="fleet-limits-set-without-scope",
        argv=[*LIMITS, "--max-drawdown", "0.05"],
        exit_code=2,
        culprit="give --account NAME or --fleet: whose limits",
    ),
    BadInput(
        id="fleet-limits-reset-without-scope",
        argv=[*LIMITS, "--reset"],
        exit_code=2,
        culprit="give --account NAME or --fleet: whose limits",
    ),
    BadInput(
        id="fleet-limits-no-store",
        argv=["fleet", "limits", "--show"],
        env={"GRIDMAKER_STORE_URL": ""},
        exit_code=2,
        culprit="the fleet lives in PostgreSQL: give --store or GRIDMAKER_STORE_URL",
    ),
    BadInput(
        id="fleet-limits-store-sqlite",
        argv=["fleet", "limits", "--show", "--store", "sqlite"],
        exit_code=2,
        culprit="--store: the fleet lives in PostgreSQL",
    ),
    BadInput(
        id="fleet-limits-store-not-postgresql",
        argv=["fleet", "limits", "--show", "--store", "mysql://bot:pw-not-shown@127.0.0.1/gm"],
        exit_code=2,
        culprit="--store must be 'sqlite' or postgresql://",
    ),
    BadInput(
        id="fleet-limits-store-not-answering",
        argv=[*LIMITS, "--fleet", "--max-exposure", "10"],
        exit_code=5,
        culprit="cannot reach the fleet's database at postgresql://bot:***@127.0.0.1:1/gm",
    ),
]
