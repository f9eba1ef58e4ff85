"""What ``gridmaker reconfigure`` shows before it queues: one market's change, for a person or
as JSON (prices and sizes as the venue writes them, money as decimal strings)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import typer

from gridmaker.core.display import price_text, size_text

if TYPE_CHECKING:
    from gridmaker.core.change_preview import ChangePreview
    from gridmaker.core.units import Instrument

__all__ = ["MarketChange", "change_json", "print_change"]


@dataclass(slots=True, kw_only=True)
class MarketChange:
    """One market of the new config: a change to queue, no change, or no book yet."""

    symbol: str
    status: str
    """``change`` (queued), ``unchanged`` (nothing to queue), ``new`` (no book here yet) or
    ``absent`` (a book here that the new config does not name: left as it is)."""
    instrument: Instrument | None = None
    preview: ChangePreview | None = None
    command_id: int = 0
    result: str = ""
    """``applied``, ``refused`` or ``queued`` once queued (``--wait`` tells the first two)."""
    outcome: str = ""
    """Why the running bot refused it."""
    earlier: tuple[int, ...] = ()
    """Reconfigurations of this market queued before and not applied yet (this one follows)."""


def change_json(change: MarketChange) -> dict[str, Any]:
    out: dict[str, Any] = {"symbol": change.symbol, "status": change.status}
    preview, inst = change.preview, change.instrument
    if preview is not None and inst is not None:
        out |= {
            "added": [price_text(inst, t) for t in preview.added],
            "removed": [price_text(inst, t) for t in preview.removed],
            "repriced": [
                {
                    "price": price_text(inst, r.buy_ticks),
                    "old_sell_price": price_text(inst, r.old_sell_ticks),
                    "new_sell_price": price_text(inst, r.new_sell_ticks),
                }
                for r in preview.repriced
            ],
            "unchanged": preview.unchanged,
            "kept": list(preview.kept),
            "cancels": list(preview.cancels),
            "places": [
                {
                    "client_order_id": p.cid,
                    "side": p.side.value,
                    "price": price_text(inst, p.price_ticks),
                    "qty": size_text(inst, p.qty_steps),
                }
                for p in preview.places
            ],
        }
    if change.command_id:
        out |= {"command_id": change.command_id, "result": change.result}
        out["outcome"] = change.outcome
    if change.earlier:
        out["queued_before"] = list(change.earlier)
    return out


def print_change(change: MarketChange) -> None:
    """The change in a few lines: levels, then the orders kept, cancelled and placed."""
    preview, inst = change.preview, change.instrument
    if change.status == "new":
        typer.echo(
            f"{change.symbol}: no book in this data dir yet; it starts with the new settings "
            "at the next `gridmaker run`"
        )
        return
    if change.status == "absent":
        typer.echo(f"{change.symbol}: not in the new config; its book is left as it is")
        return
    if change.status == "unchanged" or preview is None or inst is None:
        typer.echo(f"{change.symbol}: the book already runs these settings; nothing to change")
        return
    typer.echo(
        f"{change.symbol}: levels {len(preview.added)} added, {len(preview.removed)} removed, "
        f"{len(preview.repriced)} repriced, {preview.unchanged} unchanged"
    )
    typer.echo(
        f"  orders: {len(preview.kept)} kept, {len(preview.cancels)} to cancel, "
        f"{len(preview.places)} to place"
    )
    for cid in preview.cancels:
        typer.echo(f"  cancel {cid}")
    for place in preview.places:
        typer.echo(
            f"  place  {place.side.value:<4} {size_text(inst, place.qty_steps)} at "
            f"{price_text(inst, place.price_ticks)} ({place.cid})"
        )
    if change.earlier:
        ids = ", ".join(str(i) for i in change.earlier)
        typer.echo(
            f"  note: reconfiguration(s) {ids} queued earlier are not applied yet; this follows"
        )
    for move in preview.moves:
        to = price_text(inst, move.to_ticks) if move.to_ticks is not None else move.note
        typer.echo(
            f"  inventory {size_text(inst, move.qty_steps)} at "
            f"{price_text(inst, move.from_ticks)} -> {to}"
        )
