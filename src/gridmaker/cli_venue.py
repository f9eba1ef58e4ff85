"""``gridmaker sim-exchange`` and the wiring of real venues (ccxt) for ``gridmaker run``.

Keys come from the environment only: ``GRIDMAKER_API_KEY`` and ``GRIDMAKER_API_SECRET``. Against
the local simulator (a loopback ``--base-url``) both sides default to the public pair
``SIM_API_KEY``/``SIM_API_SECRET`` when they are unset.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final
from urllib.parse import urlparse

import typer

if TYPE_CHECKING:
    from gridmaker.config import Config
    from gridmaker.core.units import Instrument
    from gridmaker.engine.orchestrator import GridOrchestrator
    from gridmaker.engine.session import Progress
    from gridmaker.engine.venue_binding import VenueIdentity
    from gridmaker.exchange.ccxt_venue import CcxtExchange
    from gridmaker.exchange.sim import SimExchange
    from gridmaker.feeds import MarketFeed

__all__ = [
    "ENV_KEY",
    "ENV_SECRET",
    "SIM_API_KEY",
    "SIM_API_SECRET",
    "VenueChoice",
    "open_run_venue",
    "open_venue",
    "register",
    "run_sessions",
    "venue_choice",
    "venue_identity",
    "venue_keys",
    "venue_overrides",
]

ENV_KEY: Final = "GRIDMAKER_API_KEY"
ENV_SECRET: Final = "GRIDMAKER_API_SECRET"
SIM_API_KEY: Final = "gridmaker-sim-key"
SIM_API_SECRET: Final = "gridmaker-sim-secret"
EXIT_CONFIG: Final = 2


def register(app: typer.Typer) -> None:
    """Add the ``sim-exchange`` command to ``app``."""
    app.command("sim-exchange")(sim_exchange)


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
) -> None:
    """Serve the simulated exchange on 127.0.0.1 in Binance spot REST v3 shapes (for ccxt).

    Bound beyond loopback (``--host``), its ``/__sim/*`` control endpoints, which move the
    market, take requests only with the token in ``GRIDMAKER_SIM_TOKEN`` (as ``X-Sim-Token``).
    Every mistake is refused before the port is taken or the ``--state`` file is touched.
    """
    from gridmaker.cli import _fail, _load_config, _make_feed
    from gridmaker.config import sim_instrument
    from gridmaker.exchange.http_sim import (
        DEFAULT_CHAOS,
        BinanceSimServer,
        ChaosKind,
        ChaosPlan,
        listen_socket,
        serve,
    )
    from gridmaker.exchange.http_sim_control import ENV_SIM_TOKEN, is_loopback

    config = _load_config(config_path, {})
    try:
        kinds = (
            tuple(ChaosKind(k.strip()) for k in chaos_kinds.split(",") if k.strip())
            or DEFAULT_CHAOS
        )
    except ValueError:
        allowed = ",".join(k.value for k in ChaosKind)
        raise _fail(EXIT_CONFIG, f"--chaos-kinds takes {allowed}; was {chaos_kinds!r}") from None
    plan = ChaosPlan(seed=seed, rate=chaos, kinds=kinds) if chaos > 0 else None
    token = os.environ.get(ENV_SIM_TOKEN, "")
    symbols = sorted(config.sim.instruments)
    feeds = {s: _make_feed(config, sim_instrument(config, s)) for s in symbols} if walk_ms else {}
    try:
        sock = listen_socket(host, port, token=token)
    except ValueError as e:
        raise _fail(EXIT_CONFIG, str(e)) from None
    try:
        sim = _open_sim_state(config, state, seed, feeds)
    except BaseException:
        sock.close()
        raise
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
        sys.stdout.write(f"gridmaker sim-exchange listening on http://{shown}:{bound}\n")
        sys.stdout.flush()

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        walker: asyncio.Task[int] | None = None
        if walk_ms:
            from gridmaker.exchange.http_sim_walk import walk_market

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
            sim.close_sync()

    try:
        asyncio.run(main())
    finally:
        sock.close()


def _open_sim_state(
    config: Config, state: Path | None, seed: int, feeds: Mapping[str, MarketFeed]
) -> SimExchange:
    """The exchange ``sim-exchange`` serves, from ``--state`` if given, bound to the feeds it
    walks. Exits 3 for a damaged file, 4 for one it cannot use or that another feed drives
    (as ``run`` does for its data dir)."""
    from gridmaker.cli import EXIT_BOOT, EXIT_STATE, _fail
    from gridmaker.config import sim_instrument
    from gridmaker.exchange.sim import SimExchange, SimFileError

    try:
        sim = SimExchange(
            instruments=[sim_instrument(config, s) for s in sorted(config.sim.instruments)],
            initial_balances=config.sim.balances,
            path=state,
            partial_fills=config.sim.partial_fills,
            seed=seed,
        )
    except SimFileError as e:
        raise _fail(EXIT_BOOT if e.read_only else EXIT_STATE, f"--state: {e}") from None
    except OSError as e:
        raise _fail(EXIT_BOOT, f"--state {state}: {e.strerror or e}") from None
    try:
        for symbol, feed in feeds.items():
            sim.bind_feed(symbol, feed.key)
    except ValueError as e:
        sim.close_sync()
        raise _fail(EXIT_BOOT, f"--state: {e}") from None
    return sim


def _report_walk(task: asyncio.Task[int]) -> None:
    if task.cancelled():
        return
    error = task.exception()
    if error is not None:
        sys.stderr.write(f"the market stopped moving: {error!r}\n")
    else:
        sys.stderr.write(f"the market walk ended after {task.result()} trades\n")


# --- gridmaker run --exchange ID [--base-url URL] [--sandbox] --------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class VenueChoice:
    """Where ``gridmaker run`` trades: a ccxt exchange id, maybe at another base URL."""

    exchange_id: str
    base_url: str | None = None
    sandbox: bool = False
    streams: bool = True
    poll_interval_s: float = 2.0

    @property
    def is_local_sim(self) -> bool:
        """A loopback base URL: the ``gridmaker sim-exchange`` server, whose market we move."""
        if self.base_url is None:
            return False
        host = urlparse(self.base_url).hostname or ""
        return host in ("127.0.0.1", "localhost", "::1")


def venue_overrides(exchange_id: str | None, base_url: str | None, sandbox: bool) -> dict[str, Any]:
    """``run``'s venue options as config overrides (the config checks them)."""
    overrides: dict[str, Any] = {}
    if exchange_id is not None:
        overrides["exchange"] = exchange_id
    venue: dict[str, Any] = {}
    if base_url is not None:
        venue["base_url"] = base_url
    if sandbox:
        venue["sandbox"] = True
    if venue:
        overrides["venue"] = venue
    return overrides


def _local_market_moves_itself(base_url: str) -> bool | None:
    """Ask a loopback venue if it is ``gridmaker sim-exchange`` and whether its market moves
    by itself; ``None``: it answers, but is not our simulator (a local proxy to a real venue,
    say). Raises ``Unavailable`` when nothing answers (blocking: run it in a thread)."""
    from gridmaker.exchange.api import Unavailable
    from gridmaker.exchange.http_sim_control import ENV_SIM_TOKEN, TOKEN_HEADER

    url = base_url.rstrip("/") + "/__sim/market"
    token = os.environ.get(ENV_SIM_TOKEN, "")
    request = urllib.request.Request(url, headers={TOKEN_HEADER: token} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return bool(json.loads(response.read())["moves_itself"])
    except urllib.error.HTTPError:
        return None
    except (ValueError, KeyError, TypeError):
        return None
    except OSError as e:
        raise Unavailable(f"nothing answers at {base_url}: {e}") from e


def venue_choice(config: Config) -> VenueChoice | None:
    """The configured venue: ``None`` for the built-in simulated exchange."""
    from gridmaker.config import VenueConfig

    if config.exchange == "sim":
        return None
    venue = config.venue or VenueConfig()
    return VenueChoice(
        exchange_id=config.exchange,
        base_url=venue.base_url,
        sandbox=venue.sandbox,
        streams=venue.streams,
        poll_interval_s=venue.poll_interval_s,
    )


def venue_identity(choice: VenueChoice | None, venue: Any) -> VenueIdentity:
    """The venue a data dir is bound to: ``sim`` for the built-in exchange; otherwise the ccxt
    id, the endpoint (the testnet or production, a base URL, or ``loopback`` for the local
    simulator, whose port may change between starts) and the account the keys belong to."""
    from gridmaker.engine.venue_binding import VenueIdentity

    if choice is None:
        return VenueIdentity(exchange="sim", endpoint="built-in")
    if choice.is_local_sim:
        endpoint = "loopback"
    elif choice.base_url is not None:
        endpoint = choice.base_url.strip().rstrip("/").lower()
    else:
        endpoint = "testnet" if choice.sandbox else "production"
    account = str(getattr(venue, "account_id", "") or "")
    return VenueIdentity(exchange=choice.exchange_id, endpoint=endpoint, account=account)


def venue_keys(choice: VenueChoice) -> tuple[str, str]:
    """The API key pair from the environment; the simulator's pair for a local simulator."""
    key, secret = os.environ.get(ENV_KEY, ""), os.environ.get(ENV_SECRET, "")
    if key and secret:
        return key, secret
    if key or secret:  # half a pair is a mistake, never a reason to fall back silently
        have, missing = (ENV_KEY, ENV_SECRET) if key else (ENV_SECRET, ENV_KEY)
        raise ValueError(
            f"{have} is set but {missing} is not: set both (a key pair of "
            f"{choice.exchange_id}), or neither to use the local simulator's public pair"
        )
    if choice.is_local_sim:
        return SIM_API_KEY, SIM_API_SECRET
    raise ValueError(
        f"{choice.exchange_id} needs API keys: set {ENV_KEY} and {ENV_SECRET} in the environment "
        "(keys are never read from the config file)"
    )


async def open_venue(choice: VenueChoice, symbols: Sequence[str]) -> CcxtExchange:
    """The ccxt venue for ``choice``, its markets loaded and ``symbols`` checked to trade there.

    Raises ``ValueError`` (bad id, missing keys) and the taxonomy (``NotFound`` for a symbol
    the venue does not list or that is not trading, ``Banned`` for refused keys).
    """
    from gridmaker.engine.retry import Retrier
    from gridmaker.exchange.ccxt_venue import CcxtExchange, build_ccxt_client
    from gridmaker.exchange.http_sim_client import HttpSimVenue

    key, secret = venue_keys(choice)
    # A simulator whose market waits to be printed gets the feed from us; any other venue
    # (a self-moving simulator included) is traded as the real thing, streams and all.
    prints = False
    if choice.is_local_sim and choice.base_url is not None:
        moves = await asyncio.to_thread(_local_market_moves_itself, choice.base_url)
        prints = moves is False
    client = build_ccxt_client(
        choice.exchange_id,
        api_key=key,
        api_secret=secret,
        sandbox=choice.sandbox,
        base_url=choice.base_url,
        streams=choice.streams and not prints,
    )
    venue: CcxtExchange = (
        HttpSimVenue(client, base_url=choice.base_url or "") if prints else CcxtExchange(client)
    )
    retrier = Retrier()
    try:
        for symbol in symbols:
            await retrier.read(f"instrument {symbol}", partial(venue.fetch_instrument, symbol))
        # proves the keys and their permissions
        await retrier.read("balances", venue.fetch_balances)
    except BaseException:
        await venue.close()
        raise
    return venue


async def open_run_venue(
    choice: VenueChoice | None, config: Config
) -> tuple[Any, list[Instrument]]:
    """The venue ``run`` trades on and its instruments for the configured markets.

    ``None`` and the ``sim.instruments`` rules for the built-in exchange (``choice`` None).

    Checked at start: the exchange id, the keys (from the environment), every market listed and
    trading, and a balance read (the keys work). Exits 2 (config) or 5 (exchange) otherwise.
    """
    from gridmaker.cli import EXIT_EXCHANGE, _fail
    from gridmaker.config import sim_instrument
    from gridmaker.exchange.api import ExchangeError

    if choice is None:
        return None, [sim_instrument(config, m.symbol) for m in config.markets]
    symbols = [m.symbol for m in config.markets]
    try:
        venue = await open_venue(choice, symbols)
    except ValueError as e:
        raise _fail(EXIT_CONFIG, str(e)) from None
    except ExchangeError as e:
        where = choice.base_url or choice.exchange_id
        raise _fail(EXIT_EXCHANGE, f"cannot start on {where}: {e}") from None
    return venue, [await venue.fetch_instrument(s) for s in symbols]


async def run_sessions(
    remote: VenueChoice | None,
    prints_market: bool,
    orchestrator: GridOrchestrator,
    market: Any,
    feeds: Mapping[str, tuple[MarketFeed | None, Callable[[Progress], None] | None]],
    *,
    steps: int | None,
    duration_s: float | None,
    reconcile_every: int,
    stop: asyncio.Event | None = None,
) -> None:
    """Trade every symbol of ``feeds`` (its feed, its progress printer) until ``stop``.

    With ``prints_market`` (a simulated market, in process or at a local simulator waiting to
    be printed) each symbol's feed is printed, one symbol after another. A venue whose markets
    move at once and on their own gets one live session for all symbols, driven by the venue's
    prices and order news, until ``steps``, ``duration_s`` or ``stop``. Either way ``stop``
    (set by the caller's SIGINT/SIGTERM handler) ends trading at the next safe point: between
    two events, after a last fill poll, so the caller can print the summary.
    """
    if prints_market or remote is None:
        from gridmaker.engine.session import run_market_session

        for symbol, (feed, on_progress) in feeds.items():
            assert feed is not None
            if stop is not None and stop.is_set():
                break
            await run_market_session(
                orchestrator,
                market,
                feed,
                symbol,
                steps=steps,
                duration_s=duration_s,
                reconcile_every=reconcile_every,
                on_progress=on_progress,
                stop=stop,
            )
        return
    from gridmaker.live_session import run_live_session

    # A SIGKILL is as safe as a stop, only less tidy: the next start syncs.
    await run_live_session(
        orchestrator,
        market,
        list(feeds),
        steps=steps,
        duration_s=duration_s,
        reconcile_every=reconcile_every,
        poll_interval_s=remote.poll_interval_s,
        stop=stop,
    )
