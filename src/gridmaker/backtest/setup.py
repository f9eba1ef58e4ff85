"""A ``BacktestSetup`` from the same ``Config`` that ``gridmaker run`` reads."""

from __future__ import annotations

from decimal import Decimal

from gridmaker.backtest.engine import BacktestSetup
from gridmaker.config import Config, ConfigError, book_setup_args, sim_instrument

__all__ = ["setup_from_config"]


def setup_from_config(config: Config, symbol: str | None = None) -> BacktestSetup:
    """The grid of ``symbol`` (default: the first market) on the simulated account.

    Balances are taken as the live boot takes them: the account's totals, capped by the market's
    budgets. Raises ``ConfigError``.
    """
    markets = [m for m in config.markets if symbol is None or m.symbol == symbol]
    if not markets:
        raise ConfigError(f"no market {symbol!r} in the config")
    market = markets[0]
    inst = sim_instrument(config, market.symbol)
    args = book_setup_args(market, inst)
    balances = config.sim.balances
    base = balances.get(inst.base, Decimal(0))
    quote = balances.get(inst.quote, Decimal(0))
    book_base = base if market.budget_base is None else min(base, market.budget_base)
    book_quote = quote if market.budget_quote is None else min(quote, market.budget_quote)
    try:
        return BacktestSetup(
            instrument=inst,
            params=args["params"],
            template=args["template"],
            book_base_steps=inst.size_steps(book_base),
            book_quote_atoms=inst.to_atoms(book_quote),
            venue_base_steps=inst.size_steps(base),
            venue_quote_atoms=inst.to_atoms(quote),
            partial_fills=config.sim.partial_fills,
            risk=args["risk"],
        )
    except ValueError as e:
        raise ConfigError(f"sim.balances: {e}") from None
