"""Builders shared by the tests: valid defaults, varied per test with keyword arguments."""

from __future__ import annotations

from decimal import Decimal

from gridmaker.core.grid import GridKind, GridSpec
from gridmaker.core.state import GridMode, GridState, StrategyParams, new_state
from gridmaker.core.units import Instrument

__all__ = ["grid", "instrument", "params", "state"]


def instrument(**overrides: object) -> Instrument:
    """BTC/USDT as Binance lists it: tick 0.01, step 0.00001, min notional 5, fee 0.1 %."""
    fields: dict[str, object] = {
        "symbol": "BTC/USDT",
        "base": "BTC",
        "quote": "USDT",
        "tick_size": Decimal("0.01"),
        "step_size": Decimal("0.00001"),
        "min_qty": Decimal("0.00001"),
        "min_notional": Decimal("5"),
        "maker_fee": Decimal("0.001"),
        "taker_fee": Decimal("0.001"),
    }
    fields.update(overrides)
    return Instrument(**fields)  # type: ignore[arg-type]


def grid(**overrides: object) -> GridSpec:
    """20 levels below and above 50,000.00 at 50.00 (0.1 %) spacing."""
    fields: dict[str, object] = {
        "kind": GridKind.ARITHMETIC,
        "anchor_ticks": 5_000_000,
        "spacing_ticks": 5_000,
        "min_level": -20,
        "max_level": 20,
    }
    fields.update(overrides)
    return GridSpec(**fields)  # type: ignore[arg-type]


def params(**overrides: object) -> StrategyParams:
    fields: dict[str, object] = {
        "strategy_id": "t1",
        "mode": GridMode.NEUTRAL,
        "order_qty_steps": 100,
    }
    fields.update(overrides)
    return StrategyParams(**fields)  # type: ignore[arg-type]


def state(
    *,
    base: str = "1",
    quote: str = "100000",
    instrument_: Instrument | None = None,
    grid_: GridSpec | None = None,
    params_: StrategyParams | None = None,
) -> GridState:
    """A book before its first price, funded with ``base`` BTC and ``quote`` USDT."""
    inst = instrument_ or instrument()
    return new_state(
        symbol=inst.symbol,
        instrument=inst,
        grid=grid_ or grid(),
        params=params_ or params(),
        base_steps=inst.to_steps(Decimal(base)),
        quote_atoms=inst.to_atoms(Decimal(quote)),
    )
