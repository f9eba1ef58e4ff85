"""The ``gridmaker`` typer app: the one module that imports every command.

Each command is a module of its own that imports ``common`` (and ``venue`` where it trades or
serves a venue), never another command, so the app is the only place they meet.
"""

from __future__ import annotations

import typer

from gridmaker.cli.backtest import backtest
from gridmaker.cli.breaker import breaker
from gridmaker.cli.capital import capital
from gridmaker.cli.download import download
from gridmaker.cli.fleet import fleet_app
from gridmaker.cli.fleet_command import command as fleet_command
from gridmaker.cli.fleet_limits import limits
from gridmaker.cli.ledger import ledger
from gridmaker.cli.plan import plan
from gridmaker.cli.reconfigure import reconfigure
from gridmaker.cli.run import run
from gridmaker.cli.shadow import shadow
from gridmaker.cli.sim_exchange import sim_exchange
from gridmaker.cli.status import status
from gridmaker.cli.stop import stop
from gridmaker.cli.worker import worker

__all__ = ["app", "main"]

app = typer.Typer(
    name="gridmaker",
    help="A crash-safe grid-trading market maker.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command()(run)
app.command()(status)
app.command()(backtest)
app.command("sim-exchange")(sim_exchange)
app.command()(breaker)
app.command()(shadow)
app.command()(download)
app.command()(ledger)
app.command()(plan)
app.command()(reconfigure)
app.command()(capital)
app.command()(stop)
app.command()(worker)
fleet_app.command("limits")(limits)
fleet_app.command("command")(fleet_command)
app.add_typer(fleet_app, name="fleet")


def main() -> None:
    app()
