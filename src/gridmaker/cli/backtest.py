"""``gridmaker backtest``: replay history through the core, report, and sweep settings.

Exit codes as for ``gridmaker``: 2 invalid config, feed or arguments (a feed file's bad row is
named with its file, row and value before anything runs); 4 the grid fails the pre-flight checks
that make ``run`` refuse it (same message as ``run``).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final, NamedTuple

import typer

from gridmaker.cli.common import EXIT_BOOT, EXIT_CONFIG, ConfigPath, JsonFlag, err, fail
from gridmaker.cli.history_kind import history_kind
from gridmaker.core.display import plain

if TYPE_CHECKING:
    from gridmaker.backtest.series import TickSeries
    from gridmaker.config import Config
    from gridmaker.core.units import Instrument

__all__ = ["backtest"]

DEFAULT_WALK_TICKS: Final = 100_000
HISTORY_FORMATS: Final = (
    "csv",
    "binance-trades",
    "binance-aggtrades",
    "feather",
    "parquet",
    "candles",
)
"""What ``--format`` forces: the formats ``history`` reads (named here too, so ``--help`` needs
no pyarrow) and OHLCV candles. JSON is told by its name or first character."""
WALK: Final = "random-walk"
REPORT_NEEDS: Final = "--report needs matplotlib: pip install 'gridmaker[report]'"


def backtest(
    feed: Annotated[
        str | None,
        typer.Option(
            "--feed",
            help="'random-walk', or a file: trades (CSV/JSON, as `run --feed`) or OHLCV candles "
            "(CSV with timestamp,open,high,low,close,volume); default: the config's feed",
        ),
    ] = None,
    config_path: ConfigPath = None,
    ticks: Annotated[
        int | None,
        typer.Option(
            "--ticks",
            min=1,
            help=f"replay only the first N prints (random walk: {DEFAULT_WALK_TICKS})",
        ),
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="random-walk seed")] = None,
    as_json: JsonFlag = False,
    report: Annotated[
        Path | None,
        typer.Option("--report", help="write backtest.png and backtest.html into this folder"),
    ] = None,
    sweep: Annotated[
        list[str] | None,
        typer.Option(
            "--sweep",
            help="sweep a setting: name=low..high:count or name=a,b (repeat for a product); "
            "names: spacing, levels, buy_levels, sell_levels, order_size, mode, kind, trailing",
        ),
    ] = None,
    csv_path: Annotated[
        Path | None,
        typer.Option("--csv", help="with --sweep: also write the ranked rows here"),
    ] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", min=1, help="sweep: processes (default: all CPUs)")
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="the --feed file's format when its name and first bytes do not tell: "
            + ", ".join(HISTORY_FORMATS),
        ),
    ] = None,
    snap: Annotated[
        bool,
        typer.Option(
            "--snap", help="round prices off the instrument's tick down to it (else refused)"
        ),
    ] = False,
) -> None:
    """Backtest the configured grid on history: same core, same fill rules as the simulator."""
    if csv_path is not None and not sweep:
        raise fail(
            EXIT_CONFIG,
            f"--csv writes the ranked rows of a sweep and needs --sweep; was --csv {csv_path} "
            "without --sweep (the summary is printed; --json prints it as JSON)",
        )
    if workers is not None and not sweep:
        raise fail(
            EXIT_CONFIG,
            f"--workers sets the processes of a sweep and needs --sweep; was --workers {workers} "
            "without --sweep",
        )
    if report is not None and sweep:
        raise fail(
            EXIT_CONFIG,
            f"--report draws one backtest and cannot be combined with --sweep; was --report "
            f"{report} with --sweep (rank with --sweep, then report the best settings alone)",
        )
    if report is not None:
        _need_matplotlib()
        if report.exists() and not report.is_dir():
            raise fail(
                EXIT_CONFIG,
                f"--report must be a folder to write backtest.png into; was {report}, a file",
            )
    if csv_path is not None and csv_path.is_dir():
        raise fail(
            EXIT_CONFIG,
            f"--csv must be a file to write the sweep's rows into; was {csv_path}, a folder",
        )
    how = _reading(fmt, snap)
    config = _config(config_path, seed)
    loaded = time.perf_counter()
    series = _series(config, feed, ticks, how)
    load_s = time.perf_counter() - loaded
    if sweep:
        _sweep(config, series, sweep, csv_path, workers, as_json)
        return
    from gridmaker.backtest.engine import BacktestRefused, PreflightFailed, run_backtest
    from gridmaker.config import ConfigError, backtest_setup
    from gridmaker.core.errors import CoreError

    try:
        result = run_backtest(backtest_setup(config), series)
    except PreflightFailed as e:
        raise fail(EXIT_BOOT, str(e)) from None
    except (ConfigError, CoreError, BacktestRefused) as e:
        raise fail(EXIT_CONFIG, str(e)) from None
    summary: dict[str, Any] = {**result.summary(), "load_s": round(load_s, 3)}
    if report is not None:
        from gridmaker.backtest.report import write_report

        try:
            png, page = write_report(result, series, report)
        except OSError as e:
            raise fail(
                EXIT_CONFIG, f"--report {report}: cannot write the report ({e.strerror or e})"
            ) from None
        summary["report"] = str(page)
        err.print(f"report: {page} ({png.name})", highlight=False)
    _print(summary, as_json)


def _need_matplotlib() -> None:
    """Refuse ``--report`` before the replay when matplotlib is missing (an optional extra)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise fail(EXIT_CONFIG, REPORT_NEEDS) from None


