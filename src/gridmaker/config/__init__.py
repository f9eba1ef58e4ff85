"""Configuration: YAML validated by pydantic, parsed once into the core's typed setups.

Every mistake is a ``ConfigError`` naming the field (``markets[0].grid.spacing``), the value and
what is allowed, decided here before anything starts. The modules, in import order:

- ``errors``: ``ConfigError`` and how its problems are listed;
- ``values``: decimals, percents and text as typed, and how a value is shown back;
- ``sections``: one model per section (market, grid, risk, sim, feed, chaos, venue);
- ``checks``: whether a market fits an instrument's integer units;
- ``models``: ``Config``, the whole file and the rules between its sections;
- ``messages``: pydantic's errors in the user's words;
- ``loading``: the YAML file and the command-line options, to one ``Config``;
- ``setups``: ``Config`` to ``Instrument``, ``BookSetup`` (the engine's only view of it) and
  ``BacktestSetup``;
- ``sweeps``: a backtest sweep's combinations as configs, and their setups (imported by the
  sweep alone: it pulls in the process pool).
"""

from gridmaker.config.checks import market_problems
from gridmaker.config.errors import ConfigError
from gridmaker.config.loading import load_config, parse_config
from gridmaker.config.models import Config
from gridmaker.config.sections import (
    ChaosConfig,
    FeedConfig,
    GridConfig,
    InstrumentConfig,
    MarketConfig,
    RiskConfig,
    SimExchangeConfig,
    VenueConfig,
)
from gridmaker.config.setups import (
    backtest_setup,
    book_setup,
    book_setups,
    risk_params,
    sim_instrument,
)

__all__ = [
    "ChaosConfig",
    "Config",
    "ConfigError",
    "FeedConfig",
    "GridConfig",
    "InstrumentConfig",
    "MarketConfig",
    "RiskConfig",
    "SimExchangeConfig",
    "VenueConfig",
    "backtest_setup",
    "book_setup",
    "book_setups",
    "load_config",
    "market_problems",
    "parse_config",
    "risk_params",
    "sim_instrument",
]
