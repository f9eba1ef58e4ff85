"""The backtest report: a PNG (price with grid levels and fills, equity, inventory) and an HTML
page that embeds it above the summary table. Needs matplotlib (drawn with the Agg backend).
"""

from __future__ import annotations

import base64
import html
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from gridmaker.backtest.result import BacktestResult
from gridmaker.backtest.series import TickSeries

__all__ = ["write_report"]

_POINTS: Final = 3000
"""Price buckets drawn (each as its low and high), whatever the series' length."""
_MAX_MARKERS: Final = 4000
_MAX_LEVELS: Final = 120


def write_report(result: BacktestResult, series: TickSeries, out_dir: Path) -> tuple[Path, Path]:
    """Write ``backtest.png`` and ``backtest.html`` into ``out_dir``; returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    png, page = out_dir / "backtest.png", out_dir / "backtest.html"
    inst = result.setup.instrument
    tick, step = float(inst.tick_size), float(inst.step_size)
    stamp = _clock(series)
    figure, (ax_price, ax_equity, ax_inventory) = plt.subplots(
        3, 1, figsize=(12, 9), sharex=True, gridspec_kw={"height_ratios": [3, 1.4, 1]}
    )
    xs, lows, highs = _envelope(series.prices, _POINTS)
    times = [stamp(i) for i in xs]
    ax_price.fill_between(
        times, [p * tick for p in lows], [p * tick for p in highs], color="#4a6fa5", lw=0.6
    )
    for level_price in _levels(result):
        ax_price.axhline(level_price * tick, color="#bbbbbb", lw=0.4, zorder=0)
    c = result.curves
    marks = range(0, len(c.fill_index), max(1, len(c.fill_index) // _MAX_MARKERS))
    for side, colour, marker, label in ((1, "#2e8b57", "^", "buy"), (-1, "#c0392b", "v", "sell")):
        picked = [k for k in marks if c.fill_side[k] == side]
        ax_price.scatter(
            [stamp(c.fill_index[k]) for k in picked],
            [c.fill_price[k] * tick for k in picked],
            s=14,
            c=colour,
            marker=marker,
            label=f"{label} fills",
            zorder=3,
        )
    ax_price.set_ylabel(f"price ({inst.quote})")
    ax_price.legend(loc="upper left", fontsize=8)
    ax_price.set_title(f"{inst.symbol} grid backtest — {result.ticks:,} prints")
    every = max(1, len(c.sample_index) // (2 * _POINTS))
    ax_equity.plot(
        [stamp(i) for i in c.sample_index[::every]], c.sample_equity[::every], color="#6c3483"
    )
    ax_equity.axhline(0, color="#999999", lw=0.5)
    ax_equity.set_ylabel(f"PnL ({inst.quote})")
    inv_x = [stamp(0), *(stamp(i) for i in c.fill_index), stamp(result.ticks - 1)]
    held = [result.start_inventory_steps, *c.fill_inventory]
    inv_y = [h * step for h in [*held, held[-1]]]
    ax_inventory.step(inv_x, inv_y, where="post", color="#d68910")
    ax_inventory.set_ylabel(f"inventory ({inst.base})")
    ax_inventory.set_xlabel("time (UTC)" if series.ts_event is not None else "print")
    for axis in (ax_price, ax_equity, ax_inventory):
        # plain numbers on the axes too: no "1e6" multiplier, no "+5e4" offset
        axis.ticklabel_format(axis="y", style="plain", useOffset=False)
    if series.ts_event is None:
        ax_inventory.ticklabel_format(axis="x", style="plain", useOffset=False)
    figure.tight_layout()
    figure.savefig(png, dpi=110)
    plt.close(figure)
    page.write_text(_html(result, png), encoding="utf-8")
    return png, page


def _clock(series: TickSeries) -> Callable[[int], Any]:
    stamps = series.ts_event
    if stamps is None:
        return lambda i: i
    return lambda i: datetime.fromtimestamp(stamps[i] / 1000, tz=UTC)


def _envelope(prices: Sequence[int], points: int) -> tuple[list[int], list[int], list[int]]:
    """Bucket starts with each bucket's lowest and highest price."""
    size = max(1, len(prices) // points)
    xs, lows, highs = [], [], []
    for start in range(0, len(prices), size):
        bucket = prices[start : start + size]
        xs.append(start)
        lows.append(min(bucket))
        highs.append(max(bucket))
    return xs, lows, highs


def _levels(result: BacktestResult) -> list[int]:
    prices: list[int] = sorted(
        {p for s in result.state.slots.values() for p in (s.buy_ticks, s.sell_ticks)}
    )
    if len(prices) > _MAX_LEVELS:
        prices = prices[:: len(prices) // _MAX_LEVELS + 1]
    return prices


def _html(result: BacktestResult, png: Path) -> str:
    rows = "\n".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
        for k, v in result.summary().items()
    )
    image = base64.b64encode(png.read_bytes()).decode("ascii")
    title = f"gridmaker backtest — {html.escape(result.setup.symbol)}"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; margin-top: 1em; }}
th, td {{ border: 1px solid #ccc; padding: 4px 10px; text-align: left; }}
th {{ background: #f4f4f4; font-weight: 600; }}
img {{ max-width: 100%; }}
</style></head><body>
<h1>{title}</h1>
<img alt="price with grid levels and fills, PnL, inventory" src="data:image/png;base64,{image}">
<table>
{rows}
</table>
</body></html>
"""
