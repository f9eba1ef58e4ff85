"""How ``fleet list`` and ``fleet status`` print: plain aligned columns for a person, and
records for ``--json`` (money as decimal strings, times as UTC ISO 8601).

Columns are padded by hand, not drawn by a console library: a worker id or a market list is
never wrapped or cut, whatever the terminal's width, so the lines can be grepped.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from gridmaker.core.display import plain

if TYPE_CHECKING:
    from gridmaker.fleet.registry import FleetGrid
    from gridmaker.fleet.status import FleetStatus, GridStatus, WorkerStatus

__all__ = ["grid_lines", "grid_record", "markets_of", "status_lines", "status_record"]


def when(at: datetime | None) -> str | None:
    return None if at is None else at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _number(value: Decimal | None) -> str | None:
    return None if value is None else plain(value)


def markets_of(config_text: str) -> list[str]:
    """The symbols a stored config trades (empty if this gridmaker cannot read it)."""
    import yaml

    from gridmaker.config import ConfigError
    from gridmaker.config.loading import parse_config

    try:
        config = parse_config(yaml.safe_load(config_text), source="a fleet grid's config")
    except (ConfigError, yaml.YAMLError):
        return []
    return [m.symbol for m in config.markets]


def columns(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """``rows`` under ``header``, each column as wide as its widest cell."""
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in (header, *rows)
    ]


def grid_record(grid: FleetGrid) -> dict[str, Any]:
    return {
        "name": grid.name,
        "account": grid.account,
        "markets": markets_of(grid.config),
        "added": when(grid.added_at),
        "removed": when(grid.removed_at),
        "remove_mode": grid.remove_mode or None,
    }


def grid_lines(grids: Sequence[FleetGrid]) -> list[str]:
    if not grids:
        return ["no grids declared (gridmaker fleet add NAME --config FILE)"]
    rows = [
        [
            g.name,
            g.account,
            ",".join(markets_of(g.config)) or "?",
            when(g.added_at) or "-",
            f"{when(g.removed_at)} ({g.remove_mode})" if g.removed_at else "-",
        ]
        for g in grids
    ]
    return columns(["GRID", "ACCOUNT", "MARKETS", "ADDED", "REMOVED"], rows)


def _grid_record(g: GridStatus) -> dict[str, Any]:
    return {
        "name": g.name,
        "account": g.account,
        "removed": when(g.removed_at),
        "owner": g.owner or None,
        "owned": g.owned,
        "epoch": g.epoch,
        "lease_left_s": _number(g.lease_left_s),
        "state": g.state,
        "owner_state": g.owner_state or None,
        "trading_since": when(g.trading_since),
        "last_sync": when(g.last_sync),
        "last_sync_age_s": _number(g.last_sync_age_s),
        "mark": None
        if g.equity is None
        else {
            "quote": g.quote,
            "equity": _number(g.equity),
            "exposure": _number(g.exposure),
            "at": when(g.mark_at),
        },
        "last_boot": None
        if g.last_boot_at is None
        else {"at": g.last_boot_at, "halted": g.last_boot_halted or None},
        "last_halt": None if g.last_halt is None else {"at": g.last_halt_at, "reason": g.last_halt},
    }


def _worker_record(w: WorkerStatus) -> dict[str, Any]:
    return {
        "worker": w.worker,
        "host": w.host,
        "pid": w.pid,
        "version": w.version,
        "started": when(w.started_at),
        "heartbeat_age_s": plain(w.heartbeat_age_s),
        "alive": w.alive,
        "state": w.state,
    }


def status_record(status: FleetStatus) -> dict[str, Any]:
    return {
        "grids": [_grid_record(g) for g in status.grids],
        "workers": [_worker_record(w) for w in status.workers],
        "stopped_workers": status.stopped_workers,
        "dead_after_s": plain(Decimal(str(status.dead_after_s))),
    }


def _ago(seconds: Decimal | None) -> str:
    return "-" if seconds is None else f"{plain(seconds)} s ago"


def _mark(g: GridStatus) -> str:
    if g.equity is None or g.exposure is None:
        return "-"
    return f"{plain(g.equity)} / {plain(g.exposure)} {g.quote}"


def status_lines(status: FleetStatus) -> list[str]:
    lines: list[str] = []
    if status.grids:
        rows = [
            [
                g.name,
                g.account,
                g.owner or "-",
                str(g.epoch),
                "-"
                if not g.owner
                else ("expired" if g.lease_left_s is None else f"{plain(g.lease_left_s)} s"),
                g.state,
                when(g.trading_since) or "-",
                _ago(g.last_sync_age_s),
                _mark(g),
            ]
            for g in status.grids
        ]
        header = ["GRID", "ACCOUNT", "OWNER", "EPOCH", "LEASE", "STATE", "TRADING SINCE"]
        lines += columns([*header, "LAST SYNC", "EQUITY / EXPOSURE"], rows)
    else:
        lines.append("no grids declared (gridmaker fleet add NAME --config FILE)")
    lines.append("")
    if status.workers:
        rows = [
            [w.worker, w.host, str(w.pid), w.version, f"{plain(w.heartbeat_age_s)} s", w.state]
            for w in status.workers
        ]
        lines += columns(["WORKER", "HOST", "PID", "VERSION", "HEARTBEAT", "STATE"], rows)
    else:
        lines.append("no workers running (gridmaker worker --store URL)")
    if status.stopped_workers:
        lines.append(f"({status.stopped_workers} stopped worker(s) not shown)")
    return lines
