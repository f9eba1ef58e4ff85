"""Configuration: YAML validated by pydantic. Unknown keys are errors; every field says what it is.

Every mistake is a ``ConfigError`` naming the field (``markets[0].grid.spacing``), the value and
what is allowed, decided here before anything starts: numbers are finite, bounded decimals; the
YAML is UTF-8 and holds each key once; and for the built-in exchange, whose rules are in the
config, every conversion the core will make (prices to ticks, sizes to steps, quote amounts to
atoms, the grid's levels) is tried at load time, so the core's own errors stay programming errors.
A real venue's rules are known only at boot: ``book_setup_args`` runs the same checks then.
"""

from __future__ import annotations

import decimal
import difflib
import math
import re
import types
import typing
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from gridmaker.core.errors import InvalidGrid
from gridmaker.core.grid import GridKind, GridSpec, GridTemplate
from gridmaker.core.ids import is_valid_strategy_id
from gridmaker.core.risk import PPM, OnTrip, RiskParams
from gridmaker.core.state import GridMode, StrategyParams
from gridmaker.core.units import FEE_SCALE, MAX_STORED, Instrument

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
    "market_problems",
]

MAX_WHOLE_DIGITS: Final = 15
"""Every decimal in the config is below 10**15: far above any real price, size or balance, and
small enough that no arithmetic on it overflows."""
MAX_DECIMALS: Final = 18
"""... and has at most 18 decimal places (the finest tick or step any venue lists)."""
MAX_SHOWN: Final = 10
"""Problems listed in one error; the rest are counted (junk must not flood the terminal)."""
MAX_LINE: Final = 600
MAX_INT: Final = 2**63 - 1
_YEAR_S: Final = 366 * 24 * 3600
_SECRET: Final = re.compile(r"api.?key|secret|password|passphrase|private.?key|token", re.I)
_KEYS_HINT: Final = (
    "API keys and secrets never go in the config (the value is not shown): set "
    "GRIDMAKER_API_KEY and GRIDMAKER_API_SECRET in the environment instead (e.g. exported from a "
    "file only you can read)"
)


class ConfigError(Exception):
    """The configuration is invalid; the message names the field and what is allowed."""


class _Problems(ConfigError):
    """Several problems found after the fields were valid (the config's rules do not agree)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


# --- showing values ----------------------------------------------------------------------------


def plain(value: Decimal) -> str:
    """A decimal as a person writes it: ``0.0001``, ``100`` (never ``1E-4`` or ``1E+2``)."""
    if not value.is_finite():
        return str(value)
    if value.is_zero():
        return "0"
    if abs(value.adjusted()) > 60:  # only an out-of-bounds value the user typed gets here
        return str(value)
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _show(value: object) -> str:
    """``value`` as the user wrote it, short: for the ``; was X`` end of a message."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, Decimal):
        text = plain(value)
    elif isinstance(value, float):
        text = _float_text(value)
    elif isinstance(value, int):
        if value.bit_length() > 200:
            return f"a number of about {int(value.bit_length() * math.log10(2)) + 1} digits"
        text = str(value)
    elif isinstance(value, str):
        text = repr(value)
    elif value is None:
        text = "null"
    elif isinstance(value, Mapping):
        text = "a mapping"
    elif isinstance(value, list | tuple):
        text = "a list"
    else:
        text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _float_text(value: float) -> str:
    if not math.isfinite(value):
        return str(value)
    return plain(Decimal(repr(value)))


# --- numbers -----------------------------------------------------------------------------------


def _bounded(number: Decimal, typed: object) -> Decimal:
    """``number`` if finite, below 10**15 and with at most 18 decimals; else ``ValueError``."""
    if number.is_finite() and abs(number.adjusted()) <= 60:
        typed = number  # shown plain, whatever form it was typed in
    if not number.is_finite():
        raise ValueError(f"must be a finite decimal number; was {_show(typed)}")
    if number.is_zero():
        return number
    if number.adjusted() >= MAX_WHOLE_DIGITS:
        raise ValueError(f"must be below {10**MAX_WHOLE_DIGITS}; was {_show(typed)}")
    _, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)
    trailing = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    if exponent + trailing < -MAX_DECIMALS:
        raise ValueError(f"must have at most {MAX_DECIMALS} decimal places; was {_show(typed)}")
    return number


