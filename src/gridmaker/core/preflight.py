"""Pre-flight checks on a new book: refuse to start a grid that cannot work as configured."""

from __future__ import annotations

from gridmaker.core.decide import decide
from gridmaker.core.display import money_text, price_text, size_text
from gridmaker.core.errors import InvalidGrid
from gridmaker.core.events import PriceTick
from gridmaker.core.grid import GridTemplate
from gridmaker.core.state import GridMode, GridState
from gridmaker.core.units import FEE_SCALE, MAX_STORED, Instrument, Steps, Ticks, notional_atoms

__all__ = ["grid_refusal", "preflight"]


def preflight(state: GridState, price_ticks: int) -> list[str]:
    """Every reason the grid ``state`` (not started) would fail at ``price_ticks``; [] = fine."""
    problems: list[str] = []
    inst, qty = state.instrument, state.params.order_qty_steps
    started = decide(
        state,
        PriceTick(
            symbol=state.symbol, price_ticks=Ticks(price_ticks), qty_steps=Steps(0), ts_event=0
        ),
    ).state
    slots = sorted(started.slots.values(), key=lambda s: s.level)
    round_trip_ppm = 2 * inst.maker_fee_ppm
    thin = [
        s for s in slots if (s.sell_ticks - s.buy_ticks) * FEE_SCALE <= s.buy_ticks * round_trip_ppm
    ]
    if thin:
        s = thin[0]
        gap = (s.sell_ticks - s.buy_ticks) * 100 / s.buy_ticks
        problems.append(
            f"grid spacing does not cover the round-trip fees: level {s.level} is {gap:.4f}% "
            f"wide, two maker fees are {round_trip_ppm / 10_000:.4f}% (widen the spacing)"
        )
    huge = [s for s in slots if not inst.fits_store(s.sell_ticks, qty)]
    if huge:
        s = huge[-1]
        problems.append(
            f"an order of {size_text(inst, qty)} at level {s.level} "
            f"({price_text(inst, s.sell_ticks)}) is too large for the book's 64-bit integers: "
            f"its price in ticks, size in steps and fee in atoms must stay at or below "
            f"{MAX_STORED} (a coarser tick or step, a smaller order_size or fewer levels)"
        )
    small = [s for s in slots if not inst.is_tradeable(s.buy_ticks, qty)]
    if small:
        s = small[0]
        problems.append(
            f"order size {size_text(inst, qty)} at level {s.level} "
            f"({price_text(inst, s.buy_ticks)}) is below the minimum quantity {inst.min_qty} or "
            f"notional {inst.min_notional} (raise order_size or narrow the range)"
        )
    buys = [s for s in slots if s.buy_ticks < price_ticks]
    need_quote = sum(notional_atoms(s.buy_ticks, qty) + inst.fee(s.buy_ticks, qty) for s in buys)
    if need_quote > state.quote_atoms:
        problems.append(
            f"balance too small for the grid: its {len(buys)} buys need "
            f"{money_text(inst, need_quote)} {inst.quote}, the account has "
            f"{money_text(inst, state.quote_atoms)}"
        )
    if state.params.mode is GridMode.NEUTRAL:
        sells = [s for s in slots if s.buy_ticks >= price_ticks]
        need_base = len(sells) * qty
        if need_base > state.base_steps:
            problems.append(
                f"balance too small for the grid: its {len(sells)} sells need "
                f"{size_text(inst, need_base)} {inst.base}, the account has "
                f"{size_text(inst, state.base_steps)}"
            )
    return problems


def grid_refusal(template: GridTemplate, instrument: Instrument, price_ticks: int) -> str | None:
    """Why no grid can be built at a first price of ``price_ticks`` (None: it can be).

    The config is checked when the first price is known in advance (the built-in exchange's
    walk); a recorded feed's or a real venue's first price is known only here, at boot.
    """
    try:
        template.build(price_ticks)
    except InvalidGrid as e:
        if template.lower_ticks is not None:
            return f"the grid's lower..upper range does not hold a grid at this spacing ({e})"
        fit, _ = template.levels_that_fit(
            price_ticks,
            below=template.buy_levels,
            above=template.sell_levels,
            max_ticks=MAX_STORED,
        )
        return (
            f"{template.buy_levels} buy_levels below the first price "
            f"{price_text(instrument, price_ticks)} reach "
            f"price 0 or fall on one tick ({e}); the lowest level must stay above zero: at most "
            f"{fit} fit"
        )
    return None
