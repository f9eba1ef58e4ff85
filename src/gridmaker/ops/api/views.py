"""The control API's JSON: books, ladders, fills, commands and notices as a reader gets them.

Money, prices and sizes are plain decimal strings in the venue's units (``core.display``), never
floats and never ``1E+2``; a time is an ISO-8601 UTC string beside its epoch milliseconds, so a
person and a program each read the one they need.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from gridmaker.core.display import money_text, price_text, size_text
from gridmaker.engine.notices import FillApplied, Notice
from gridmaker.engine.summary import book_summary
from gridmaker.ops.hub import notice_json

if TYPE_CHECKING:
    from gridmaker.core.state import GridState
    from gridmaker.core.units import Instrument
    from gridmaker.engine.book import BookView
    from gridmaker.store import Store
    from gridmaker.store.sqlite_store import CommandRecord, FillRow

__all__ = [
    "command_json",
    "event_json",
    "fill_json",
    "ladder_json",
    "market_json",
    "stamp",
    "stamp_text",
]


def stamp(ms: int) -> dict[str, Any]:
    """An epoch-ms time as ``{"at": ISO-8601 UTC, "ms": ms}``; ``None`` for 0 (never)."""
    if not ms:
        return {"at": None, "ms": None}
    return {
        "at": datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds"),
        "ms": ms,
    }


def stamp_text(text: str | None) -> dict[str, Any]:
    """A stored ISO time (the store writes them) with its epoch ms beside it."""
    if not text:
        return {"at": None, "ms": None}
    return {"at": text, "ms": int(datetime.fromisoformat(text).timestamp() * 1000)}


def market_json(view: BookView, store: Store) -> dict[str, Any]:
    """One market: ``gridmaker status --json``'s summary of the book, then what a running bot
    knows beside it (breaker details, the boot sync, the last sync and audit, the source)."""
    state = view.state
    out: dict[str, Any] = (
        book_summary(state, store) if state is not None else {"symbol": view.symbol}
    )
    out["trading"] = not view.halted and state is not None
    out["halted"] = view.halted
    out["breaker_details"] = _breaker(state)
    out["boot_sync_report"] = view.report.counts()
    out["last_sync"] = stamp(view.synced_ms)
    out["last_price_at"] = stamp(view.last_price_ms)
    out["last_decision_at"] = stamp(view.last_decision_ms)
    out["price_source"] = view.source
    audit = view.audit
    out["last_audit"] = (
        None
        if audit is None
        else {
            "expected": audit.expected,
            "open_at_venue": audit.open_at_venue,
            "missing": audit.missing,
            "unexpected": audit.unexpected,
            "foreign": audit.foreign,
            "unknown": audit.unknown,
            "oldest_unknown_s": round(audit.oldest_unknown_s, 3),
            "diverges": audit.diverges,
            **stamp(audit.at_ms),
        }
    )
    return out


def _breaker(state: GridState | None) -> dict[str, Any] | None:
    if state is None:
        return None
    risk = state.risk
    return {
        "state": risk.breaker.value,
        "trigger": risk.trigger,
        "reason": risk.reason,
        "tripped_at": stamp(risk.tripped_at),
        "cleared_by": risk.cleared_by,
        "cleared_at": stamp(risk.cleared_at),
        "trips": risk.trips,
    }


def ladder_json(state: GridState) -> list[dict[str, Any]]:
    """Every slot the book holds, highest price first: the rows ``gridmaker status`` prints,
    idle levels included."""
    inst = state.instrument
    rows = []
    for tick in sorted(state.slots, reverse=True):
        slot = state.slots[tick]
        working = bool(slot.order_cid)
        rows.append(
            {
                "level": slot.level,
                "price": price_text(inst, slot.buy_ticks),
                "sell_price": price_text(inst, slot.sell_ticks),
                "phase": slot.phase.value,
                "held": size_text(inst, slot.position_steps),
                "order": slot.order.value,
                "side": slot.order_side.value if slot.order_side else "",
                "order_price": price_text(inst, slot.order_price_ticks) if working else "",
                "size": size_text(inst, slot.order_qty_steps) if working else "",
                "cycle": slot.cycle,
                "client_order_id": slot.order_cid,
                "engaged": slot.is_engaged,
            }
        )
    return rows


def fill_json(row: FillRow, inst: Instrument) -> dict[str, Any]:
    return {
        "seq": row.seq,
        "trade_id": row.trade_id,
        "client_order_id": row.client_order_id,
        "side": row.side,
        "price": price_text(inst, row.price_ticks),
        "qty": size_text(inst, row.qty_steps),
        "fee": money_text(inst, row.fee_atoms),
        **stamp(row.ts_event),
    }


def command_json(record: CommandRecord) -> dict[str, Any]:
    """A command and its fate: ``refused`` (with why, ``outcome``) once the loop refused it;
    ``payload`` is its arguments as parsed JSON (``None`` for a command without any)."""
    return {
        "id": record.id,
        "command": record.command,
        "symbol": record.symbol,
        "reason": record.reason,
        "request_id": record.request_id,
        "status": "applied" if record.applied_at else "pending",
        "refused": bool(record.applied_at and record.outcome),
        "outcome": record.outcome,
        "payload": _payload(record.payload),
        "created_at": stamp_text(record.created_at),
        "applied_at": stamp_text(record.applied_at),
    }


def _payload(text: str) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:  # written by this program: unreadable means damaged, shown as it is
        return text


def event_json(notice: Notice, instruments: dict[str, Instrument]) -> dict[str, Any]:
    """``notice_json`` with the time as ISO beside its ms, and a fill's numbers in plain
    decimals (``price``, ``qty``, ``fee``) beside its integer ticks, steps and atoms."""
    body = notice_json(notice)
    body["at"] = stamp(notice.at_ms)["at"]
    if isinstance(notice, FillApplied) and (inst := instruments.get(notice.symbol)) is not None:
        body["price"] = price_text(inst, notice.price_ticks)
        body["qty"] = size_text(inst, notice.qty_steps)
        body["fee"] = money_text(inst, notice.fee_atoms)
    return body
