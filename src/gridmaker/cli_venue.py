"""``gridmaker sim-exchange`` and the wiring of real venues (ccxt) for ``gridmaker run``.

Keys come from the environment only: ``GRIDMAKER_API_KEY`` and ``GRIDMAKER_API_SECRET``. Against
the local simulator (a loopback ``--base-url``) both sides default to the public pair
``SIM_API_KEY``/``SIM_API_SECRET`` when they are unset.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Annotated, Final

import typer

__all__ = ["ENV_KEY", "ENV_SECRET", "SIM_API_KEY", "SIM_API_SECRET", "register"]

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
) -> None:
    """Serve the simulated exchange on 127.0.0.1 in Binance spot REST v3 shapes (for ccxt)."""
    from gridmaker.cli import _fail, _load_config
    from gridmaker.config import sim_instrument
    from gridmaker.exchange.http_sim import (
        DEFAULT_CHAOS,
        BinanceSimServer,
        ChaosKind,
        ChaosPlan,
        serve,
    )
    from gridmaker.exchange.sim import SimExchange

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
    symbols = sorted(config.sim.instruments)
    sim = SimExchange(
        instruments=[sim_instrument(config, s) for s in symbols],
        initial_balances=config.sim.balances,
        path=state,
        partial_fills=config.sim.partial_fills,
        seed=seed,
    )
    server = BinanceSimServer(
        sim,
        symbols=symbols,
        api_key=os.environ.get(ENV_KEY, SIM_API_KEY),
        api_secret=os.environ.get(ENV_SECRET, SIM_API_SECRET),
        chaos=plan,
        weight_limit=weight_limit,
    )

    def ready(bound: int) -> None:
        if plan is not None:
            sys.stderr.write(plan.describe() + "\n")
        sys.stdout.write(f"gridmaker sim-exchange listening on http://127.0.0.1:{bound}\n")
        sys.stdout.flush()

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await serve(server, port=port, stop=stop, on_ready=ready)
        finally:
            sim.close_sync()

    asyncio.run(main())
