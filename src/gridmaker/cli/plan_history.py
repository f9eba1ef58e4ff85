"""``gridmaker plan --history FILE``: the old and the new grid backtested side by side.

Both replay the same prints through the same backtester. With a stored book both grids are the
ones a reconfiguration keeps and makes: the book's own grid, and the new one built at the
book's anchor (as ``reconfigure_event`` builds it), each starting from the book's balances now.
Without a book there is no old column, and the new one is ``gridmaker backtest`` on the config.
Neither is refused by the pre-flight checks here: the plan above already names those.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gridmaker.cli.common import EXIT_CONFIG, fail
from gridmaker.cli.history_kind import history_kind
from gridmaker.core.display import money_text
from gridmaker.core.grid import GridSpec, GridTemplate
from gridmaker.core.units import FEE_SCALE

if TYPE_CHECKING:
    from gridmaker.backtest.engine import BacktestResult, BacktestSetup
    from gridmaker.backtest.series import TickSeries
    from gridmaker.config import Config, MarketConfig
    from gridmaker.core.params import StrategyParams
    from gridmaker.core.risk import RiskParams
    from gridmaker.core.state import GridState
    from gridmaker.core.units import Instrument

__all__ = ["Comparison", "compare", "comparison_json", "comparison_lines"]

ROWS = (
    ("prints", "prints replayed"),
    ("fills", "fills"),
    ("round_trips", "round trips"),
    ("realized_pnl", "realized profit"),
    ("fees", "fees"),
    ("total_pnl", "total profit"),
    ("ending_equity", "ending equity"),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class _PinnedTemplate(GridTemplate):
    """A template whose grid is already known: the backtester starts on exactly ``grid``."""

    grid: GridSpec

    def build(self, price_ticks: int) -> GridSpec:
        return self.grid


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    figures: dict[str, str] | None
    refusal: str = ""


@dataclass(frozen=True, slots=True)
class Comparison:
    path: Path
    symbol: str
    quote: str
    prints: int
    columns: list[Column]
    balances: str


def compare(
    config: Config, market: MarketConfig, state: GridState | None, path: Path
) -> Comparison:
    """Backtest the stored grid (if any) and the new one over ``path``."""
    from dataclasses import replace

    from gridmaker.config import ConfigError, backtest_setup, book_setup
    from gridmaker.core.errors import CoreError

    try:
        if state is None:
            fresh = replace(backtest_setup(config, market.symbol), is_preflight_checked=False)
            series = _series(path, fresh.instrument)
            return Comparison(
                path,
                market.symbol,
                fresh.instrument.quote,
                len(series),
                [_column("new", fresh, series)],
                "the config's sim.balances (capped by the market's budgets)",
            )
        setup = book_setup(market, state.instrument)
    except ConfigError as e:
        raise fail(EXIT_CONFIG, str(e)) from None
    series = _series(path, state.instrument)
    columns = [_column("old", _on_book(state, state.grid, state.params, state.risk_params), series)]
    try:
        grid = setup.template.build(state.grid.anchor_ticks)
    except CoreError as e:
        columns.append(Column("new", None, f"the new grid is invalid: {e}"))
    else:
        columns.append(_column("new", _on_book(state, grid, setup.params, setup.risk), series))
    quote = state.instrument.quote
    return Comparison(path, market.symbol, quote, len(series), columns, "the book's balances now")


def _on_book(
    state: GridState, grid: GridSpec, params: StrategyParams, risk: RiskParams
) -> BacktestSetup:
    """A replay of ``grid`` from ``state``'s balances now."""
    from gridmaker.backtest.engine import BacktestSetup

    base, quote = state.base_steps, state.quote_atoms
    return BacktestSetup(
        instrument=state.instrument,
        params=params,
        template=_PinnedTemplate(kind=grid.kind, grid=grid),
        book_base_steps=base,
        book_quote_atoms=quote,
        venue_base_steps=base,
        venue_quote_atoms=quote,
        risk=risk,
        is_preflight_checked=False,
    )


def _column(name: str, setup: BacktestSetup, series: TickSeries) -> Column:
    from gridmaker.backtest.engine import BacktestRefused, run_backtest
    from gridmaker.core.errors import CoreError

    try:
        result = run_backtest(setup, series, record=False)
    except (BacktestRefused, CoreError) as e:
        return Column(name, None, str(e))
    return Column(name, _figures(result))


def _figures(result: BacktestResult) -> dict[str, str]:
    st, inst = result.state, result.setup.instrument
    summary = result.summary()
    equity = st.quote_atoms + st.base_steps * result.last_price_ticks * FEE_SCALE
    return {
        "prints": str(result.ticks),
        "fills": str(st.fills),
        "round_trips": str(st.completed_cycles),
        "realized_pnl": str(summary["realized_pnl"]),
        "fees": str(summary["fees"]),
        "total_pnl": str(summary["total_pnl"]),
        "ending_equity": money_text(inst, equity),
    }


def comparison_lines(c: Comparison) -> list[str]:
    """The figures in aligned columns, one row per figure."""
    head = f"backtest over {c.path} ({c.prints:,} prints of {c.symbol}), from {c.balances}"
    names = [col.name for col in c.columns]
    cells = {
        key: [col.figures[key] if col.figures else "-" for col in c.columns] for key, _ in ROWS
    }
    width = max([len(n) for n in names] + [len(v) for vs in cells.values() for v in vs]) + 2
    label = max(len(text) for _, text in ROWS) + len(c.quote) + 4
    lines = [head, "  " + " " * label + "".join(f"{n:>{width}}" for n in names)]
    money = {"realized_pnl", "fees", "total_pnl", "ending_equity"}
    for key, text in ROWS:
        shown = f"{text} ({c.quote})" if key in money else text
        lines.append(f"  {shown:<{label}}" + "".join(f"{v:>{width}}" for v in cells[key]))
    lines += [f"  {col.name}: refused: {col.refusal}" for col in c.columns if col.refusal]
    return lines


def comparison_json(c: Comparison) -> dict[str, Any]:
    return {
        "file": str(c.path),
        "symbol": c.symbol,
        "prints": c.prints,
        "balances": c.balances,
        **{col.name: col.figures or {"refused": col.refusal} for col in c.columns},
    }


# --- the history file, read as `backtest --feed` reads it -------------------------------------


def _series(path: Path, inst: Instrument) -> TickSeries:
    from gridmaker.backtest.series import series_from_feed, series_from_history
    from gridmaker.core.errors import CoreError
    from gridmaker.feeds import CandleFeed, FeedError, ReplayFeed
    from gridmaker.history import load_history

    if not path.is_file():
        raise fail(EXIT_CONFIG, f"--history must be a history file; was {path}, which is not one")
    try:
        kind = history_kind(path)
        if kind in ("json", "candles"):
            feed = CandleFeed(path) if kind == "candles" else ReplayFeed(path)
            feed.check_tick(inst.tick_size)
            series = series_from_feed(feed, inst, None)
        else:
            series = series_from_history(load_history(path, inst, fmt=kind))
    except (FeedError, CoreError, ValueError) as e:
        raise fail(EXIT_CONFIG, f"--history {path}: {e}") from None
    if not len(series):
        raise fail(EXIT_CONFIG, f"--history {path} holds no trades")
    return series
