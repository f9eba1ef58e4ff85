"""``gridmaker shadow``: both engines over one feed; their action streams must be identical.

Exit codes as for ``gridmaker``, plus 6: the engines diverged (the first differing action and
the event that caused it are printed). A bad feed file is refused (2) before anything runs; a
grid that fails pre-flight is refused (4) with ``run``'s message.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

if TYPE_CHECKING:
    from gridmaker.config import Config
    from gridmaker.core.units import Instrument
    from gridmaker.engine.executor import GridExecutor
    from gridmaker.engine.shadow import ShadowResult
    from gridmaker.exchange.sim import SimExchange
    from gridmaker.feeds import MarketFeed
    from gridmaker.store import Store

__all__ = ["register", "shadow"]

EXIT_CONFIG = 2
EXIT_DIVERGED = 6
DEFAULT_WALK_TRADES = 50_000

err = Console(stderr=True)


def register(app: typer.Typer) -> None:
    """Add the ``shadow`` command to ``app``."""
    app.command()(shadow)


def shadow(
    feed_path: Annotated[
        Path | None,
        typer.Option("--feed", help="recorded trades (CSV/JSON, as `run --feed`); default: walk"),
    ] = None,
    config_path: Annotated[
        Path | None, typer.Option("--config", help="YAML config file (defaults need none)")
    ] = None,
    steps: Annotated[
        int | None,
        typer.Option(
            "--steps", min=1, help=f"trades to replay (file: all; walk: {DEFAULT_WALK_TRADES})"
        ),
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="random-walk seed")] = None,
    work_dir: Annotated[
        Path | None,
        typer.Option("--work-dir", help="keep both engines' data dirs here (default: temporary)"),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="print the comparison as one JSON line last")
    ] = False,
) -> None:
    """Run the simple and the durable engine over the same feed and compare their actions."""
    from gridmaker.cli import EXIT_BOOT, _fail, _load_config, _setup_logging
    from gridmaker.config import sim_instrument
    from gridmaker.engine.orchestrator import BootRefused

    _setup_logging()
    overrides: dict[str, Any] = {}
    if feed_path is not None:
        overrides.update(kind="file", path=feed_path)
    if seed is not None:
        overrides["seed"] = seed
    config = _load_config(config_path, {"feed": overrides} if overrides else {})
    if steps is None and config.feed.kind != "file":
        steps = DEFAULT_WALK_TRADES
    if work_dir is not None and work_dir.exists() and not work_dir.is_dir():
        raise _fail(
            EXIT_CONFIG,
            f"--work-dir must be a folder for both engines' data; was {work_dir}, a file",
        )
    feed = _feed(config, sim_instrument(config, config.markets[0].symbol))
    try:
        if work_dir is None:
            with tempfile.TemporaryDirectory(prefix="gridmaker-shadow-") as tmp:
                result = asyncio.run(_shadow(config, feed, Path(tmp), steps))
        else:
            result = asyncio.run(_shadow(config, feed, work_dir, steps))
    except BootRefused as e:  # a pre-flight refusal, as `run` answers it
        raise _fail(EXIT_BOOT, str(e)) from None
    _report(result, as_json)
    if not result.identical:
        raise typer.Exit(EXIT_DIVERGED)


def _feed(config: Config, instrument: Instrument) -> MarketFeed:
    """The configured market, a recorded file checked in full (rows, tick) before any run."""
    from gridmaker.cli import _fail
    from gridmaker.feeds import FeedError, ReplayFeed

    if config.feed.kind != "file":
        return config.feed.random_walk(instrument)
    assert config.feed.path is not None
    try:
        recorded = ReplayFeed(config.feed.path)
        recorded.check_tick(instrument.tick_size)
    except FeedError as e:
        raise _fail(EXIT_CONFIG, str(e)) from None
    return recorded


async def _shadow(
    config: Config, feed: MarketFeed, work_dir: Path, steps: int | None
) -> ShadowResult:
    from gridmaker.config import book_setup_args, sim_instrument
    from gridmaker.engine.orchestrator import BookSetup
    from gridmaker.engine.shadow import run_shadow
    from gridmaker.exchange.sim import SimExchange

    market = config.markets[0]
    instrument = sim_instrument(config, market.symbol)
    setup = BookSetup(**book_setup_args(market, instrument))
    instruments = [sim_instrument(config, m.symbol) for m in config.markets]

    def make_exchange(data_dir: Path) -> SimExchange:
        return SimExchange(
            instruments=instruments,
            initial_balances=config.sim.balances,
            path=data_dir / "exchange.sqlite",
            partial_fills=config.sim.partial_fills,
            seed=config.feed.seed,
        )

    return await run_shadow(
        feed=feed,
        setup=setup,
        make_exchange=make_exchange,
        make_executor=_make_executor,
        work_dir=work_dir,
        steps=steps,
        reconcile_every=config.reconcile_every,
    )


def _make_executor(
    engine: str, data_dir: Path, store: Store, exchange: SimExchange
) -> GridExecutor:
    if engine == "durable":
        from gridmaker.engine.durable import DurableExecutor

        return DurableExecutor.launch(data_dir, store=store, exchange=exchange)
    from gridmaker.engine.simple import SimpleExecutor

    return SimpleExecutor(store=store, exchange=exchange)


def _report(result: ShadowResult, as_json: bool) -> None:
    counts = {e: len(steps) for e, steps in result.actions.items()}
    verdict = "identical" if result.identical else "DIVERGED"
    err.print(
        f"shadow: {result.trades} trades, {result.events} events, actions simple "
        f"{counts['simple']} / durable {counts['durable']}: {verdict}",
        highlight=False,
    )
    if not result.identical:
        err.print(result.describe_difference(), highlight=False, soft_wrap=True)
    if as_json:
        payload = {
            "events": result.events,
            "actions_simple": counts["simple"],
            "actions_durable": counts["durable"],
            "identical": result.identical,
        }
        sys.stdout.write(json.dumps(payload, sort_keys=True) + "\n")
