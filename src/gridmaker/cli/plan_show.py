"""How ``gridmaker plan`` shows a preview: aligned lines for a person, one JSON line for a
program. Prices, sizes and money as the user writes them (``core.display``), never ticks; JSON
carries them as decimal strings."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from gridmaker.core.display import money_text, plain, price_text, size_text

if TYPE_CHECKING:
    from gridmaker.cli.plan_history import Comparison
    from gridmaker.core.change_preview import (
        ChangePreview,
        Economics,
        NewGridPreview,
        OrderToPlace,
    )
    from gridmaker.core.state import GridState
    from gridmaker.core.units import Instrument

__all__ = ["MarketPlan", "plan_json", "show_plans"]

SHOWN: Final = 20
"""Items of a list a person sees before "... and N more" (``--json`` lists every one)."""
LABEL: Final = 12


@dataclass(frozen=True, slots=True, kw_only=True)
class MarketPlan:
    """One market's preview: a change to its stored book, or a new grid."""

    instrument: Instrument
    change: ChangePreview | None = None
    before: GridState | None = None
    new: NewGridPreview | None = None
    price_source: str = ""

    @property
    def problems(self) -> tuple[str, ...]:
        preview = self.change or self.new
        assert preview is not None
        return preview.problems


def show_plans(plans: Sequence[MarketPlan], compared: Comparison | None, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(plan_json(plans, compared), sort_keys=True) + "\n")
        return
    lines: list[str] = []
    for market in plans:
        lines += _change_lines(market) if market.change is not None else _new_lines(market)
        lines.append("")
    if compared is not None:
        from gridmaker.cli.plan_history import comparison_lines

        lines += [*comparison_lines(compared), ""]
    refused = [p.instrument.symbol for p in plans if p.problems]
    if refused:
        lines.append(f"plan: refused for {', '.join(refused)} (exit 2); nothing was changed")
    else:
        lines.append("plan: allowed; nothing was changed (apply it with `gridmaker reconfigure`)")
    sys.stdout.write("\n".join(lines) + "\n")


# --- for a person ----------------------------------------------------------------------------


def _row(label: str, text: str) -> str:
    return f"  {label:<{LABEL}}{text}"


def _listed(items: Sequence[str]) -> str:
    more = len(items) - SHOWN
    return ", ".join(items[:SHOWN]) + (
        f" ... and {more} more (--json lists all)" if more > 0 else ""
    )


def _verdict(problems: tuple[str, ...]) -> str:
    return "REFUSED" if problems else "allowed"


def _change_lines(market: MarketPlan) -> list[str]:
    p, inst, before = market.change, market.instrument, market.before
    assert p is not None and before is not None
    last = price_text(inst, before.last_price_ticks)
    lines = [f"{p.symbol}: change to the running grid (last price {last}): {_verdict(p.problems)}"]
    if p.problems:
        return lines + [_row("problem", text) for text in p.problems]
    if not before.is_started:
        lines.append(_row("note", "the grid has not started yet: it will start on the new grid"))
    prices = [price_text(inst, t) for t in p.added]
    lines.append(
        _row(
            "levels",
            f"{len(p.added)} added, {len(p.removed)} removed, {len(p.repriced)} repriced, "
            f"{p.unchanged} unchanged",
        )
    )
    if prices:
        lines.append(_row("  added", _listed(prices)))
    if p.removed:
        lines.append(_row("  removed", _listed([price_text(inst, t) for t in p.removed])))
    if p.repriced:
        moved = [
            f"{price_text(inst, r.buy_ticks)} sells at {price_text(inst, r.new_sell_ticks)} "
            f"(was {price_text(inst, r.old_sell_ticks)})"
            for r in p.repriced
        ]
        lines.append(_row("  repriced", _listed(moved)))
    lines.append(
        _row("orders", f"{len(p.kept)} kept, {len(p.cancels)} cancelled, {len(p.places)} placed")
    )
    if p.cancels:
        lines.append(_row("  cancel", _listed(list(p.cancels))))
    lines += _place_lines(inst, p.places)
    assert p.economics is not None
    lines += _economics_lines(inst, p.economics)
    lines += _move_lines(inst, p)
    return lines


