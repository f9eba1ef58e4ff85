"""Configuration: YAML validated by pydantic. Unknown keys are errors; every field says what it is.

The models turn venue words (``Decimal`` prices and sizes, percent strings) into the core's
integer units only in ``book_setup``, once the instrument is known.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from gridmaker.core.grid import GridKind, GridTemplate
from gridmaker.core.ids import is_valid_strategy_id
from gridmaker.core.risk import PPM, OnTrip, RiskParams
from gridmaker.core.strategy import GridMode, StrategyParams
from gridmaker.core.units import Instrument

if TYPE_CHECKING:
    from gridmaker.feeds import RandomWalkFeed

__all__ = [
    "ChaosConfig",
    "Config",
    "ConfigError",
    "FeedConfig",
    "GridConfig",
    "MarketConfig",
    "SimExchangeConfig",
    "book_setup_args",
    "load_config",
]


class ConfigError(Exception):
    """The configuration is invalid; the message names the field and what is allowed."""


def _decimal(value: object) -> object:
    """Numbers come as strings or ints; a float is refused: its value is not what was typed."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        raise ValueError(f"write decimal numbers as quoted strings (e.g. '{value}'), was {value!r}")
    if isinstance(value, str | int):
        try:
            return Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueError(f"not a decimal number, was {value!r}") from None
    return value


Dec = Annotated[Decimal, BeforeValidator(_decimal)]
_PERCENT = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*%\s*$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GridConfig(_Model):
    kind: GridKind = Field(
        GridKind.ARITHMETIC, description="arithmetic (equal steps) or geometric (equal ratio)"
    )
    spacing: str = Field(
        "0.25%",
        description="distance between levels: a percent of the anchor price ('0.1%') or an "
        "absolute price in quote currency ('50')",
    )
    buy_levels: int = Field(20, ge=1, le=10_000, description="levels below the first price")
    sell_levels: int = Field(20, ge=1, le=10_000, description="levels above the first price")
    lower: Dec | None = Field(None, gt=0, description="bounded range: lowest level price")
    upper: Dec | None = Field(None, gt=0, description="bounded range: highest level price")
    trailing: bool = Field(
        False, description="keep buy_levels below and sell_levels above the price as it moves"
    )

    @model_validator(mode="after")
    def _check_range(self) -> GridConfig:
        if (self.lower is None) != (self.upper is None):
            raise ValueError("give both lower and upper for a bounded range, or neither")
        if self.lower is not None and self.upper is not None:
            if self.lower >= self.upper:
                raise ValueError(f"lower must be below upper, was {self.lower} >= {self.upper}")
            if self.trailing:
                raise ValueError("a trailing grid follows the price: it takes no lower/upper")
        self.spacing_value()
        return self

    def spacing_value(self) -> tuple[Decimal | None, int]:
        """(absolute spacing, 0) or (None, relative spacing in ppm)."""
        match = _PERCENT.match(self.spacing)
        if match:
            ppm = Decimal(match.group(1)) * 10_000
            if ppm != ppm.to_integral_value() or not 0 < ppm < 1_000_000:
                raise ValueError(
                    "spacing percent must be in (0%, 100%) with at most 4 decimals, "
                    f"was {self.spacing!r}"
                )
            return None, int(ppm)
        try:
            absolute = Decimal(self.spacing.strip())
        except InvalidOperation:
            raise ValueError(
                f"spacing must be a percent like '0.1%' or a price like '50', was {self.spacing!r}"
            ) from None
        if not absolute > 0:
            raise ValueError(f"spacing must be > 0, was {self.spacing!r}")
        return absolute, 0


def _percent_ppm(text: str, field: str) -> int:
    match = _PERCENT.match(text)
    if not match:
        raise ValueError(f"{field} must be a percent like '5%', was {text!r}")
    ppm = Decimal(match.group(1)) * 10_000
    if ppm != ppm.to_integral_value() or not 0 < ppm <= 1_000_000:
        raise ValueError(f"{field} must be in (0%, 100%] with at most 4 decimals, was {text!r}")
    return int(ppm)