def _decimal(value: object) -> object:
    """Numbers come as strings or ints; a float is refused: its value is not what was typed."""
    if isinstance(value, bool):
        raise ValueError(f"must be a decimal number; was {_show(value)}")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"must be a finite decimal number; was {_show(value)}")
        text = _float_text(value)
        raise ValueError(
            f"write decimal numbers as quoted text, e.g. '{text}' (a YAML float is not exact); "
            f"was {text}"
        )
    if isinstance(value, int):
        return _bounded(Decimal(value), value)
    if isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"must be a decimal number like '0.001'; was {_show(value)}") from None
        return _bounded(number, value)
    if isinstance(value, Decimal):
        return _bounded(value, value)
    return value


Dec = Annotated[Decimal, BeforeValidator(_decimal)]
_PERCENT = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*%\s*$")
_WIDE: Final = decimal.Context(prec=100, traps=[decimal.Inexact, decimal.InvalidOperation])


def _percent(text: str, *, top_included: bool) -> int | None:
    """``text`` as parts per million when it is a percent with at most 4 decimals inside (0, 100%)
    (or (0, 100%]); None when it is not a percent at all; ``ValueError`` when out of range."""
    match = _PERCENT.match(text)
    if not match:
        return None
    number = Decimal(match.group(1))
    top = "100%]" if top_included else "100%)"
    refusal = f"must be a percent in (0%, {top} with at most 4 decimals, like '0.25%'; was {text!r}"
    if number.adjusted() > 3:
        raise ValueError(refusal)
    try:
        ppm = _WIDE.multiply(number, 10_000)
    except decimal.Inexact:
        raise ValueError(refusal) from None
    if ppm != ppm.to_integral_value() or not 0 < ppm <= 1_000_000:
        raise ValueError(refusal)
    if ppm == 1_000_000 and not top_included:
        raise ValueError(refusal)
    return int(ppm)


def _percent_ppm(text: str) -> int:
    ppm = _percent(text, top_included=True)
    if ppm is None:
        raise ValueError(f"must be a percent like '5%'; was {text!r}")
    return ppm