def _new_lines(market: MarketPlan) -> list[str]:
    p, inst = market.new, market.instrument
    assert p is not None
    at = price_text(inst, p.anchor_ticks)
    lines = [
        f"{p.symbol}: new grid at {at} ({market.price_source}): {_verdict(p.problems)}",
        *(_row("problem", text) for text in p.problems),
    ]
    if p.book is None:
        return lines
    slots = sorted(p.book.slots)
    grid = p.book.grid
    if slots:
        top = price_text(inst, p.book.slots[slots[-1]].sell_ticks)
        span = f"{len(slots)} levels from {price_text(inst, slots[0])} to {top}"
        lines.append(_row("grid", span + (" (trailing)" if p.book.params.trailing else "")))
    elif grid.is_bounded:
        lines.append(_row("grid", "no level"))
    if p.trigger_ticks:
        trigger = price_text(inst, p.trigger_ticks)
        lines.append(_row("trigger", f"nothing is placed until the price crosses {trigger}"))
    buys = sum(1 for o in p.places if o.side.value == "buy")
    lines.append(
        _row(
            "orders", f"{len(p.places)} placed at start: {buys} buys, {len(p.places) - buys} sells"
        )
    )
    lines += _place_lines(inst, p.places)
    assert p.economics is not None
    lines += _economics_lines(inst, p.economics, break_even_at=p.anchor_ticks)
    return lines


def _place_lines(inst: Instrument, places: Sequence[OrderToPlace]) -> list[str]:
    lines = [
        _row(
            "  place",
            f"{o.side.value:<4} {size_text(inst, o.qty_steps)} @ {price_text(inst, o.price_ticks)}"
            f"  {o.cid}",
        )
        for o in places[:SHOWN]
    ]
    if len(places) > SHOWN:
        lines.append(_row("", f"... and {len(places) - SHOWN} more (--json lists all)"))
    return lines


def _percent(ppm: int) -> str:
    return plain(Decimal(ppm) / 10_000) + "%"


def _economics_lines(inst: Instrument, e: Economics, break_even_at: int = 0) -> list[str]:
    q, b = inst.quote, inst.base
    lines = [
        _row(
            "capital",
            f"{money_text(inst, e.buy_reserve_atoms)} {q} reserved by {e.working_buys} working "
            f"buys; the book has {money_text(inst, e.quote_atoms)} {q} "
            f"({money_text(inst, e.free_atoms)} free)",
        )
    ]
    if e.unfunded_buys:
        lines.append(
            _row(
                "",
                f"{e.unfunded_buys} more buys wait for funds: they need "
                f"{money_text(inst, e.unfunded_atoms)} {q} more",
            )
        )
    lines.append(
        _row(
            "base",
            f"{size_text(inst, e.base_held_steps)} {b} held by the levels; the book has "
            f"{size_text(inst, e.base_steps)} {b}",
        )
    )
    covers = "covers them" if not e.thin_levels else "does NOT cover them"
    spacing = (
        f"narrowest {_percent(e.narrowest_spacing_ppm)} vs two maker fees "
        f"{_percent(e.round_trip_fee_ppm)}: {covers}"
    )
    if break_even_at:
        even = inst.tick_size * break_even_at * e.round_trip_fee_ppm / 1_000_000
        spacing += f" (break-even spacing {plain(even)} {q} at {price_text(inst, break_even_at)})"
    lines.append(_row("spacing", spacing))
    if e.thin_levels:
        thin = [price_text(inst, t) for t in e.thin_levels]
        lines.append(_row("", f"{len(thin)} levels lose on a round trip: {_listed(thin)}"))
    if e.below_minimum:
        small = [price_text(inst, t) for t in e.below_minimum]
        lines.append(
            _row(
                "minimums",
                f"{len(small)} levels' orders are below the minimum quantity {plain(inst.min_qty)}"
                f" or notional {plain(inst.min_notional)}: {_listed(small)}",
            )
        )
    else:
        lines.append(_row("minimums", "every level's order meets the venue's minimums"))
    return lines