class RiskConfig(_Model):
    """Circuit-breaker triggers; each is off when null. Fast move and drawdown are on by default."""

    fast_move: str | None = Field("5%", description="trip when the price moves this much ...")
    fast_move_window_s: int = Field(300, ge=1, description="... within this many seconds")
    drawdown: str | None = Field("10%", description="trip when equity falls this far from its high")
    crash_volume_multiple: Dec | None = Field(
        None, gt=1, description="crash detector: candle volume above this multiple of its average"
    )
    crash_candle_s: int = Field(60, ge=1, description="crash detector: candle length in seconds")
    crash_ma_candles: int = Field(20, ge=2, description="crash detector: candles in the averages")
    inventory_limit: Dec | None = Field(None, gt=0, description="trip above this base inventory")
    realized_loss_limit: Dec | None = Field(
        None, gt=0, description="trip when realized PnL falls to minus this (quote)"
    )
    divergence_limit: int | None = Field(
        None, ge=0, description="trip when a boot sync finds more zombies/unknown orders"
    )
    stop_loss: Dec | None = Field(None, gt=0, description="halt (cancel everything) at or below")
    stop_loss_sell: str | None = Field(
        None,
        description="on a stop-loss, also sell the inventory, at most this far below the price "
        "('1%'); null: keep it",
    )
    take_profit: Dec | None = Field(None, gt=0, description="close the grid at or above")
    on_trip: OnTrip = Field(
        OnTrip.REDUCE,
        description="reduce: cancel buys, keep take-profit sells; halt: cancel every order",
    )
    cooldown_s: int | None = Field(
        None,
        ge=1,
        description="auto-clear fast-move/crash/drawdown trips after this long, once back in "
        "band; null: only 'gridmaker breaker reset' clears",
    )

    @model_validator(mode="after")
    def _check_percents(self) -> RiskConfig:
        for name in ("fast_move", "drawdown", "stop_loss_sell"):
            value = getattr(self, name)
            if value is not None:
                _percent_ppm(value, name)
        if self.stop_loss and self.take_profit and self.stop_loss >= self.take_profit:
            raise ValueError(
                f"stop_loss must be below take_profit, was {self.stop_loss} >= {self.take_profit}"
            )
        return self

    def params(self, instrument: Instrument) -> RiskParams:
        """The breaker's limits in the instrument's integer units."""

        def ppm(text: str | None, name: str) -> int:
            return 0 if text is None else _percent_ppm(text, name)

        return RiskParams(
            fast_move_ppm=ppm(self.fast_move, "fast_move"),
            fast_move_window_ms=self.fast_move_window_s * 1000,
            crash_volume_multiple_ppm=(
                0 if self.crash_volume_multiple is None else int(self.crash_volume_multiple * PPM)
            ),
            crash_ma_candles=self.crash_ma_candles if self.crash_volume_multiple else 0,
            drawdown_ppm=ppm(self.drawdown, "drawdown"),
            inventory_limit_steps=(
                0 if self.inventory_limit is None else instrument.size_steps(self.inventory_limit)
            ),
            realized_loss_limit_atoms=(
                0
                if self.realized_loss_limit is None
                else instrument.to_atoms(self.realized_loss_limit, "ROUND_CEILING")
            ),
            divergence_limit=self.divergence_limit or 0,
            stop_loss_ticks=0
            if self.stop_loss is None
            else instrument.buy_price_ticks(self.stop_loss),
            stop_loss_sell_ppm=ppm(self.stop_loss_sell, "stop_loss_sell") if self.stop_loss else 0,
            take_profit_ticks=(
                0 if self.take_profit is None else instrument.sell_price_ticks(self.take_profit)
            ),
            on_trip=self.on_trip,
            cooldown_ms=(self.cooldown_s or 0) * 1000,
        )


class MarketConfig(_Model):
    symbol: str = Field("BTC/USDT", pattern=r"^[A-Z0-9]+/[A-Z0-9]+$", description="BASE/QUOTE")
    strategy_id: str | None = Field(
        None,
        description="1-8 of [a-z0-9], the prefix of this grid's client order ids; default: "
        "derived from the symbol",
    )
    mode: GridMode = Field(GridMode.NEUTRAL, description="long (buys only at start) or neutral")
    order_size: Dec = Field(Decimal("0.001"), gt=0, description="base amount of each order")
    grid: GridConfig = Field(default_factory=GridConfig)
    budget_base: Dec | None = Field(None, ge=0, description="cap on the base this grid may use")
    budget_quote: Dec | None = Field(None, ge=0, description="cap on the quote this grid may use")
    risk: RiskConfig = Field(default_factory=RiskConfig)

    @model_validator(mode="after")
    def _check_strategy_id(self) -> MarketConfig:
        if self.strategy_id is not None and not is_valid_strategy_id(self.strategy_id):
            raise ValueError(f"strategy_id must match [a-z0-9]{{1,8}}, was {self.strategy_id!r}")
        return self

    def effective_strategy_id(self) -> str:
        return self.strategy_id or re.sub(r"[^a-z0-9]", "", self.symbol.lower())[:8]


