"""The venue ``gridmaker run`` trades on: the built-in exchange, or a real one through ccxt.

Keys come from the environment only: ``GRIDMAKER_API_KEY`` and ``GRIDMAKER_API_SECRET``. Against
the local simulator (a loopback ``--base-url``) both sides default to the public pair
``SIM_API_KEY``/``SIM_API_SECRET`` when they are unset.
"""

from __future__ import annotations

import asyncio
import json
import os
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlparse

from gridmaker.cli.common import CannotStart

if TYPE_CHECKING:
    from gridmaker.config import Config
    from gridmaker.core.units import Instrument
    from gridmaker.engine.orchestrator import GridOrchestrator
    from gridmaker.engine.sessions.market import Progress
    from gridmaker.engine.venue_binding import VenueIdentity
    from gridmaker.exchange.ccxt import CcxtExchange
    from gridmaker.feeds import MarketFeed

__all__ = [
    "ENV_KEY",
    "ENV_SECRET",
    "SIM_API_KEY",
    "SIM_API_SECRET",
    "VenueChoice",
    "open_run_venue",
    "open_venue",
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


@dataclass(frozen=True, slots=True, kw_only=True)
class VenueChoice:
    """Where ``gridmaker run`` trades: a ccxt exchange id, maybe at another base URL."""

    exchange_id: str
    base_url: str | None = None
    sandbox: bool = False
    streams: bool = True
    poll_interval_s: float = 2.0
    stall_after_s: float = 30.0
    audit_interval_s: float = 15.0

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
    from gridmaker.exchange.sim.http.control import ENV_SIM_TOKEN, TOKEN_HEADER

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
        stall_after_s=venue.stall_after_s,
        audit_interval_s=venue.audit_interval_s,
    )


def venue_identity(choice: VenueChoice | None, venue: Any) -> VenueIdentity:
    """The venue a data dir is bound to: ``sim`` for the built-in exchange; otherwise the ccxt
    id, the endpoint (the testnet or production, a base URL, or ``loopback`` for the local
    simulator, whose port may change between starts) and the account the keys belong to."""
    from gridmaker.engine.venue_binding import VenueIdentity
    from gridmaker.exchange.api import VenueAccount

    if choice is None:
        return VenueIdentity(exchange="sim", endpoint="built-in")
    if choice.is_local_sim:
        endpoint = "loopback"
    elif choice.base_url is not None:
        endpoint = choice.base_url.strip().rstrip("/").lower()
    else:
        endpoint = "testnet" if choice.sandbox else "production"
    account = str(venue.account_id or "") if isinstance(venue, VenueAccount) else ""
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
    from gridmaker.exchange.ccxt import CcxtExchange, build_ccxt_client
    from gridmaker.exchange.sim.client import HttpSimVenue

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
        # proves the keys and their permissions (a fleet worker: once a minute per key)
        await retrier.read("keys", venue.prove_keys)
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
    trading, and a balance read (the keys work). Raises ``ConfigError`` for our side of it (a
    bad id, missing keys: exit 2) and ``CannotStart`` for the venue's (5); either way nothing
    is left open.
    """
    from gridmaker.config import ConfigError, sim_instrument
    from gridmaker.exchange.api import ExchangeError

    if choice is None:
        return None, [sim_instrument(config, m.symbol) for m in config.markets]
    symbols = [m.symbol for m in config.markets]
    try:
        venue = await open_venue(choice, symbols)
        try:
            return venue, [await venue.fetch_instrument(s) for s in symbols]
        except BaseException:
            await venue.close()
            raise
    except ValueError as e:
        raise ConfigError(str(e)) from None
    except ExchangeError as e:
        raise CannotStart(f"cannot start on {choice.base_url or choice.exchange_id}: {e}") from None


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
        from gridmaker.engine.sessions.market import run_market_session

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
    from gridmaker.engine.sessions.live import run_live_session

    # A SIGKILL is as safe as a stop, only less tidy: the next start syncs.
    await run_live_session(
        orchestrator,
        market,
        list(feeds),
        steps=steps,
        duration_s=duration_s,
        reconcile_every=reconcile_every,
        poll_interval_s=remote.poll_interval_s,
        reconcile_interval_s=remote.audit_interval_s,
        stall_after_s=remote.stall_after_s,
        stop=stop,
    )
