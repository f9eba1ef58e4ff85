"""The config in the core's types: an ``Instrument`` from the built-in exchange's rules, a
``BookSetup`` per market in the instrument's integer units (the only form the engine receives),
and the ``BacktestSetup`` of one market on the simulated account.

For the built-in exchange the checks already ran when the config was loaded; for a real venue
its instrument (from ``fetch_instrument``) is known only at boot, so ``book_setup`` runs them
again against it and raises ``ConfigError``.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from gridmaker.backtest.engine import BacktestSetup
from gridmaker.config.checks import market_problems
from gridmaker.config.errors import ConfigError, problem_text
from gridmaker.config.models import Config
from gridmaker.config.sections import MarketConfig, RiskConfig
from gridmaker.config.values import percent_ppm
from gridmaker.core.grid import GridTemplate
from gridmaker.core.risk import PPM, RiskParams
from gridmaker.core.setup import BookSetup
from gridmaker.core.state import StrategyParams
from gridmaker.core.units import Instrument

__all__ = ["backtest_setup", "book_setup", "book_setups", "risk_params", "sim_instrument"]


def sim_instrument(config: Config, symbol: str) -> Instrument:
    """``symbol``'s rules from ``sim.instruments``; ``ConfigError`` when it has none."""
    return config.sim.instrument(symbol)


def book_setups(config: Config, instruments: Sequence[Instrument]) -> list[BookSetup]:
    """Each market of ``config`` on its instrument (``instruments`` in the markets' order)."""
    return [book_setup(m, i) for m, i in zip(config.markets, instruments, strict=True)]


def book_setup(market: MarketConfig, instrument: Instrument) -> BookSetup:
    """The core's view of one market, in the instrument's integer units; raises ``ConfigError``
    when the market does not fit the instrument's rules."""
    problems = market_problems(
        market, instrument, f"markets ({market.symbol})", f"the venue's {market.symbol}"
    )
    if problems:
        raise ConfigError(
            problem_text(f"markets ({market.symbol}), against the venue's rules", problems)
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
        compound=market.compound,
    )
    trigger = market.trigger_price
    return BookSetup(
        symbol=market.symbol,
        params=params,
        template=template,
        budget_base=market.budget_base,
        budget_quote=market.budget_quote,
        risk=risk_params(market.risk, instrument),
        crash_candle_ms=market.risk.crash_candle_s * 1000,
        trigger_ticks=0 if trigger is None else instrument.to_ticks(trigger),
    )


def backtest_setup(config: Config, symbol: str | None = None) -> BacktestSetup:
    """The grid of ``symbol`` (default: the first market) on the simulated account, from the
    same ``Config`` that ``gridmaker run`` reads.

    Balances are taken as the live boot takes them: the account's totals, capped by the market's
    budgets. Raises ``ConfigError``.
    """
    markets = [m for m in config.markets if symbol is None or m.symbol == symbol]
    if not markets:
        raise ConfigError(f"no market {symbol!r} in the config")
    market = markets[0]
    inst = sim_instrument(config, market.symbol)
    setup = book_setup(market, inst)
    balances = config.sim.balances
    base = balances.get(inst.base, Decimal(0))
    quote = balances.get(inst.quote, Decimal(0))
    book_base = base if market.budget_base is None else min(base, market.budget_base)
    book_quote = quote if market.budget_quote is None else min(quote, market.budget_quote)
    try:
        return BacktestSetup(
            instrument=inst,
            params=setup.params,
            template=setup.template,
            book_base_steps=inst.size_steps(book_base),
            book_quote_atoms=inst.to_atoms(book_quote),
            venue_base_steps=inst.size_steps(base),
            venue_quote_atoms=inst.to_atoms(quote),
            partial_fills=config.sim.partial_fills,
            risk=setup.risk,
            trigger_ticks=setup.trigger_ticks,
        )
    except ValueError as e:
        raise ConfigError(f"sim.balances: {e}") from None


def risk_params(risk: RiskConfig, instrument: Instrument) -> RiskParams:
    """The breaker's limits in the instrument's integer units (``market_problems`` checked)."""

    def ppm(text: str | None) -> int:
        return 0 if text is None else percent_ppm(text)

    return RiskParams(
        fast_move_ppm=ppm(risk.fast_move),
        fast_move_window_ms=risk.fast_move_window_s * 1000,
        crash_volume_multiple_ppm=(
            0 if risk.crash_volume_multiple is None else int(risk.crash_volume_multiple * PPM)
        ),
        crash_ma_candles=risk.crash_ma_candles if risk.crash_volume_multiple else 0,
        drawdown_ppm=ppm(risk.drawdown),
        inventory_limit_steps=(
            0 if risk.inventory_limit is None else instrument.size_steps(risk.inventory_limit)
        ),
        realized_loss_limit_atoms=(
            0
            if risk.realized_loss_limit is None
            else instrument.to_atoms(risk.realized_loss_limit, "ROUND_CEILING")
        ),
        divergence_limit=risk.divergence_limit or 0,
        stop_loss_ticks=0 if risk.stop_loss is None else instrument.buy_price_ticks(risk.stop_loss),
        stop_loss_sell_ppm=ppm(risk.stop_loss_sell) if risk.stop_loss else 0,
        take_profit_ticks=(
            0 if risk.take_profit is None else instrument.sell_price_ticks(risk.take_profit)
        ),
        on_trip=risk.on_trip,
        cooldown_ms=(risk.cooldown_s or 0) * 1000,
    )
