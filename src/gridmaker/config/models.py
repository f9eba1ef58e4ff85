"""``Config``: the whole file, its sections and the rules between them.

A config is parsed once: after ``Config`` is built, every value is valid, and for the built-in
exchange every conversion the core will make has been tried (``checks.sim_problems``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from gridmaker.config.checks import sim_problems
from gridmaker.config.errors import Problems
from gridmaker.config.operating import AlertsConfig, ApiConfig, WatchdogConfig
from gridmaker.config.sections import (
    ChaosConfig,
    FeedConfig,
    MarketConfig,
    SimExchangeConfig,
    StrictModel,
    VenueConfig,
)

__all__ = ["Config"]

_PG_SCHEMES = ("postgresql://", "postgres://")


def _is_ccxt_id(exchange: str) -> bool:
    import ccxt  # type: ignore[import-untyped]  # slow to import: only for a real venue

    return exchange in ccxt.exchanges


class Config(StrictModel):
    engine: Literal["simple", "durable"] = Field(
        "simple",
        description="simple: asyncio + our SQLite journal; durable: DBOS workflows "
        "(system database in the data dir, or GRIDMAKER_SYSTEM_DB_URL=postgresql://...)",
    )
    exchange: str = Field(
        "sim",
        pattern=r"^[a-z0-9_]+$",
        description="sim: the built-in simulated exchange; or a ccxt exchange id (binance, ...)",
    )
    venue: VenueConfig | None = Field(None, description="a ccxt exchange's connection")
    sim: SimExchangeConfig = Field(default_factory=SimExchangeConfig)
    markets: list[MarketConfig] = Field(
        default_factory=lambda: [MarketConfig()],
        min_length=1,
        max_length=1000,
        description="one grid per symbol",
    )
    feed: FeedConfig = Field(default_factory=FeedConfig)
    reconcile_every: int = Field(
        1000,
        ge=1,
        le=10**9,
        description="trades between periodic fill polls and UNKNOWN lookups",
    )
    chaos: ChaosConfig | None = Field(None, description="inject exchange faults (testing only)")
    api: ApiConfig = Field(default_factory=ApiConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    watchdog: WatchdogConfig = Field(default_factory=WatchdogConfig)
    store: str = Field(
        "sqlite",
        description="where the bot keeps its state: sqlite (the data dir's file) or "
        "postgresql://USER@HOST:PORT/DATABASE?grid=NAME (one database, many grids); "
        "GRIDMAKER_STORE_URL wins over it",
    )

    @field_validator("store")
    @classmethod
    def _check_store(cls, value: str) -> str:
        """The scheme only: the URL is parsed where it is used (``store.url``); a message
        never quotes past the scheme, where a password could sit."""
        if value.strip() in ("", "sqlite", "sqlite:") or value.startswith(_PG_SCHEMES):
            return value
        raise ValueError(
            "must be 'sqlite' or a postgresql:// URL; was a value starting "
            f"{value.partition(':')[0][:20]!r}"
        )

    @model_validator(mode="after")
    def _check_markets(self) -> Config:
        symbols = [m.symbol for m in self.markets]
        if len(set(symbols)) != len(symbols):
            twice = next(s for s in symbols if symbols.count(s) > 1)
            raise ValueError(f"markets: each symbol may appear once; was {twice} twice")
        ids = [m.effective_strategy_id() for m in self.markets]
        if len(set(ids)) != len(ids):
            raise ValueError(
                f"markets: the strategy ids must differ between markets (set strategy_id); were "
                f"{ids}"
            )
        if self.exchange == "sim":
            missing = [s for s in symbols if s not in self.sim.instruments]
            if missing:
                raise ValueError(
                    f"sim.instruments has no rules for {', '.join(missing)}; each market's "
                    "symbol needs them"
                )
            if self.venue is not None:
                raise ValueError(
                    "venue (--base-url, --sandbox) is for a ccxt exchange (--exchange ID, or "
                    "exchange: in the config); the built-in one is configured under sim"
                )
            problems = sim_problems(self.markets, self.sim, self.feed)
            if problems:
                raise Problems(problems)
        elif not _is_ccxt_id(self.exchange):
            raise ValueError(
                f"exchange: {self.exchange!r} is neither 'sim' nor a ccxt exchange id (binance, "
                "kraken, ...)"
            )
        return self
