"""``gridmaker ledger`` refusals: each named, the data dir untouched (the ledger only reads).

Exit 2: a market the data dir does not have, a bad config; 3: no store, a damaged one, an older
schema (only the bot upgrades it), the built-in exchange's file gone; 4: a data dir that is a
file, or bound to another venue than the config names; 5: the named venue does not answer.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

from tests.e2e.bad_inputs.kit import BadInput

LEDGER = ["ledger", "--data-dir", "{data}"]
REBUILD = [*LEDGER, "--rebuild"]
LOOPBACK = '{"account": "", "endpoint": "loopback", "exchange": "binance"}'


def _bound_elsewhere(tmp: Path) -> None:
    with closing(sqlite3.connect(tmp / "data" / "gridmaker.sqlite")) as db:
        db.execute("UPDATE venue SET identity_json = ?", (LOOPBACK,))
        db.commit()


def _schema_5(tmp: Path) -> None:
    """The template's store as gridmaker of schema version 5 left it."""
    with closing(sqlite3.connect(tmp / "data" / "gridmaker.sqlite")) as db:
        db.execute("ALTER TABLE commands DROP COLUMN payload")
        db.execute("ALTER TABLE commands DROP COLUMN outcome")
        db.execute("DELETE FROM schema_version WHERE version = 6")
        db.commit()


def _remove(relative: str) -> Callable[[Path], None]:
    def prepare(tmp: Path) -> None:
        (tmp / relative).unlink()

    return prepare


def _garbage(tmp: Path) -> None:
    path = tmp / "data" / "gridmaker.sqlite"
    path.write_bytes(bytes(range(7, 256)) * (path.stat().st_size // 249 + 1))


CASES = [
    BadInput(
        id="ledger-older-schema-is-not-upgraded",
        argv=LEDGER,
        template="sim_run",
        prepare=_schema_5,
        exit_code=3,
        culprit="is at schema version 5, older than this gridmaker's 6; ledger only reads",
    ),
    BadInput(
        id="ledger-symbol-not-in-the-data-dir",
        argv=[*LEDGER, "--symbol", "ETH/USDT"],
        template="sim_run",
        exit_code=2,
        culprit="--symbol must be a market of",
    ),
    BadInput(
        id="ledger-config-unknown-field",
        argv=[*LEDGER, "--config", "{tmp}/c.yaml"],
        files={"c.yaml": "exchnage: binance\n"},
        template="sim_run",
        exit_code=2,
        culprit="exchnage",
    ),
    BadInput(
        id="ledger-no-store",
        argv=LEDGER,
        files={"data/notes.txt": "not a data dir yet\n"},
        exit_code=3,
        culprit="no gridmaker state",
    ),
    BadInput(
        id="ledger-damaged-store",
        argv=LEDGER,
        template="sim_run",
        prepare=_garbage,
        exit_code=3,
        culprit="gridmaker.sqlite",
    ),
    BadInput(
        id="ledger-rebuild-builtin-exchange-file-gone",
        argv=REBUILD,
        template="sim_run",
        prepare=_remove("data/exchange.sqlite"),
        exit_code=3,
        culprit="no built-in exchange",
    ),
    BadInput(
        id="ledger-data-dir-is-a-file",
        argv=LEDGER,
        files={"data": "I am a file\n"},
        exit_code=4,
        culprit="is a file, not a directory",
    ),
    BadInput(
        id="ledger-rebuild-data-dir-of-another-venue",
        argv=REBUILD,
        template="sim_run",
        prepare=_bound_elsewhere,
        exit_code=4,
        culprit="belongs to binance at loopback",
    ),
    BadInput(
        id="ledger-rebuild-venue-does-not-answer",
        argv=[*REBUILD, "--config", "{tmp}/c.yaml"],
        files={"c.yaml": "exchange: binance\nvenue:\n  base_url: http://127.0.0.1:1\n"},
        template="sim_run",
        exit_code=5,
        culprit="127.0.0.1:1",
    ),
]
