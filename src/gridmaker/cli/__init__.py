"""The ``gridmaker`` command line: the only place where concrete classes are wired.

- ``app``: the typer app, every command registered (the only module importing them all);
- ``common``: exit codes (listed there), the error console and ``fail``, shared options, paths;
- one module per command: ``run``, ``status``, ``backtest``, ``breaker``, ``shadow``,
  ``sim_exchange``;
- ``venue``: the venue ``run`` trades on (ccxt wiring, keys, the data dir's venue identity,
  the sessions it runs); ``wiring``: one session's orchestrator, executor, store and venue;
- ``progress``, ``summaries``: what ``run`` and ``status`` print.
"""

from __future__ import annotations

__all__ = ["main"]


def main() -> None:
    """The ``gridmaker`` console script (``python -m gridmaker`` and ``-m gridmaker.cli`` too).

    The app is imported here, not at the top, so that importing one of the CLI's modules
    (``gridmaker.cli.venue`` for its key names, say) does not build every command.
    """
    from gridmaker.cli.app import main as run_app

    run_app()
