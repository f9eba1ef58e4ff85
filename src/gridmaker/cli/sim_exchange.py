"""``gridmaker sim-exchange``: the simulated exchange served over HTTP in Binance's shapes.

Every mistake is refused before the port is taken or the ``--state`` file is touched; what
opens (the socket, the exchange's file) is owned by one exit stack from the moment it opens.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable, Mapping
from contextlib import ExitStack, closing
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from gridmaker.cli.common import (
    EXIT_BOOT,
    EXIT_CONFIG,
    EXIT_STATE,
    fail,
    load_config,
    make_feed,
)
from gridmaker.cli.venue import ENV_KEY, ENV_SECRET, SIM_API_KEY, SIM_API_SECRET

if TYPE_CHECKING:
    import socket

    from gridmaker.config import Config
    from gridmaker.exchange.faults import FaultPlan
    from gridmaker.exchange.sim import SimExchange
    from gridmaker.exchange.sim.http import BinanceSimServer
    from gridmaker.feeds import MarketFeed

__all__ = ["sim_exchange"]


class _StateRefused(Exception):
    """The ``--state`` file cannot serve (exit 4): unusable here, or another feed drives it."""


def sim_exchange(
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="0 = any free port")] = 0,
    host: Annotated[
        str,
        typer.Option(
            "--host",
            help="address to listen on; beyond loopback the control endpoints need the token "
            "in GRIDMAKER_SIM_TOKEN",
        ),
    ] = "127.0.0.1",
    seed: Annotated[int, typer.Option("--seed", help="seed of the chaos plan")] = 0,
    state: Annotated[
        Path | None,
        typer.Option("--state", help="SQLite file keeping the exchange across restarts"),
    ] = None,
    config_path: Annotated[
        Path | None, typer.Option("--config", help="YAML config: its sim section (balances, rules)")
    ] = None,
    chaos: Annotated[
        float, typer.Option("--chaos", min=0, max=1, help="fraction of API requests faulted")
    ] = 0.0,
    chaos_kinds: Annotated[
        str,
        typer.Option(
            "--chaos-kinds",
            help="comma-separated: 429,418,5xx,504,-1007,lost,delay,junk (default all but 418)",
        ),
    ] = "",
    weight_limit: Annotated[
        int, typer.Option("--weight-limit", min=1, help="request weight per minute before 429")
    ] = 6000,
    walk_ms: Annotated[
        int,
        typer.Option(
            "--walk-ms",
            min=0,
            help="the market trades on its own, one print of the config's feed every N ms "
            "(0: only when a bot or a test prints)",
        ),
    ] = 0,
    clock_offset_ms: Annotated[
        int,
        typer.Option(
            "--clock-offset-ms", help="run the server's clock off the host's (-1021 tests)"
        ),
    ] = 0,
    walk_trades: Annotated[
        int, typer.Option("--walk-trades", min=0, help="with --walk-ms: stop after N (0: never)")
    ] = 0,
    stall_after_s: Annotated[
        float | None,
        typer.Option(
            "--stall-after-s",
            min=0,
            max=86400,
            help="chaos: N seconds after listening, the ticker streams stay open but go silent, "
            'until POST /__sim/streams {"stall": false}',
        ),
    ] = None,
) -> None:
    """Serve the simulated exchange on 127.0.0.1 in Binance spot REST v3 shapes (for ccxt).

    Bound beyond loopback (``--host``), its ``/__sim/*`` control endpoints, which move the
    market, take requests only with the token in ``GRIDMAKER_SIM_TOKEN`` (as ``X-Sim-Token``).
    Every mistake is refused before the port is taken or the ``--state`` file is touched.
    """
    from gridmaker.config import sim_instrument
    from gridmaker.exchange.sim import SimFileError
    from gridmaker.exchange.sim.http import BinanceSimServer, listen_socket
    from gridmaker.exchange.sim.http.control import ENV_SIM_TOKEN, is_loopback
    from gridmaker.feeds import FeedError

    config = load_config(config_path, {})
    token = os.environ.get(ENV_SIM_TOKEN, "")
    symbols = sorted(config.sim.instruments)
    with ExitStack() as stack:
        try:
            plan = _chaos_plan(seed, chaos, chaos_kinds)
            feeds = (
                {s: make_feed(config, sim_instrument(config, s)) for s in symbols}
                if walk_ms
                else {}
            )
            sock = stack.enter_context(closing(listen_socket(host, port, token=token)))
            sim = _open_state(config, state, seed)
            stack.callback(sim.close_sync)
            _bind_feeds(sim, feeds)
        except FeedError as e:
            raise fail(EXIT_CONFIG, str(e)) from None
        except SimFileError as e:
            raise fail(EXIT_BOOT if e.read_only else EXIT_STATE, f"--state: {e}") from None
        except _StateRefused as e:
            raise fail(EXIT_BOOT, str(e)) from None
        except ValueError as e:  # --chaos-kinds, or a port or host it cannot listen on
            raise fail(EXIT_CONFIG, str(e)) from None
        api_key = os.environ.get(ENV_KEY, SIM_API_KEY)
        if not is_loopback(host) and api_key == SIM_API_KEY:
            sys.stderr.write(
                f"warning: --host {host}: anyone who can reach it may trade with the public key "
                f"pair; set {ENV_KEY} and {ENV_SECRET} to keep them out\n"
            )
        server = BinanceSimServer(
            sim,
            symbols=symbols,
            api_key=api_key,
            api_secret=os.environ.get(ENV_SECRET, SIM_API_SECRET),
            chaos=plan,
            weight_limit=weight_limit,
            clock_offset_ms=clock_offset_ms,
            control_token=None if is_loopback(host) else token,
        )
        shown = f"[{host}]" if ":" in host else host

        def ready(bound: int) -> None:
            if plan is not None:
                sys.stderr.write(plan.describe() + "\n")
            if stall_after_s is not None:
                sys.stderr.write(f"chaos: the ticker streams stall after {stall_after_s:g} s\n")
            sys.stdout.write(f"gridmaker sim-exchange listening on http://{shown}:{bound}\n")
            sys.stdout.flush()

        asyncio.run(
            _serve(
                server,
                sock,
                feeds,
                ready,
                walk_ms=walk_ms,
                walk_trades=walk_trades,
                stall_after_s=stall_after_s,
            )
        )


def _chaos_plan(seed: int, rate: float, kinds_text: str) -> FaultPlan | None:
    """The HTTP chaos asked for; ``ValueError`` names the kinds allowed."""
    from gridmaker.exchange.faults import WIRE_DEFAULT_KINDS, WIRE_KINDS, FaultKind, FaultPlan

    try:
        kinds = (
            tuple(FaultKind.from_wire(k.strip()) for k in kinds_text.split(",") if k.strip())
            or WIRE_DEFAULT_KINDS
        )
    except ValueError:
        allowed = ",".join(str(k.wire) for k in WIRE_KINDS)
        raise ValueError(f"--chaos-kinds takes {allowed}; was {kinds_text!r}") from None
    return FaultPlan.wire(seed=seed, rate=rate, kinds=kinds) if rate > 0 else None


def _open_state(config: Config, state: Path | None, seed: int) -> SimExchange:
    """The exchange ``sim-exchange`` serves, from ``--state`` if given. ``SimFileError`` for a
    damaged (3) or read-only (4) file; ``_StateRefused`` for one it cannot open (4)."""
    from gridmaker.cli.wiring import sim_exchange_for
    from gridmaker.config import sim_instrument

    instruments = [sim_instrument(config, s) for s in sorted(config.sim.instruments)]
    try:
        return sim_exchange_for(config, instruments, path=state, seed=seed)
    except OSError as e:
        raise _StateRefused(f"--state {state}: {e.strerror or e}") from None


def _bind_feeds(sim: SimExchange, feeds: Mapping[str, MarketFeed]) -> None:
    """Bind the state to the feeds it walks: another feed's state is refused (as ``run``
    refuses a data dir bound to another feed)."""
    try:
        for symbol, feed in feeds.items():
            sim.bind_feed(symbol, feed.key)
    except ValueError as e:
        raise _StateRefused(f"--state: {e}") from None


async def _serve(
    server: BinanceSimServer,
    sock: socket.socket,
    feeds: Mapping[str, MarketFeed],
    ready: Callable[[int], None],
    *,
    walk_ms: int,
    walk_trades: int,
    stall_after_s: float | None = None,
) -> None:
    """Serve until SIGINT/SIGTERM, the market walking by itself with ``walk_ms``, the ticker
    streams stalling after ``stall_after_s``."""
    from gridmaker.exchange.sim.http import serve

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if stall_after_s is not None:
        loop.call_later(stall_after_s, server.streams.set_stalled, True)
    walker: asyncio.Task[int] | None = None
    if walk_ms:
        from gridmaker.exchange.sim.walk import walk_market

        walker = asyncio.create_task(
            walk_market(server, feeds, interval_s=walk_ms / 1000, limit=walk_trades or None)
        )
        walker.add_done_callback(_report_walk)
    try:
        await serve(server, sock=sock, stop=stop, on_ready=ready)
    finally:
        if walker is not None:
            walker.cancel()
            await asyncio.gather(walker, return_exceptions=True)


def _report_walk(task: asyncio.Task[int]) -> None:
    if task.cancelled():
        return
    error = task.exception()
    if error is not None:
        sys.stderr.write(f"the market stopped moving: {error!r}\n")
    else:
        sys.stderr.write(f"the market walk ended after {task.result()} trades\n")