class InstrumentConfig(_Model):
    tick_size: Dec = Field(Decimal("0.01"), gt=0, description="price increment")
    step_size: Dec = Field(Decimal("0.00001"), gt=0, description="size increment")
    min_qty: Dec = Field(Decimal("0.00001"), ge=0, description="smallest order size")
    min_notional: Dec = Field(Decimal("5"), ge=0, description="smallest price × size")
    maker_fee: Dec = Field(Decimal("0.001"), ge=0, lt=1, description="fee rate on resting orders")
    taker_fee: Dec = Field(Decimal("0.001"), ge=0, lt=1, description="fee rate on crossing orders")


class SimExchangeConfig(_Model):
    balances: dict[str, Dec] = Field(
        default_factory=lambda: {"BTC": Decimal("1"), "USDT": Decimal("100000")},
        description="starting balances of a new simulated account",
    )
    partial_fills: bool = Field(False, description="limit each fill to the printed trade's size")
    instruments: dict[str, InstrumentConfig] = Field(
        default_factory=lambda: {"BTC/USDT": InstrumentConfig()},
        description="trading rules per symbol, as a venue would list them",
    )


class FeedConfig(_Model):
    kind: Literal["random-walk", "file"] = Field(
        "random-walk", description="where trades come from"
    )
    path: Path | None = Field(None, description="kind=file: CSV or JSON trades (optionally .gz)")
    seed: int = Field(1, description="random-walk seed: the same seed prints the same market")
    start_price: Dec = Field(Decimal("50000"), gt=0, description="random-walk first price")
    volatility: Dec = Field(Decimal("0.0004"), ge=0, description="random-walk stdev per trade")
    drift: Dec = Field(Decimal(0), description="random-walk drift per trade")
    reversion: Dec = Field(
        Decimal("0.002"), ge=0, lt=1, description="pull back toward the start price per trade"
    )

    def random_walk(self, instrument: Instrument) -> RandomWalkFeed:
        """The configured walk on ``instrument``'s tick and step (the same one ``run`` prints)."""
        from gridmaker.feeds import RandomWalkFeed

        return RandomWalkFeed(
            seed=self.seed,
            start_price=self.start_price,
            tick_size=instrument.tick_size,
            step_size=instrument.step_size,
            volatility=self.volatility,
            drift=self.drift,
            reversion=self.reversion,
        )

    @model_validator(mode="after")
    def _check_path(self) -> FeedConfig:
        if self.kind == "file" and self.path is None:
            raise ValueError("feed kind 'file' needs a path")
        return self


class ChaosConfig(_Model):
    """Fault injection between the bot and the exchange, for testing recovery (never for real)."""

    rate: float = Field(0.0, ge=0, le=1, description="probability that a venue call is faulted")
    every: int = Field(0, ge=0, description="instead of rate: fault every N-th call")
    kinds: list[str] = Field(
        default_factory=lambda: [
            "rate_limited",
            "unavailable",
            "timeout_before",
            "timeout_after",
            "delay",
            "malformed",
            "invisible",
        ],
        min_length=1,
        description="fault kinds to draw from (see exchange/faults.py); 'banned' stops trading",
    )
    seed: int = Field(0, description="the same seed injects the same faults")

    @model_validator(mode="after")
    def _check_kinds(self) -> ChaosConfig:
        from gridmaker.exchange.faults import FaultKind

        allowed = {k.value for k in FaultKind}
        unknown = [k for k in self.kinds if k not in allowed]
        if unknown:
            raise ValueError(f"unknown fault kinds {unknown}; allowed: {sorted(allowed)}")
        return self


class VenueConfig(_Model):
    """How to reach a real venue (``exchange`` is a ccxt id); keys never live here."""

    base_url: str | None = Field(
        None,
        pattern=r"^https?://[^\s/]+(/\S*)?$",
        description="the venue's REST URL instead of its own, e.g. a gridmaker sim-exchange",
    )
    sandbox: bool = Field(False, description="trade on the venue's testnet")
    streams: bool = Field(
        True, description="websockets (ccxt.pro) for prices and order updates; false: REST polls"
    )
    poll_interval_s: float = Field(
        2.0, gt=0, le=3600, description="seconds between REST price polls while no stream works"
    )


def _is_ccxt_id(exchange: str) -> bool:
    import ccxt  # type: ignore[import-untyped]  # slow to import: only for a real venue

    return exchange in ccxt.exchanges


