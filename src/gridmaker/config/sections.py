"""The sections of a config, one pydantic model each: a market's grid and risk, the built-in
exchange's rules, the feed, the chaos and a real venue's connection.

Unknown keys are errors and every field says what it is; each model checks only its own fields
(the rules between sections are ``Config``'s, in ``models``).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gridmaker.config.errors import ConfigError
from gridmaker.config.values import (
    MAX_INT,
    YEAR_S,
    Dec,
    Text,
    bounded,
    multiple,
    percent,
    percent_ppm,
    plain,
    show,
)
from gridmaker.core.grid import GridKind
from gridmaker.core.ids import is_valid_strategy_id
from gridmaker.core.risk import OnTrip
from gridmaker.core.state import GridMode
from gridmaker.core.units import FEE_SCALE, Instrument

if TYPE_CHECKING:
    from gridmaker.feeds import RandomWalkFeed

__all__ = [
    "ChaosConfig",
    "FeedConfig",
    "GridConfig",
    "InstrumentConfig",
    "MarketConfig",
    "RiskConfig",
    "SimExchangeConfig",
    "StrictModel",
    "VenueConfig",
]


class StrictModel(BaseModel):
    """Every config model: an unknown key is an error (a typo is never silently a default), and
    a parsed config never changes."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class GridConfig(StrictModel):
    kind: GridKind = Field(
        GridKind.ARITHMETIC, description="arithmetic (equal steps) or geometric (equal ratio)"
    )
    spacing: Text = Field(
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

    @field_validator("spacing")
    @classmethod
    def _check_spacing(cls, value: str) -> str:
        _spacing(value)
        return value

    @model_validator(mode="after")
    def _check_range(self) -> GridConfig:
        if (self.lower is None) != (self.upper is None):
            raise ValueError("give both lower and upper for a bounded range, or neither")
        if self.lower is not None and self.upper is not None:
            if self.lower >= self.upper:
                raise ValueError(
                    f"lower must be below upper; was {plain(self.lower)} >= {plain(self.upper)}"
                )
            if self.trailing:
                raise ValueError("a trailing grid follows the price: it takes no lower/upper")
        return self

    def spacing_value(self) -> tuple[Decimal | None, int]:
        """(absolute spacing, 0) or (None, relative spacing in ppm)."""
        return _spacing(self.spacing)


def _spacing(text: str) -> tuple[Decimal | None, int]:
    """(absolute spacing, 0) or (None, ppm); ``ValueError`` saying what is allowed."""
    ppm = percent(text, top_included=False)
    if ppm is not None:
        return None, ppm
    refusal = f"must be a percent like '0.25%' or a price > 0 like '50'; was {text!r}"
    try:
        absolute = Decimal(text.strip())
    except InvalidOperation:
        raise ValueError(refusal) from None
    if not absolute.is_finite() or not absolute > 0:
        raise ValueError(refusal)
    return bounded(absolute, text), 0


class RiskConfig(StrictModel):
    """Circuit-breaker triggers; each is off when null. Fast move and drawdown are on by default."""

    fast_move: Text | None = Field("5%", description="trip when the price moves this much ...")
    fast_move_window_s: int = Field(
        300, ge=1, le=YEAR_S, description="... within this many seconds"
    )
    drawdown: Text | None = Field(
        "10%", description="trip when equity falls this far from its high"
    )
    crash_volume_multiple: Dec | None = Field(
        None, gt=1, description="crash detector: candle volume above this multiple of its average"
    )
    crash_candle_s: int = Field(
        60, ge=1, le=YEAR_S, description="crash detector: candle length in seconds"
    )
    crash_ma_candles: int = Field(
        20, ge=2, le=10_000, description="crash detector: candles in the averages"
    )
    inventory_limit: Dec | None = Field(None, gt=0, description="trip above this base inventory")
    realized_loss_limit: Dec | None = Field(
        None, gt=0, description="trip when realized PnL falls to minus this (quote)"
    )
    divergence_limit: int | None = Field(
        None,
        ge=0,
        le=1_000_000,
        description="trip when a boot sync finds more zombies/unknown orders",
    )
    stop_loss: Dec | None = Field(None, gt=0, description="halt (cancel everything) at or below")
    stop_loss_sell: Text | None = Field(
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
        le=YEAR_S,
        description="auto-clear fast-move/crash/drawdown trips after this long, once back in "
        "band; null: only 'gridmaker breaker reset' clears",
    )

    @field_validator("fast_move", "drawdown", "stop_loss_sell")
    @classmethod
    def _check_percent(cls, value: str | None) -> str | None:
        if value is not None:
            percent_ppm(value)
        return value

    @field_validator("crash_volume_multiple")
    @classmethod
    def _check_multiple(cls, value: Decimal | None) -> Decimal | None:
        if value is not None and not multiple(value, Decimal("0.000001")):
            raise ValueError(f"must have at most 6 decimals; was {plain(value)}")
        return value

    @model_validator(mode="after")
    def _check_levels(self) -> RiskConfig:
        if self.stop_loss and self.take_profit and self.stop_loss >= self.take_profit:
            raise ValueError(
                f"stop_loss must be below take_profit; was {plain(self.stop_loss)} >= "
                f"{plain(self.take_profit)}"
            )
        return self


class MarketConfig(StrictModel):
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
    trigger_price: Dec | None = Field(
        None,
        gt=0,
        description="place nothing until the price crosses this (the grid is built around it); "
        "null: start at the first price",
    )
    compound: bool = Field(
        False, description="realized profit grows the order sizes, within the free quote"
    )

    @field_validator("strategy_id")
    @classmethod
    def _check_strategy_id(cls, value: str | None) -> str | None:
        if value is not None and not is_valid_strategy_id(value):
            raise ValueError(f"must be 1 to 8 of [a-z0-9]; was {show(value)}")
        return value

    @model_validator(mode="after")
    def _check_trigger(self) -> MarketConfig:
        lower, upper, trigger = self.grid.lower, self.grid.upper, self.trigger_price
        if trigger is None or lower is None or upper is None:
            return self
        if not lower <= trigger <= upper:
            raise ValueError(
                f"trigger_price must be within the grid's range grid.lower .. grid.upper "
                f"({plain(lower)} .. {plain(upper)}); was {plain(trigger)}"
            )
        return self

    def effective_strategy_id(self) -> str:
        return self.strategy_id or re.sub(r"[^a-z0-9]", "", self.symbol.lower())[:8]


class InstrumentConfig(StrictModel):
    tick_size: Dec = Field(Decimal("0.01"), gt=0, description="price increment")
    step_size: Dec = Field(Decimal("0.00001"), gt=0, description="size increment")
    min_qty: Dec = Field(Decimal("0.00001"), ge=0, description="smallest order size")
    min_notional: Dec = Field(Decimal("5"), ge=0, description="smallest price × size")
    maker_fee: Dec = Field(Decimal("0.001"), ge=0, lt=1, description="fee rate on resting orders")
    taker_fee: Dec = Field(Decimal("0.001"), ge=0, lt=1, description="fee rate on crossing orders")

    @field_validator("maker_fee", "taker_fee")
    @classmethod
    def _check_fee(cls, value: Decimal) -> Decimal:
        if not multiple(value, Decimal(1) / FEE_SCALE):
            raise ValueError(
                f"must have at most 6 decimals (parts per million); was {plain(value)}"
            )
        return value


class SimExchangeConfig(StrictModel):
    balances: dict[str, Annotated[Dec, Field(ge=0)]] = Field(
        default_factory=lambda: {"BTC": Decimal("1"), "USDT": Decimal("100000")},
        description="starting balances of a new simulated account",
    )
    partial_fills: bool = Field(False, description="limit each fill to the printed trade's size")
    instruments: dict[str, InstrumentConfig] = Field(
        default_factory=lambda: {"BTC/USDT": InstrumentConfig()},
        description="trading rules per symbol, as a venue would list them",
    )

    def instrument(self, symbol: str) -> Instrument:
        """``symbol``'s rules from ``instruments``; ``ConfigError`` when it has none."""
        rules = self.instruments.get(symbol)
        if rules is None:
            raise ConfigError(
                f"sim.instruments has no rules for {symbol} (simulation and backtests)"
            )
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


class FeedConfig(StrictModel):
    kind: Literal["random-walk", "file"] = Field(
        "random-walk", description="where trades come from"
    )
    path: Path | None = Field(None, description="kind=file: CSV or JSON trades (optionally .gz)")
    seed: int = Field(
        1,
        ge=0,
        le=MAX_INT,
        description="random-walk seed (>= 0): the same seed prints the same market",
    )
    start_price: Dec = Field(Decimal("50000"), gt=0, description="random-walk first price")
    volatility: Dec = Field(
        Decimal("0.0004"), ge=0, le=1, description="random-walk stdev per trade"
    )
    drift: Dec = Field(Decimal(0), ge=-1, le=1, description="random-walk drift per trade")
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


class ChaosConfig(StrictModel):
    """Fault injection between the bot and the exchange, for testing recovery (never for real)."""

    rate: float = Field(0.0, ge=0, le=1, description="probability that a venue call is faulted")
    every: int = Field(0, ge=0, le=MAX_INT, description="instead of rate: fault every N-th call")
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
    seed: int = Field(0, ge=0, le=MAX_INT, description="the same seed injects the same faults")

    @field_validator("kinds")
    @classmethod
    def _check_kinds(cls, kinds: list[str]) -> list[str]:
        from gridmaker.exchange.faults import FaultKind

        allowed = {k.value for k in FaultKind if k.in_process}
        unknown = [k for k in kinds if k not in allowed]
        if unknown:
            raise ValueError(
                f"must be fault kinds from {', '.join(sorted(allowed))}; was {show(unknown[0])}"
            )
        return kinds


class VenueConfig(StrictModel):
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
    stall_after_s: float = Field(
        30.0,
        gt=0,
        le=3600,
        description="seconds an open ticker stream may go without a price before it counts as "
        "stalled and prices are polled until it speaks again (a live venue's ticker publishes "
        "every second)",
    )
    audit_interval_s: float = Field(
        15.0,
        gt=0,
        le=3600,
        description="seconds between audits: the venue's open orders against the book's, fills "
        "and UNKNOWN orders read over REST however quiet the market and its streams",
    )
