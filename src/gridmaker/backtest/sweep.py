"""Parameter sweeps: every combination of a few grid settings, backtested on a process pool.

A spec is ``name=low..high:count`` (``count`` evenly spaced values, both ends included) or
``name=a,b,c``. Names: ``spacing`` (a percent like ``0.1%`` or an absolute price),
``levels`` (sets ``buy_levels`` and ``sell_levels``), ``buy_levels``, ``sell_levels``,
``order_size``, ``mode``, ``kind``, ``trailing``.
"""

from __future__ import annotations

import csv
import itertools
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Final

from gridmaker.backtest.engine import run_backtest
from gridmaker.backtest.series import TickSeries
from gridmaker.config import Config, ConfigError, backtest_setup, parse_config

__all__ = ["SweepError", "parse_specs", "run_sweep", "write_csv"]

_GRID_KEYS: Final = {"spacing", "buy_levels", "sell_levels", "kind", "trailing"}
_MARKET_KEYS: Final = {"order_size", "mode"}
_INTEGER_KEYS: Final = {"levels", "buy_levels", "sell_levels"}
RANK_KEY: Final = "total_pnl"


class SweepError(ValueError):
    """A sweep spec is malformed; the message quotes it."""


def parse_specs(specs: Sequence[str]) -> list[dict[str, str]]:
    """Every combination of the specs' values, as setting name → text value."""
    axes: list[list[tuple[str, str]]] = []
    for spec in specs:
        name, sep, values = spec.partition("=")
        name = name.strip()
        if not sep or not values.strip():
            raise SweepError(f"sweep spec must be name=values, was {spec!r}")
        if name not in _GRID_KEYS | _MARKET_KEYS | {"levels"}:
            known = ", ".join(sorted(_GRID_KEYS | _MARKET_KEYS | {"levels"}))
            raise SweepError(f"unknown sweep setting {name!r} in {spec!r}; one of {known}")
        axes.append([(name, v) for v in _values(name, values.strip(), spec)])
    return [dict(combo) for combo in itertools.product(*axes)]


def _values(name: str, text: str, spec: str) -> list[str]:
    if ".." not in text:
        return [v.strip() for v in text.split(",") if v.strip()]
    span, _, count_text = text.partition(":")
    low_text, _, high_text = span.partition("..")
    is_percent = low_text.strip().endswith("%")
    try:
        low = Decimal(low_text.strip().rstrip("%"))
        high = Decimal(high_text.strip().rstrip("%"))
        count = int(count_text) if count_text else 2
    except (InvalidOperation, ValueError):
        raise SweepError(f"sweep range must be low..high:count, was {spec!r}") from None
    if count < 1 or high < low:
        raise SweepError(f"sweep range needs low <= high and count >= 1, was {spec!r}")
    steps = [low if count == 1 else low + (high - low) * k / (count - 1) for k in range(count)]
    if name in _INTEGER_KEYS:
        return [str(int(v.to_integral_value())) for v in steps]
    quantum = Decimal("0.0001") if is_percent else Decimal("0.00000001")
    suffix = "%" if is_percent else ""
    return [f"{v.quantize(quantum).normalize():f}{suffix}" for v in steps]


def apply(config: Config, settings: dict[str, str]) -> Config:
    """``config`` with the first market's settings replaced; raises ``ConfigError``."""
    raw = config.model_dump(mode="python")
    market = raw["markets"][0]
    for name, value in settings.items():
        if name == "levels":
            market["grid"]["buy_levels"] = market["grid"]["sell_levels"] = int(value)
        elif name in _INTEGER_KEYS:
            market["grid"][name] = int(value)
        elif name == "trailing":
            market["grid"][name] = value.lower() in ("1", "true", "yes")
        elif name in _GRID_KEYS:
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


_SERIES: TickSeries | None = None


def _init(series: TickSeries) -> None:
    global _SERIES
    _SERIES = series


def _one(config: Config, settings: dict[str, str]) -> dict[str, Any]:
    assert _SERIES is not None
    try:
        setup = backtest_setup(apply(config, settings))
        summary = run_backtest(setup, _SERIES, record=False).summary()
    except (ConfigError, ValueError) as e:
        return {**settings, "error": str(e).splitlines()[-1].strip()}
    return {**settings, **summary}


def run_sweep(
    config: Config,
    series: TickSeries,
    combos: Sequence[dict[str, str]],
    *,
    workers: int | None = None,
    on_done: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Backtest every combination (on ``workers`` processes, default: every CPU); ranked rows."""
    workers = workers or os.cpu_count() or 1
    rows: list[dict[str, Any]] = []
    if workers == 1:
        _init(series)
        for settings in combos:
            rows.append(_one(config, settings))
            if on_done is not None:
                on_done(rows[-1])
    else:
        with ProcessPoolExecutor(workers, initializer=_init, initargs=(series,)) as pool:
            futures = [pool.submit(_one, config, settings) for settings in combos]
            for future in as_completed(futures):
                rows.append(future.result())
                if on_done is not None:
                    on_done(rows[-1])
    return rank(rows)


def rank(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Best total PnL first; failed combinations last."""
    return sorted(rows, key=lambda r: ("error" in r, -Decimal(str(r.get(RANK_KEY, "0")))))


def write_csv(rows: Sequence[dict[str, Any]], path: Path) -> None:
    columns: list[str] = ["rank"]
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=columns)
        writer.writeheader()
        for number, row in enumerate(rows, start=1):
            writer.writerow({"rank": number, **row})