def _text(value: object) -> object:
    """A setting written as text; a number typed bare is taken as its text (a float refused)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        _decimal(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and len(value) > 100:
        raise ValueError(f"must be at most 100 characters; was {_show(value)}")
    return value


Text = Annotated[str, BeforeValidator(_text)]


def _multiple(value: Decimal, unit: Decimal) -> bool:
    """True when ``value`` is a whole number of ``unit`` (False when too many to count)."""
    try:
        return _WIDE.remainder(value, unit).is_zero()
    except decimal.DecimalException:
        return False


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GridConfig(_Model):
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
    ppm = _percent(text, top_included=False)
    if ppm is not None:
        return None, ppm
    refusal = f"must be a percent like '0.25%' or a price > 0 like '50'; was {text!r}"
    try:
        absolute = Decimal(text.strip())
    except InvalidOperation:
        raise ValueError(refusal) from None
    if not absolute.is_finite() or not absolute > 0:
        raise ValueError(refusal)
    return _bounded(absolute, text), 0


class RiskConfig(_Model):
    """Circuit-breaker triggers; each is off when null. Fast move and drawdown are on by default."""

    fast_move: Text | None = Field("5%", description="trip when the price moves this much ...")
    fast_move_window_s: int = Field(
        300, ge=1, le=_YEAR_S, description="... within this many seconds"
    )
    drawdown: Text | None = Field(
        "10%", description="trip when equity falls this far from its high"
    )
    crash_volume_multiple: Dec | None = Field(
        None, gt=1, description="crash detector: candle volume above this multiple of its average"
    )
    crash_candle_s: int = Field(
        60, ge=1, le=_YEAR_S, description="crash detector: candle length in seconds"
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
        le=_YEAR_S,
        description="auto-clear fast-move/crash/drawdown trips after this long, once back in "
        "band; null: only 'gridmaker breaker reset' clears",
    )

    @field_validator("fast_move", "drawdown", "stop_loss_sell")
    @classmethod
    def _check_percent(cls, value: str | None) -> str | None:
        if value is not None:
            _percent_ppm(value)
        return value

    @field_validator("crash_volume_multiple")
    @classmethod
    def _check_multiple(cls, value: Decimal | None) -> Decimal | None:
        if value is not None and not _multiple(value, Decimal("0.000001")):
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

    def params(self, instrument: Instrument) -> RiskParams:
        """The breaker's limits in the instrument's integer units (``market_problems`` checked)."""

        def ppm(text: str | None) -> int:
            return 0 if text is None else _percent_ppm(text)

        return RiskParams(
            fast_move_ppm=ppm(self.fast_move),
            fast_move_window_ms=self.fast_move_window_s * 1000,
            crash_volume_multiple_ppm=(
                0 if self.crash_volume_multiple is None else int(self.crash_volume_multiple * PPM)
            ),
            crash_ma_candles=self.crash_ma_candles if self.crash_volume_multiple else 0,
            drawdown_ppm=ppm(self.drawdown),
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
            stop_loss_sell_ppm=ppm(self.stop_loss_sell) if self.stop_loss else 0,
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

    @field_validator("strategy_id")
    @classmethod
    def _check_strategy_id(cls, value: str | None) -> str | None:
        if value is not None and not is_valid_strategy_id(value):
            raise ValueError(f"must be 1 to 8 of [a-z0-9]; was {_show(value)}")
        return value

    def effective_strategy_id(self) -> str:
        return self.strategy_id or re.sub(r"[^a-z0-9]", "", self.symbol.lower())[:8]


class InstrumentConfig(_Model):
    tick_size: Dec = Field(Decimal("0.01"), gt=0, description="price increment")
    step_size: Dec = Field(Decimal("0.00001"), gt=0, description="size increment")
    min_qty: Dec = Field(Decimal("0.00001"), ge=0, description="smallest order size")
    min_notional: Dec = Field(Decimal("5"), ge=0, description="smallest price × size")
    maker_fee: Dec = Field(Decimal("0.001"), ge=0, lt=1, description="fee rate on resting orders")
    taker_fee: Dec = Field(Decimal("0.001"), ge=0, lt=1, description="fee rate on crossing orders")

    @field_validator("maker_fee", "taker_fee")
    @classmethod
    def _check_fee(cls, value: Decimal) -> Decimal:
        if not _multiple(value, Decimal(1) / FEE_SCALE):
            raise ValueError(
                f"must have at most 6 decimals (parts per million); was {plain(value)}"
            )
        return value


class SimExchangeConfig(_Model):
    balances: dict[str, Annotated[Dec, Field(ge=0)]] = Field(
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


class ChaosConfig(_Model):
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

        allowed = {k.value for k in FaultKind}
        unknown = [k for k in kinds if k not in allowed]
        if unknown:
            raise ValueError(
                f"must be fault kinds from {', '.join(sorted(allowed))}; was {_show(unknown[0])}"
            )
        return kinds


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
            problems = _sim_problems(self)
            if problems:
                raise _Problems(problems)
        elif not _is_ccxt_id(self.exchange):
            raise ValueError(
                f"exchange: {self.exchange!r} is neither 'sim' nor a ccxt exchange id (binance, "
                "kraken, ...)"
            )
        return self


# --- the config in the core's integer units ----------------------------------------------------


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


def _sim_problems(config: Config) -> list[str]:
    """Every conversion the built-in exchange's run will make, tried now (its rules are here)."""
    problems: list[str] = []
    walk = config.feed.kind == "random-walk"
    for index, market in enumerate(config.markets):
        inst = sim_instrument(config, market.symbol)
        rules = f"sim.instruments.{market.symbol}"
        start: int | None = None
        if walk:
            price = config.feed.start_price
            if not _multiple(price, inst.tick_size):
                problems.append(
                    f"feed.start_price: must be a multiple of {rules}.tick_size "
                    f"{plain(inst.tick_size)}; was {plain(price)}"
                )
            else:
                start = inst.to_ticks(price)
                try:
                    config.feed.random_walk(inst)
                except (TypeError, ValueError) as e:
                    problems.append(f"feed: the random walk on {rules} cannot run: {e}")
        problems += market_problems(market, inst, f"markets[{index}]", rules, start)
        quote = config.sim.balances.get(inst.quote)
        if quote is not None and not _multiple(quote, inst.atom):
            problems.append(
                f"sim.balances.{inst.quote}: must be a multiple of {plain(inst.atom)} (the "
                f"smallest amount {rules} counts: tick_size × step_size / {FEE_SCALE}); "
                f"was {plain(quote)}"
            )
    return list(dict.fromkeys(problems))