def _move_lines(inst: Instrument, p: ChangePreview) -> list[str]:
    if not p.moves:
        return [_row("inventory", "none changes hands")]
    lines: list[str] = []
    for m in p.moves:
        cost = f"cost {money_text(inst, m.cost_atoms)} {inst.quote}"
        lot = f"{size_text(inst, m.qty_steps)} {inst.base} ({cost})"
        if m.to_ticks is None:
            text = f"{lot} at {price_text(inst, m.from_ticks)} {m.note}"
        else:
            route = f"{price_text(inst, m.from_ticks)} to {price_text(inst, m.to_ticks)}"
            text = f"{lot} moves from {route}"
        lines.append(_row("inventory" if not lines else "", text))
    return lines


# --- for a program ---------------------------------------------------------------------------


def plan_json(plans: Sequence[MarketPlan], compared: Comparison | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "allowed": not any(p.problems for p in plans),
        "markets": [_market_json(p) for p in plans],
    }
    if compared is not None:
        from gridmaker.cli.plan_history import comparison_json

        out["history"] = comparison_json(compared)
    return out


def _market_json(market: MarketPlan) -> dict[str, Any]:
    inst = market.instrument
    if market.change is not None:
        p = market.change
        assert market.before is not None
        out: dict[str, Any] = {
            "symbol": p.symbol,
            "kind": "change",
            "allowed": p.allowed,
            "problems": list(p.problems),
            "last_price": price_text(inst, market.before.last_price_ticks),
        }
        if p.problems:
            return out
        out["levels"] = {
            "added": [price_text(inst, t) for t in p.added],
            "removed": [price_text(inst, t) for t in p.removed],
            "repriced": [
                {
                    "buy": price_text(inst, r.buy_ticks),
                    "old_sell": price_text(inst, r.old_sell_ticks),
                    "new_sell": price_text(inst, r.new_sell_ticks),
                }
                for r in p.repriced
            ],
            "unchanged": p.unchanged,
        }
        out["orders"] = {
            "keep": list(p.kept),
            "cancel": list(p.cancels),
            "place": _places_json(inst, p.places),
        }
        out["inventory_moves"] = [
            {
                "from": price_text(inst, m.from_ticks),
                "to": None if m.to_ticks is None else price_text(inst, m.to_ticks),
                "size": size_text(inst, m.qty_steps),
                "cost": money_text(inst, m.cost_atoms),
                "note": m.note,
            }
            for m in p.moves
        ]
        assert p.economics is not None
        return out | _economics_json(inst, p.economics)
    n = market.new
    assert n is not None
    out = {
        "symbol": n.symbol,
        "kind": "new",
        "allowed": n.allowed,
        "problems": list(n.problems),
        "price": price_text(inst, n.anchor_ticks),
        "price_source": market.price_source,
        "trigger": price_text(inst, n.trigger_ticks) if n.trigger_ticks else None,
    }
    if n.economics is None:
        return out
    out["orders"] = {"place": _places_json(inst, n.places)}
    return out | _economics_json(inst, n.economics)


def _places_json(inst: Instrument, places: Sequence[OrderToPlace]) -> list[dict[str, str]]:
    return [
        {
            "cid": o.cid,
            "side": o.side.value,
            "price": price_text(inst, o.price_ticks),
            "size": size_text(inst, o.qty_steps),
        }
        for o in places
    ]


def _economics_json(inst: Instrument, e: Economics) -> dict[str, Any]:
    return {
        "capital": {
            "needed": money_text(inst, e.buy_reserve_atoms),
            "working_buys": e.working_buys,
            "quote": money_text(inst, e.quote_atoms),
            "free": money_text(inst, e.free_atoms),
            "unfunded_buys": e.unfunded_buys,
            "unfunded": money_text(inst, e.unfunded_atoms),
        },
        "base": {
            "held": size_text(inst, e.base_held_steps),
            "book": size_text(inst, e.base_steps),
        },
        "spacing": {
            "narrowest_ppm": e.narrowest_spacing_ppm,
            "round_trip_fee_ppm": e.round_trip_fee_ppm,
            "covers_fees": not e.thin_levels,
            "thin_levels": [price_text(inst, t) for t in e.thin_levels],
        },
        "below_minimum": [price_text(inst, t) for t in e.below_minimum],
    }
