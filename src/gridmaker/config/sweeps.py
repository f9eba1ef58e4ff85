"""A sweep's combinations as configs: the first market's settings replaced, each checked as a
file would be, and turned into its ``BacktestSetup`` in the sweep's worker processes.

The sweep itself (``backtest.sweep``) sees only setups: it runs below the config.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from gridmaker.backtest.engine import BacktestSetup
from gridmaker.backtest.sweep import GRID_KEYS, INTEGER_KEYS
from gridmaker.config.errors import ConfigError
from gridmaker.config.loading import parse_config
from gridmaker.config.models import Config
from gridmaker.config.setups import backtest_setup

__all__ = ["SweepSetups", "with_settings"]


def with_settings(config: Config, settings: dict[str, str]) -> Config:
    """``config`` with the first market's settings replaced; raises ``ConfigError``."""
    raw = config.model_dump(mode="python")
    market = raw["markets"][0]
    for name, value in settings.items():
        if name == "levels":
            market["grid"]["buy_levels"] = market["grid"]["sell_levels"] = int(value)
        elif name in INTEGER_KEYS:
            market["grid"][name] = int(value)
        elif name == "trailing":
            market["grid"][name] = value.lower() in ("1", "true", "yes")
        elif name in GRID_KEYS:
            market["grid"][name] = value
        else:
            market[name] = value
    if market["grid"].get("trailing"):
        market["grid"]["lower"] = market["grid"]["upper"] = None
    return parse_config(_strings(raw), f"sweep {settings}")


def _strings(raw: Any) -> Any:
    """Decimals back to text, as a YAML file would hold them."""
    if isinstance(raw, dict):
        return {k: _strings(v) for k, v in raw.items()}
    if isinstance(raw, list):
        return [_strings(v) for v in raw]
    if isinstance(raw, Decimal):
        return str(raw)
    return raw


@dataclass(frozen=True, slots=True)
class SweepSetups:
    """Each combination's ``BacktestSetup`` from ``config``; picklable, so each worker process
    builds its own. A combination the config refuses raises ``ValueError`` with the config's
    message: the sweep shows it as that row's error."""

    config: Config

    def __call__(self, settings: dict[str, str]) -> BacktestSetup:
        try:
            return backtest_setup(with_settings(self.config, settings))
        except ConfigError as e:
            raise ValueError(str(e)) from None
