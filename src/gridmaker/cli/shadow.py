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
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final

import typer

from gridmaker.cli.common import (
    EXIT_BOOT,
    EXIT_CONFIG,
    EXIT_DIVERGED,
    ConfigPath,
    err,
    exchange_file,
    fail,
    load_config,
    make_feed,
    setup_logging,
    store_file,
)

if TYPE_CHECKING:
    from gridmaker.config import Config
    from gridmaker.engine.sessions.shadow import ShadowResult
    from gridmaker.exchange.sim import SimExchange
    from gridmaker.feeds import MarketFeed
    from gridmaker.store import Store

__all__ = ["shadow"]

DEFAULT_WALK_TRADES: Final = 50_000


def shadow(
    feed_path: Annotated[
        Path | None,
        typer.Option("--feed", help="recorded trades (CSV/JSON, as `run --feed`); default: walk"),
    ] = None,
    config_path: ConfigPath = None,
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
    from gridmaker.config import ConfigError, sim_instrument
    from gridmaker.engine.orchestrator import BootRefused
    from gridmaker.feeds import FeedError

    setup_logging()
    overrides: dict[str, Any] = {}
    if feed_path is not None:
        overrides.update(kind="file", path=feed_path)
    if seed is not None:
        overrides["seed"] = seed
    config = load_config(config_path, {"feed": overrides} if overrides else {})
    if steps is None and config.feed.kind != "file":
        steps = DEFAULT_WALK_TRADES
    if work_dir is not None and work_dir.exists() and not work_dir.is_dir():
        raise fail(
            EXIT_CONFIG,
            f"--work-dir must be a folder for both engines' data; was {work_dir}, a file",
        )
    with ExitStack() as stack:
        try:
            # a recorded file is checked in full (rows, tick) before any run
            feed = make_feed(config, sim_instrument(config, config.markets[0].symbol))
            if work_dir is None:
                temporary = tempfile.TemporaryDirectory(prefix="gridmaker-shadow-")
                work_dir = Path(stack.enter_context(temporary))
            result = asyncio.run(_shadow(config, feed, work_dir, steps))
        except (ConfigError, FeedError) as e:
            raise fail(EXIT_CONFIG, str(e)) from None
        except BootRefused as e:  # a pre-flight refusal, as `run` answers it
            raise fail(EXIT_BOOT, str(e)) from None
    _report(result, as_json)
    if not result.identical:
        raise typer.Exit(EXIT_DIVERGED)


async def _shadow(
    config: Config, feed: MarketFeed, work_dir: Path, steps: int | None
) -> ShadowResult:
    """Both engines, each on its own built-in exchange and store in ``work_dir/<engine>``."""
    from gridmaker.cli.wiring import make_executor, sim_exchange_for
    from gridmaker.config import book_setup, sim_instrument
    from gridmaker.engine.sessions.shadow import run_shadow
    from gridmaker.store import Store

    market = config.markets[0]
    setup = book_setup(market, sim_instrument(config, market.symbol))
    instruments = [sim_instrument(config, m.symbol) for m in config.markets]

    def make_exchange(data_dir: Path) -> SimExchange:
        path = exchange_file(data_dir)
        return sim_exchange_for(config, instruments, path=path, seed=config.feed.seed)

    def make_store(data_dir: Path) -> Store:
        return Store(store_file(data_dir))

    return await run_shadow(
        feed=feed,
        setup=setup,
        make_exchange=make_exchange,
        make_store=make_store,
        make_executor=make_executor,
        work_dir=work_dir,
        steps=steps,
        reconcile_every=config.reconcile_every,
    )


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
