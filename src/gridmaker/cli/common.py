"""What every command shares: exit codes, the error console, option types, paths, logging.

Exit codes:

====  ==========================================================================
0     success
1     unexpected error (a bug: the message and traceback say where)
2     invalid config, arguments or environment value (``GRIDMAKER_SYSTEM_DB_URL``)
3     stored state refused: checksum mismatch, damaged file, missing table, newer schema;
      ``status``: no book
4     boot refused: book, config and venue disagree; pre-flight failed; data dir in use,
      a file, or not writable
5     exchange error that stops trading (ban, malformed data at boot, ...); system database
      (``GRIDMAKER_SYSTEM_DB_URL``) unreachable
6     ``shadow``: the simple and the durable engine diverged
      ``ledger --rebuild``: the venue's fills differ from the journal's
130   ``run``: a second SIGINT/SIGTERM quit at once, without the summary
====  ==========================================================================
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from gridmaker.config import Config
    from gridmaker.core.units import Instrument
    from gridmaker.feeds import MarketFeed

__all__ = [
    "EXIT_BOOT",
    "EXIT_CONFIG",
    "EXIT_DIVERGED",
    "EXIT_EXCHANGE",
    "EXIT_INTERRUPTED",
    "EXIT_STATE",
    "CannotStart",
    "ConfigPath",
    "DataDir",
    "JsonFlag",
    "err",
    "exchange_file",
    "fail",
    "load_config",
    "make_feed",
    "setup_logging",
    "store_file",
]

EXIT_CONFIG: Final = 2
EXIT_STATE: Final = 3
EXIT_BOOT: Final = 4
EXIT_EXCHANGE: Final = 5
EXIT_DIVERGED: Final = 6
EXIT_INTERRUPTED: Final = 130

err = Console(stderr=True)
"""Where every command says what went wrong (stdout keeps the summaries, JSON last)."""

DataDir = Annotated[
    Path, typer.Option("--data-dir", help="where the bot's state (and the simulated exchange) live")
]
JsonFlag = Annotated[bool, typer.Option("--json", help="print the summary as one JSON line last")]
ConfigPath = Annotated[
    Path | None, typer.Option("--config", help="YAML config file (defaults need none)")
]


class CannotStart(Exception):
    """What ``run`` needs beyond this machine (the venue, the durable engine's system database)
    refused the start or did not answer: exit 5, the message saying which and where."""


def store_file(data_dir: Path) -> Path:
    """The bot's own state in a data dir."""
    return data_dir / "gridmaker.sqlite"


def exchange_file(data_dir: Path) -> Path:
    """The built-in exchange's state in a data dir (apart from the bot's, as a venue's is)."""
    return data_dir / "exchange.sqlite"


def fail(code: int, message: str) -> typer.Exit:
    """Print ``message`` as an error and return the exit to raise (``raise fail(...)``)."""
    # escaped: a message quotes user input (paths, values, "[report]"): never read it as markup
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def load_config(path: Path | None, overrides: dict[str, Any] | None = None) -> Config:
    """The config with command-line ``overrides`` (``{"feed": {...}, "exchange": ...}``);
    refused with exit 2 and every problem named."""
    from gridmaker.config import ConfigError
    from gridmaker.config import load_config as load

    try:
        return load(path, overrides)
    except ConfigError as e:
        raise fail(EXIT_CONFIG, str(e)) from None


def make_feed(config: Config, instrument: Instrument) -> MarketFeed:
    """The market a simulated exchange prints (a real venue's market is real).

    A recorded file is read and checked in full (rows, tick) before anything opens: its
    ``FeedError`` names the file, row and value (the commands answer it with exit 2).
    """
    from gridmaker.feeds import ReplayFeed

    feed = config.feed
    if feed.kind != "file":
        return feed.random_walk(instrument)
    assert feed.path is not None
    recorded = ReplayFeed(feed.path)
    recorded.check_tick(instrument.tick_size)
    return recorded


def setup_logging() -> None:
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
