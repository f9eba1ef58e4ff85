"""``gridmaker fleet``: each mistake named before the database is opened, the password never
shown. The fleet's URL points at a port nothing listens on: a command that reached for the
database before checking its input would answer 5, not 2."""

from __future__ import annotations

from tests.e2e.bad_inputs.kit import BadInput

ENV = "GRIDMAKER_STORE_URL"
DOWN = {ENV: "postgresql://bot:pw-not-shown@127.0.0.1:1/gm"}
GRID = "exchange: binance\nvenue:\n  base_url: http://127.0.0.1:9\n"
SIM = "markets:\n  - symbol: BTC/USDT\n"


def _add(id_: str, args: list[str], culprit: str, files: dict[str, str] | None = None) -> BadInput:
    return BadInput(
        id=f"fleet-add-{id_}",
        argv=["fleet", "add", *args],
        files=files if files is not None else {"g.yaml": GRID},
        env=DOWN,
        exit_code=2,
        culprit=culprit,
    )


def _apply(id_: str, fleet: str, culprit: str, files: dict[str, str] | None = None) -> BadInput:
    return BadInput(
        id=f"fleet-apply-{id_}",
        argv=["fleet", "apply", "fleet.yaml"],
        files={"fleet.yaml": fleet, "g.yaml": GRID, "sim.yaml": SIM, **(files or {})},
        env=DOWN,
        exit_code=2,
        culprit=culprit,
    )


CASES = [
    _add("bad-name", ["two words", "--config", "g.yaml"], "the grid's name must be"),
    _add("bad-account", ["g1", "--config", "g.yaml", "--account", "a/b"], "--account must be"),
    _add("config-missing", ["g1", "--config", "nope.yaml"], "nope.yaml does not exist"),
    _add(
        "config-invalid",
        ["g1", "--config", "g.yaml"],
        "markets[0].order_size",
        {"g.yaml": GRID + 'markets:\n  - order_size: "-1"\n'},
    ),
    _add("sim-exchange", ["g1", "--config", "g.yaml"], "gridmaker sim-exchange", {"g.yaml": SIM}),
    _add(
        "durable-engine",
        ["g1", "--config", "g.yaml"],
        "engine must be simple for a fleet grid",
        {"g.yaml": "engine: durable\n" + GRID},
    ),
    BadInput(
        id="fleet-list-no-database",
        argv=["fleet", "list"],
        env={ENV: ""},
        exit_code=2,
        culprit="the fleet lives in PostgreSQL: give --store or GRIDMAKER_STORE_URL",
    ),
    BadInput(
        id="fleet-status-sqlite",
        argv=["fleet", "status", "--store", "sqlite"],
        env=DOWN,
        exit_code=2,
        culprit="--store: the fleet lives in PostgreSQL",
    ),
    BadInput(
        id="fleet-status-database-down",
        argv=["fleet", "status"],
        env=DOWN,
        exit_code=5,
        culprit="cannot reach the fleet's database at postgresql://bot:***@127.0.0.1:1/gm",
    ),
    BadInput(
        id="fleet-remove-database-down",
        argv=["fleet", "remove", "g1", "--store", DOWN[ENV]],
        exit_code=5,
        culprit="postgresql://bot:***@127.0.0.1:1/gm",
    ),
    BadInput(
        id="fleet-status-dead-after-zero",
        argv=["fleet", "status", "--dead-after", "0"],
        env=DOWN,
        exit_code=2,
        culprit="--dead-after",
    ),
    BadInput(
        id="fleet-apply-missing-file",
        argv=["fleet", "apply", "nope.yaml"],
        env=DOWN,
        exit_code=2,
        culprit="fleet file nope.yaml does not exist",
    ),
    _apply("not-a-list", "grids: g1\n", "must be a mapping with one key, grids:"),
    _apply(
        "one-sim-entry",
        "grids:\n  - {name: g1, config: g.yaml}\n  - {name: g2, config: sim.yaml}\n",
        "grids[1] (g2)",
    ),
    _apply(
        "name-twice",
        "grids:\n  - {name: g1, config: g.yaml}\n  - {name: g1, config: g.yaml}\n",
        "the name 'g1' is given twice",
    ),
    _apply("unknown-key", "grids:\n  - {name: g1, config: g.yaml, size: 2}\n", "unknown key size"),
]