def market_problems(
    market: MarketConfig,
    inst: Instrument,
    where: str,
    rules: str,
    start_ticks: int | None = None,
) -> list[str]:
    """Why ``market`` cannot become the core's integer grid on ``inst`` ([] = it can).

    ``where`` names the market (``markets[0]``), ``rules`` the instrument's source; with the
    first price known (``start_ticks``) the grid's levels are built and bounded too.
    """
    problems: list[str] = []
    tick, step = plain(inst.tick_size), plain(inst.step_size)
    at_least_tick = f"must be at least one tick ({rules}.tick_size {tick})"
    qty_steps: int | None = None
    if not _multiple(market.order_size, inst.step_size):
        problems.append(
            f"{where}.order_size: must be a multiple of {rules}.step_size {step}; "
            f"was {plain(market.order_size)}"
        )
    else:
        qty_steps = inst.to_steps(market.order_size)
    grid = market.grid
    absolute, ppm = grid.spacing_value()
    spacing_ticks = 0
    if absolute is not None:
        if grid.kind is GridKind.GEOMETRIC:
            problems.append(
                f"{where}.grid.spacing: a geometric grid takes a percent like '0.5%'; "
                f"was {grid.spacing!r}"
            )
        else:
            spacing_ticks = inst.to_ticks(absolute, "ROUND_FLOOR")
            if spacing_ticks < 1:
                problems.append(f"{where}.grid.spacing: {at_least_tick}; was {plain(absolute)}")
    lower = None if grid.lower is None else inst.buy_price_ticks(grid.lower)
    upper = None if grid.upper is None else inst.sell_price_ticks(grid.upper)
    problems += _price_problems(market, inst, where, rules)
    if qty_steps is not None and qty_steps > MAX_STORED:
        problems.append(
            _too_fine(
                f"{where}.order_size", market.order_size, qty_steps, "steps", rules, "step_size"
            )
        )
    if problems or qty_steps is None:
        return problems
    template = GridTemplate(
        kind=grid.kind,
        spacing_ticks=spacing_ticks,
        spacing_ppm=ppm,
        lower_ticks=lower,
        upper_ticks=upper,
        buy_levels=grid.buy_levels,
        sell_levels=grid.sell_levels,
        trailing=grid.trailing,
    )
    anchor = lower if lower is not None else start_ticks
    if anchor is None:
        return problems  # the first price is the venue's: the pre-flight checks at boot
    return _grid_problems(market, inst, where, rules, template, anchor, qty_steps)


def _price_problems(market: MarketConfig, inst: Instrument, where: str, rules: str) -> list[str]:
    """Each configured price as at least one tick within the store's integers; the inventory
    limit at least one step; the quote budget in whole atoms."""
    grid, risk = market.grid, market.risk
    prices = {
        f"{where}.grid.lower": (grid.lower, inst.buy_price_ticks),
        f"{where}.grid.upper": (grid.upper, inst.sell_price_ticks),
        f"{where}.risk.stop_loss": (risk.stop_loss, inst.buy_price_ticks),
        f"{where}.risk.take_profit": (risk.take_profit, inst.sell_price_ticks),
    }
    problems: list[str] = []
    for name, (price, convert) in prices.items():
        if price is None:
            continue
        ticks = convert(price)
        if ticks < 1:
            problems.append(
                f"{name}: must be at least one tick ({rules}.tick_size "
                f"{plain(inst.tick_size)}); was {plain(price)}"
            )
        elif ticks > MAX_STORED:
            problems.append(_too_fine(name, price, ticks, "ticks", rules, "tick_size"))
    if risk.inventory_limit is not None and inst.size_steps(risk.inventory_limit) < 1:
        problems.append(
            f"{where}.risk.inventory_limit: must be at least one step ({rules}.step_size "
            f"{plain(inst.step_size)}); was {plain(risk.inventory_limit)}"
        )
    if market.budget_quote is not None and not _multiple(market.budget_quote, inst.atom):
        problems.append(
            f"{where}.budget_quote: must be a multiple of {plain(inst.atom)} (the smallest "
            f"amount {rules} counts: tick_size × step_size / {FEE_SCALE}); "
            f"was {plain(market.budget_quote)}"
        )
    return problems


def _too_fine(name: str, value: Decimal, units: int, unit: str, rules: str, size: str) -> str:
    return (
        f"{name}: {plain(value)} is {units} {unit} of {rules}.{size}, more than the book's "
        f"64-bit integers hold ({MAX_STORED}); use a coarser {size} or a smaller value"
    )