class Config(_Model):
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
        default_factory=lambda: [MarketConfig()], min_length=1, description="one grid per symbol"
    )
    feed: FeedConfig = Field(default_factory=FeedConfig)
    reconcile_every: int = Field(
        1000, ge=1, description="trades between periodic fill polls and UNKNOWN lookups"
    )
    chaos: ChaosConfig | None = Field(None, description="inject exchange faults (testing only)")

    @model_validator(mode="after")
    def _check_markets(self) -> Config:
        symbols = [m.symbol for m in self.markets]
        if len(set(symbols)) != len(symbols):
            raise ValueError(f"each symbol may appear once in markets, was {symbols}")
        ids = [m.effective_strategy_id() for m in self.markets]
        if len(set(ids)) != len(ids):
            raise ValueError(f"strategy ids must differ between markets, were {ids}")
        if self.exchange == "sim":
            missing = [s for s in symbols if s not in self.sim.instruments]
            if missing:
                raise ValueError(f"sim.instruments has no rules for {missing}")
            if self.venue is not None:
                raise ValueError(
                    "venue (--base-url, --sandbox) is for a ccxt exchange (--exchange ID, or "
                    "exchange: in the config); the built-in one is configured under sim"
                )
        elif not _is_ccxt_id(self.exchange):
            raise ValueError(f"exchange {self.exchange!r} is neither 'sim' nor a ccxt exchange id")
        return self


def _format_error(error: ValidationError, source: str) -> str:
    lines = [f"invalid config in {source}:"]
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "(top level)"
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown key"
        lines.append(f"  {where}: {message}")
    return "\n".join(lines)


def parse_config(raw: Any, source: str = "config") -> Config:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"invalid config in {source}: the top level must be a mapping")
    try:
        return Config.model_validate(raw)
    except ValidationError as e:
        raise ConfigError(_format_error(e, source)) from None


def load_config(path: Path | None, overrides: Mapping[str, Any] | None = None) -> Config:
    """The config in ``path`` (YAML), or the defaults, with ``overrides`` (command-line
    options: a top-level key, or a section's keys merged into that section) applied before
    it is checked; raises ``ConfigError``."""
    raw = {} if path is None else _read_yaml(path)
    for key, value in (overrides or {}).items():
        section = raw.get(key)
        if isinstance(value, Mapping) and isinstance(section, dict):
            raw[key] = {**section, **value}
        else:
            raw[key] = dict(value) if isinstance(value, Mapping) else value
    source = str(path) if path is not None else "config"
    if overrides and path is not None:
        source += " and options"
    return parse_config(raw, source)


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"cannot read config {path}: {e.strerror}") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ConfigError(f"config {path} is not valid YAML: {e}") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"invalid config in {path}: the top level must be a mapping")
    return raw


def sim_instrument(config: Config, symbol: str) -> Instrument:
    """``symbol``'s rules from ``sim.instruments``; ``ConfigError`` when it has none."""
    rules = config.sim.instruments.get(symbol)
    if rules is None:
        raise ConfigError(f"sim.instruments has no rules for {symbol} (simulation and backtests)")
    base, quote = symbol.split("/")
    return Instrument(
        symbol=symbol,
        base=base,
        quote=quote,
        tick_size=rules.tick_size,
        step_size=rules.step_size,
        min_qty=rules.min_qty,
        min_notional=rules.min_notional,
        maker_fee=rules.maker_fee,
        taker_fee=rules.taker_fee,
    )


def book_setup_args(market: MarketConfig, instrument: Instrument) -> dict[str, Any]:
    """The core's view of one market, in the instrument's integer units; raises ``ConfigError``."""
    where = f"markets[{market.symbol}]"
    try:
        qty_steps = instrument.to_steps(market.order_size)
    except ValueError as e:
        raise ConfigError(f"{where}.order_size: {e}") from None
    grid = market.grid
    absolute, ppm = grid.spacing_value()
    spacing_ticks, ratio = 0, Decimal(0)
    if absolute is not None:
        if grid.kind is GridKind.GEOMETRIC:
            raise ConfigError(f"{where}.grid.spacing: a geometric grid takes a percent spacing")
        spacing_ticks = instrument.to_ticks(absolute, "ROUND_FLOOR")
        if spacing_ticks < 1:
            raise ConfigError(f"{where}.grid.spacing: must be at least one tick, was {absolute}")
    template = GridTemplate(
        kind=grid.kind,
        spacing_ticks=spacing_ticks,
        ratio=ratio,
        spacing_ppm=ppm,
        lower_ticks=None if grid.lower is None else instrument.buy_price_ticks(grid.lower),
        upper_ticks=None if grid.upper is None else instrument.sell_price_ticks(grid.upper),
        buy_levels=grid.buy_levels,
        sell_levels=grid.sell_levels,
        trailing=grid.trailing,
    )
    params = StrategyParams(
        strategy_id=market.effective_strategy_id(),
        mode=market.mode,
        order_qty_steps=qty_steps,
        trailing=grid.trailing,
        buy_levels=grid.buy_levels,
        sell_levels=grid.sell_levels,
    )
    return {
        "symbol": market.symbol,
        "params": params,
        "template": template,
        "budget_base": market.budget_base,
        "budget_quote": market.budget_quote,
        "risk": market.risk.params(instrument),
        "crash_candle_ms": market.risk.crash_candle_s * 1000,
    }