def _config(path: Path | None, seed: int | None) -> Config:
    from gridmaker.config import ConfigError, load_config

    try:
        return load_config(path, {"feed": {"seed": seed}} if seed is not None else None)
    except ConfigError as e:
        raise fail(EXIT_CONFIG, str(e)) from None


class Reading(NamedTuple):
    """How to read a history file: its forced format (``None``: detect) and ``--snap``."""

    fmt: str | None
    snap: bool


def _reading(fmt: str | None, snap: bool) -> Reading:
    if fmt is not None and fmt.lower() not in HISTORY_FORMATS:
        raise fail(
            EXIT_CONFIG, f"--format must be one of {', '.join(HISTORY_FORMATS)}; was {fmt!r}"
        )
    return Reading(fmt and fmt.lower(), snap)


def _series(config: Config, feed: str | None, ticks: int | None, how: Reading) -> TickSeries:
    """The prints to replay: ``--feed``, else the config's ``feed:`` (a file or the walk)."""
    from gridmaker.backtest.series import series_from_feed
    from gridmaker.config import sim_instrument
    from gridmaker.core.errors import CoreError
    from gridmaker.feeds import CandleFeed, FeedError, MarketFeed, ReplayFeed

    if feed is None:
        path = config.feed.path if config.feed.kind == "file" else None
        feed = WALK if path is None else str(path)
    if feed == WALK and (how.fmt is not None or how.snap):
        option = "--format" if how.fmt is not None else "--snap"
        raise fail(
            EXIT_CONFIG,
            f"{option} reads a history file and needs --feed FILE; was {option} with the "
            "random walk",
        )
    try:
        inst = sim_instrument(config, config.markets[0].symbol)
        source: MarketFeed
        if feed == WALK:
            walk = config.feed
            source = walk.random_walk(inst)
            ticks = ticks or DEFAULT_WALK_TICKS
            err.print(
                f"generating {ticks:,} random-walk trades (seed {walk.seed})", highlight=False
            )
        else:
            kind = history_kind(Path(feed), how.fmt)
            if kind not in ("json", "candles"):
                return _history(Path(feed), kind, inst, ticks, how.snap)
            if how.snap:
                raise fail(
                    EXIT_CONFIG,
                    f"--snap reads CSV, Binance, feather and parquet trades; was {feed}, "
                    f"a {kind} file (its prices must be on the tick)",
                )
            recorded = CandleFeed(Path(feed)) if kind == "candles" else ReplayFeed(Path(feed))
            recorded.check_tick(inst.tick_size)
            source = recorded
        return series_from_feed(source, inst, ticks)
    except (FeedError, CoreError, ValueError) as e:
        raise fail(EXIT_CONFIG, str(e)) from None


def _history(path: Path, kind: str, inst: Instrument, ticks: int | None, snap: bool) -> TickSeries:
    from gridmaker.backtest.series import series_from_history
    from gridmaker.history import load_history

    history = load_history(path, inst, fmt=kind, snap=snap, limit=ticks)
    if history.snapped:
        err.print(
            f"--snap: {history.snapped:,} of {len(history):,} prices rounded down to the "
            f"tick {plain(inst.tick_size)}",
            highlight=False,
        )
    return series_from_history(history)


def _sweep(
    config: Config,
    series: TickSeries,
    specs: list[str],
    csv_path: Path | None,
    workers: int | None,
    as_json: bool,
) -> None:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from gridmaker.backtest.sweep import SweepError, parse_specs, run_sweep, write_csv
    from gridmaker.config.sweeps import SweepSetups

    try:
        combos = parse_specs(specs)
    except SweepError as e:
        raise fail(EXIT_CONFIG, str(e)) from None
    columns = (BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task("sweep", total=len(combos))
        rows = run_sweep(
            SweepSetups(config),
            series,
            combos,
            workers=workers,
            on_done=lambda _row: progress.advance(task),
        )
    if csv_path is not None:
        try:
            write_csv(rows, csv_path)
        except OSError as e:
            raise fail(
                EXIT_CONFIG, f"--csv {csv_path}: cannot write the rows ({e.strerror or e})"
            ) from None
        err.print(f"sweep: {len(rows)} rows written to {csv_path}", highlight=False)
    if as_json:
        sys.stdout.write(json.dumps({"sweep": rows}, sort_keys=True) + "\n")
        return
    from rich.table import Table

    from gridmaker.engine.summary import cell

    names = list(combos[0]) if combos else []
    shown = ["fills", "completed_cycles", "total_pnl", "max_drawdown", "return_on_capital"]
    table = Table(title=f"sweep over {len(series):,} prints, best total PnL first")
    for column in ["#", *names, *shown]:
        table.add_column(column, justify="right")
    for number, row in enumerate(rows, start=1):
        if "error" in row:
            table.add_row(str(number), *(row[n] for n in names), row["error"], "", "", "", "")
        else:
            table.add_row(str(number), *(row[n] for n in names), *(cell(row[c]) for c in shown))
    Console().print(table)


def _print(summary: dict[str, Any], as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(summary, sort_keys=True) + "\n")
        return
    from rich.console import Console
    from rich.table import Table

    from gridmaker.engine.summary import cell

    table = Table(title=f"backtest — {summary['symbol']}", show_header=False)
    for key, value in summary.items():
        table.add_row(key, cell(value))
    Console().print(table)