def _grid_problems(
    market: MarketConfig,
    inst: Instrument,
    where: str,
    rules: str,
    template: GridTemplate,
    anchor: int,
    qty_steps: int,
) -> list[str]:
    """The grid built at its first price ``anchor``: every level > 0 and within the store."""
    grid = market.grid
    bounded = grid.lower is not None
    price = plain(inst.from_ticks(anchor))
    fee_ppm = max(inst.maker_fee_ppm, inst.taker_fee_ppm, 1)
    max_ticks = min(MAX_STORED, MAX_STORED // (qty_steps * fee_ppm))
    spec: GridSpec | None = None
    try:
        spec = template.build(anchor)
        if spec.min_level is None or spec.max_level is None:  # trailing: its first window
            spec = GridSpec(
                kind=spec.kind,
                anchor_ticks=spec.anchor_ticks,
                spacing_ticks=spec.spacing_ticks,
                ratio=spec.ratio,
                min_level=-grid.buy_levels,
                max_level=grid.sell_levels,
            )
    except InvalidGrid as e:
        if bounded:
            return [
                f"{where}.grid: the range {plain(grid.lower or Decimal(0))} .. "
                f"{plain(grid.upper or Decimal(0))} does not hold a grid at spacing "
                f"{grid.spacing!r} on {rules}.tick_size {plain(inst.tick_size)} ({e}); widen the "
                "range or change the spacing"
            ]
        fit, _ = template.levels_that_fit(
            anchor, below=grid.buy_levels, above=grid.sell_levels, max_ticks=max_ticks
        )
        return [
            f"{where}.grid.buy_levels: {grid.buy_levels} {grid.kind.value} levels "
            f"{grid.spacing!r} apart below the first price {price} reach price 0 or fall on "
            f"one tick; the lowest level must stay above zero: at most {fit} fit; "
            f"was {grid.buy_levels}"
        ]
    assert spec.max_level is not None
    if anchor > max_ticks:
        return [
            f"{where}: an order of {plain(market.order_size)} at the first price {price} is "
            f"more than the book's 64-bit integers hold ({MAX_STORED} ticks, steps or fee atoms "
            f"at {rules}.tick_size {plain(inst.tick_size)} and step_size "
            f"{plain(inst.step_size)}); use a coarser tick_size or step_size"
        ]
    top = spec.price_ticks(spec.max_level)
    if top <= max_ticks:
        return []
    if bounded:
        return [
            f"{where}.grid.upper: an order of {plain(market.order_size)} at "
            f"{plain(inst.from_ticks(top))} is more than the book's 64-bit integers hold "
            f"({MAX_STORED} ticks, steps or fee atoms at {rules}'s tick_size "
            f"{plain(inst.tick_size)} and step_size {plain(inst.step_size)}); lower the "
            "range, the order_size or use a coarser tick or step"
        ]
    _, fit = template.levels_that_fit(
        anchor, below=grid.buy_levels, above=grid.sell_levels, max_ticks=max_ticks
    )
    return [
        f"{where}.grid.sell_levels: an order of {plain(market.order_size)} on the highest of "
        f"{grid.sell_levels} levels above the first price {price} is more than the book's "
        f"64-bit integers hold ({MAX_STORED} ticks, steps or fee atoms at {rules}'s tick_size "
        f"{plain(inst.tick_size)} and step_size {plain(inst.step_size)}); at most {fit} "
        f"levels fit; was {grid.sell_levels}"
    ]


def book_setup_args(market: MarketConfig, instrument: Instrument) -> dict[str, Any]:
    """The core's view of one market, in the instrument's integer units; raises ``ConfigError``.

    For the built-in exchange these checks already ran when the config was loaded; for a real
    venue its instrument (from ``fetch_instrument``) is known only now.
    """
    problems = market_problems(
        market, instrument, f"markets ({market.symbol})", f"the venue's {market.symbol}"
    )
    if problems:
        raise ConfigError(
            _problem_text(f"markets ({market.symbol}), against the venue's rules", problems)
        )
    grid = market.grid
    absolute, ppm = grid.spacing_value()
    template = GridTemplate(
        kind=grid.kind,
        spacing_ticks=0 if absolute is None else instrument.to_ticks(absolute, "ROUND_FLOOR"),
        ratio=Decimal(0),
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
        order_qty_steps=instrument.to_steps(market.order_size),
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


# --- reading and reporting ---------------------------------------------------------------------


def _problem_text(source: str, problems: list[str]) -> str:
    """``invalid config in SOURCE:`` and the first ``MAX_SHOWN`` problems, the rest counted."""
    lines = [f"invalid config in {source}:"]
    for problem in problems[:MAX_SHOWN]:
        lines.append("  " + (problem if len(problem) <= MAX_LINE else problem[:MAX_LINE] + "..."))
    if len(problems) > MAX_SHOWN:
        lines.append(f"  ... and {len(problems) - MAX_SHOWN} more problems")
    return "\n".join(lines)


def _where(loc: tuple[int | str, ...]) -> str:
    """``('markets', 0, 'grid', 'spacing')`` → ``markets[0].grid.spacing``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part == "[key]":
            text += " (the key)"
        else:
            text += f".{part}" if text else str(part)
    return text


def _unwrap(annotation: Any) -> Any:
    """The model or container inside ``X | None`` and ``Annotated[X, ...]``."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            inner = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(inner) != 1:
                return annotation
            annotation = inner[0]
        else:
            return annotation


def _keys_at(loc: tuple[int | str, ...]) -> list[str]:
    """The keys a mapping at ``loc`` takes (its model's fields), [] when not a model."""
    annotation: Any = Config
    for part in loc:
        annotation = _unwrap(annotation)
        origin = typing.get_origin(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(part) if isinstance(part, str) else None
            if field is None:
                return []
            annotation = field.annotation
        elif origin is list and isinstance(part, int):
            annotation = typing.get_args(annotation)[0]
        elif origin is dict:
            annotation = typing.get_args(annotation)[1]
        else:
            return []
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return list(annotation.model_fields)
    return []


_SAYS: Final = {
    "missing": "is required",
    "model_type": "must be a mapping (indented key: value lines)",
    "dict_type": "must be a mapping (indented key: value lines)",
    "model_attributes_type": "must be a mapping (indented key: value lines)",
    "list_type": "must be a list (lines starting with '- ')",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "int_parsing_size": "must be a whole number of at most 19 digits",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "string_type": "must be text",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "finite_number": "must be a finite number",
    "decimal_type": "must be a decimal number like '0.001'",
    "decimal_parsing": "must be a decimal number like '0.001'",
    "path_type": "must be a file path",
}


def _says(item: Any) -> str:
    """A pydantic error item as ``must be ...`` (pydantic's own words when we have none)."""
    kind, ctx = item["type"], item.get("ctx") or {}

    def shown(key: str) -> str:
        value = ctx.get(key)
        return plain(value) if isinstance(value, Decimal) else str(value)

    comparisons = {
        "greater_than": ">",
        "greater_than_equal": ">=",
        "less_than": "<",
        "less_than_equal": "<=",
    }
    if kind in comparisons:
        key = {"greater_than": "gt", "greater_than_equal": "ge"}.get(kind)
        key = key or {"less_than": "lt", "less_than_equal": "le"}[kind]
        return f"must be {comparisons[kind]} {shown(key)}"
    if kind in ("enum", "literal_error"):
        return f"must be one of {shown('expected')}"
    if kind == "string_pattern_mismatch":
        return f"must match the pattern {shown('pattern')}"
    if kind == "too_short":
        return f"must have at least {shown('min_length')} item(s)"
    if kind == "too_long":
        return f"must have at most {shown('max_length')} items"
    return _SAYS.get(kind) or str(item["msg"])


def _item_text(item: Any) -> str:
    loc = tuple(item["loc"])
    where = _where(loc)
    secret = any(isinstance(p, str) and _SECRET.search(p) for p in loc)
    if item["type"] == "extra_forbidden":
        if secret:
            message = f"unknown key: {_KEYS_HINT}"
        else:
            keys = _keys_at(loc[:-1])
            close = difflib.get_close_matches(str(loc[-1]), keys, n=1)
            message = "unknown key"
            if close:
                message += f" (did you mean {close[0]!r}?)"
            if keys:
                message += f"; allowed here: {', '.join(keys)}"
    elif item["type"] == "value_error":
        message = str(item["msg"]).removeprefix("Value error, ")
        if secret:
            message = message.split("; was ")[0] + "; was (not shown)"
    else:
        message = _says(item)
        if item["type"] != "missing":
            message += "; was (not shown)" if secret else f"; was {_show(_typed(item))}"
    return f"{where}: {message}" if where else message


def _typed(item: Any) -> object:
    """The input of a failed comparison as the number it was read as (``-5``, not ``'-5'``)."""
    value = item.get("input")
    if isinstance(value, str) and item["type"] in _COMPARED:
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            return value
        return number if number.is_finite() else value
    return value


_COMPARED: Final = ("greater_than", "greater_than_equal", "less_than", "less_than_equal")


def _format_error(error: ValidationError, source: str) -> str:
    items = error.errors(include_url=False)
    shown = [_item_text(item) for item in items[:MAX_SHOWN]]
    return _problem_text(source, shown + ["(not shown)"] * (len(items) - len(shown)))


def parse_config(raw: Any, source: str = "config") -> Config:
    """``raw`` (what a YAML file holds) checked as a ``Config``; raises ``ConfigError``."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(
            f"invalid config in {source}: the top level must be a mapping of settings "
            f"(engine:, markets:, ...); was {_show(raw)}"
        )
    try:
        return Config.model_validate(raw)
    except _Problems as e:
        raise ConfigError(_problem_text(source, e.problems)) from None
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
        elif isinstance(value, Mapping) and section is not None:
            continue  # the file's section is not a mapping: that is the error to report
        else:
            raw[key] = dict(value) if isinstance(value, Mapping) else value
    if path is None:
        source = "the command-line options" if overrides else "the defaults"
    else:
        source = f"{path} and options" if overrides else str(path)
    return parse_config(raw, source)


class _DuplicateKey(Exception):
    def __init__(self, key: object, first: int, second: int) -> None:
        super().__init__(key, first, second)
        self.key, self.first, self.second = key, first, second


class _StrictLoader(yaml.CSafeLoader):
    """PyYAML's safe loader, refusing a key given twice in one mapping (PyYAML keeps the last:
    a run once doubled its order size that way)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # '<<: *defaults' is overridden by the keys beside it, by design
            key: Any = (
                (key_node.tag, key_node.value)  # a plain key, as written: no need to build it
                if isinstance(key_node, yaml.ScalarNode)
                else self.construct_object(key_node, deep=True)
            )
            line = key_node.start_mark.line + 1
            try:
                first = seen.get(key)
            except TypeError:
                continue  # an unhashable key: the constructor refuses it below
            if first is not None:
                raise _DuplicateKey(key, first, line)
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def _read_yaml(path: Path) -> dict[str, Any]:
    raw = _parse_yaml(_read_text(path), path)
    if raw is None:
        raise ConfigError(
            f"config {path} is empty (or only comments); write '{{}}' for all the defaults, or "
            "leave out --config"
        )
    if not isinstance(raw, dict):
        raise ConfigError(
            f"invalid config in {path}: the top level must be a mapping of settings "
            f"(engine:, markets:, ...); was {_show(raw)}"
        )
    return raw


def _read_text(path: Path) -> str:
    try:
        if path.is_dir():
            raise ConfigError(f"config {path} is a directory; --config takes a YAML file")
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except (OSError, ValueError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        raise ConfigError(f"cannot read config {path}: {reason}") from None
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as e:
        raise ConfigError(
            f"config {path} must be UTF-8 YAML text: byte 0x{data[e.start]:02x} at offset "
            f"{e.start} is not UTF-8"
        ) from None


def _parse_yaml(text: str, path: Path) -> Any:
    try:
        return yaml.load(text, Loader=_StrictLoader)  # a safe loader
    except _DuplicateKey as e:
        key = e.key[1] if isinstance(e.key, tuple) else e.key
        raise ConfigError(
            f"config {path}: key {_show(key)} appears twice in one mapping (lines {e.first} and "
            f"{e.second}); each key may be given once: remove one"
        ) from None
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        at = "" if mark is None else f" at line {mark.line + 1}, column {mark.column + 1}"
        what = " ".join(p for p in (e.context, e.problem) if p) or "syntax error"
        if mark is not None and text[mark.index : mark.index + 1] == "\t":
            at += " (a tab: YAML indents with spaces only)"
        raise ConfigError(f"config {path} is not valid YAML: {what}{at}") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"config {path} is not valid YAML: {e}") from None
    except RecursionError:
        raise ConfigError(f"config {path} is not valid YAML: nested too deeply") from None
    except ValueError as e:  # a number or date PyYAML cannot build
        raise ConfigError(f"config {path} holds a value YAML cannot read: {e}") from None
