"""Changing a running grid: ``Reconfigure`` and ``CapitalChange`` as pure transitions.

A reconfiguration maps the old book onto the new grid by price, never by level index:

1. A level whose buy price the new grid still has keeps its slot, what it holds and its order,
   so that order keeps its client id and its place in the venue's queue. If the new grid gives
   it another sell price, only a working sell is cancelled and re-placed there. A level the
   new grid has outside its trailing window is kept too, disengaged (as the window leaves it).
2. A level the new grid does not have is retired: its open order is cancelled and, once it has
   none, what it holds is handed to a free level of the new grid whose sell recovers its cost
   (``Plan.rehome``). Levels the new grid adds start empty; a neutral grid hands them free
   base above the price, as at its start.
3. Client ids are never reused: a slot that is new, or whose level index changed, starts its
   cycles at ``cycle_floor``, above every cycle any id used before (level indices of the old
   grid may name other prices in the new one). Orders kept under an old index are found by
   their id (``decide._slot_of``).
4. A change that is unsafe is refused whole (``reshape_problems``); ``decide`` then leaves the
   book as it was. The shell asks first, to tell the operator why.

Order sizes are never a reason to cancel: a new size, added or withdrawn capital, and
compounding apply at each level's next buy cycle (``state.order_qty``).
"""

from __future__ import annotations

from gridmaker.core.events import CapitalChange, Fill, Reconfigure, Side
from gridmaker.core.evolve import evolve
from gridmaker.core.grid import GridSpec
from gridmaker.core.ids import decode_cid
from gridmaker.core.planning import Plan, engaged_window, free_funds
from gridmaker.core.slots import OrderState, Phase, Slot, hand_inventory, move_level
from gridmaker.core.state import Decision, GridMode, GridState, make_slot, order_qty
from gridmaker.core.units import FEE_SCALE, Atoms, Steps, notional_atoms

__all__ = [
    "capital_problems",
    "is_ours",
    "on_capital_change",
    "on_reconfigure",
    "on_stray_fill",
    "reshape_problems",
]


def reshape_problems(state: GridState, change: Reconfigure) -> list[str]:
    """Why ``change`` may not be applied to ``state`` (empty: it may)."""
    old, new = state.params, change.params
    problems = []
    if new.strategy_id != old.strategy_id:
        problems.append(
            f"strategy_id: the grid's client ids start with {old.strategy_id!r}; a new "
            f"strategy_id ({new.strategy_id!r}) is a new grid (use a new data dir)"
        )
    if new.mode is not old.mode and state.is_started:
        problems.append(f"mode: a running grid stays {old.mode.value}; was asked {new.mode.value}")
    if new.trailing != old.trailing:
        problems.append("grid.trailing: a running grid cannot switch between trailing and fixed")
    if new.order_qty_steps <= 0:
        problems.append("order_size must be > 0")
    if not state.is_started or change.allow_loss:
        return problems
    for slot in _kept_sells(state, change):
        if not _recovers(state, slot, slot.sell_ticks):
            problems.append(
                f"level at {slot.buy_ticks} ticks holds {slot.position_steps} steps that cost "
                f"{slot.cost_atoms - slot.proceeds_atoms} atoms; its new sell price "
                f"({slot.sell_ticks} ticks) would not recover that (allow_loss to accept)"
            )
    if problems:
        return problems  # where the lots would go is asked of an otherwise valid change only
    for slot in _stranded(state, change):
        problems.append(
            f"level at {slot.buy_ticks} ticks holds {slot.position_steps} steps that cost "
            f"{slot.cost_atoms - slot.proceeds_atoms} atoms; the new grid removes it and none "
            "of its levels sells high enough to recover that (allow_loss to accept)"
        )
    return problems


def on_reconfigure(state: GridState, change: Reconfigure) -> Plan | Decision:
    """The book on the new grid, with the cancels and places that takes; the book unchanged
    when the change is refused (``reshape_problems``)."""
    if reshape_problems(state, change):
        return Decision(state)
    used = max((s.cycle for s in state.slots.values()), default=-1)
    floor = max(state.cycle_floor, used + 1)
    grid = change.grid
    book = evolve(
        state,
        grid=grid,
        params=change.params,
        risk_params=change.risk_params,
        cycle_floor=floor,
        reshapes=state.reshapes + 1,
        loss_allowed=change.allow_loss,
    )
    if not state.is_started:
        return Decision(evolve(book, slots={}, price_level=0))
    if change.params.compound and not state.sizing_atoms:
        # Compounding from now on: today's equity is what the configured size stands for, and
        # only profit made from here grows it (``order_qty`` adds all realized profit).
        equity = _capital(state)
        profit = max(0, state.realized_pnl_atoms)
        book = evolve(book, capital_atoms=equity - profit, sizing_atoms=equity)
    level = grid.level_at_or_below(state.last_price_ticks)
    plan = Plan(evolve(book, price_level=level))
    plan.slots = {}
    low, high = engaged_window(plan.state, level)
    levels: dict[int, Slot] = {}
    for lv in range(low, high + 1):
        fresh = make_slot(grid, lv, floor)
        if fresh is not None:
            levels[fresh.buy_ticks] = fresh
    retired = _map_slots(plan, state, levels)
    for fresh in levels.values():
        plan.put(fresh)
    for slot in retired:
        plan.put(slot)  # before handing free base: what a retired level holds is not free
    if plan.state.params.mode is GridMode.NEUTRAL:
        _hand_free_base(plan, list(levels))
    for slot in retired:
        plan.retire(plan.slots[slot.buy_ticks])
    plan.plan_all_idle()
    return plan


def _map_slots(plan: Plan, state: GridState, levels: dict[int, Slot]) -> list[Slot]:
    """Carry every old slot whose price the new grid has onto its level (taking that level out
    of ``levels``); return the ones to retire: gone, but holding or working something."""
    retired = []
    for tick in sorted(state.slots):
        slot = state.slots[tick]
        target = levels.pop(tick, None)
        if target is not None:
            plan.put(_carry(plan, slot, target))
        elif not (slot.has_live_order or slot.position_steps):
            continue
        elif (outside := _off_window(plan.state, tick)) is not None:
            # A trailing window's level the new grid still has: kept, disengaged, as the
            # window would leave it (its sell works on; a buy is cancelled).
            carried = evolve(_carry(plan, slot, outside), is_engaged=False)
            if carried.order is OrderState.OPEN and carried.order_side is Side.BUY:
                carried = plan.cancel(carried)
            plan.put(carried)
        else:
            retired.append(evolve(slot, retiring=True, is_engaged=False))
    return retired


def _off_window(state: GridState, tick: int) -> Slot | None:
    """The new grid's slot at ``tick`` outside its engaged window, if it has one there."""
    return _slot_at(state.grid, tick, state.cycle_floor)


def _slot_at(grid: GridSpec, tick: int, cycle: int = 0) -> Slot | None:
    """A slot of ``grid`` whose buy price is ``tick``, if it has one there."""
    level = grid.level_at_or_below(tick)
    if not grid.has_level(level) or grid.price_ticks(level) != tick:
        return None
    return make_slot(grid, level, cycle)


def _carry(plan: Plan, slot: Slot, target: Slot) -> Slot:
    """``slot`` on the new grid's level at its price: same holdings, same order."""
    # A retiring slot's index may have named another price (and ids) since: it takes the floor.
    cycle = slot.cycle if slot.level == target.level and not slot.retiring else target.cycle
    carried = move_level(slot, level=target.level, sell_ticks=target.sell_ticks, cycle=cycle)
    if (
        carried.order is OrderState.OPEN
        and carried.order_side is not None
        and carried.phase is Phase.SELL
        and carried.order_price_ticks != carried.sell_ticks
    ):
        carried = plan.cancel(carried)  # repriced: re-placed once the venue confirms the cancel
    return carried


def _hand_free_base(plan: Plan, added: list[int]) -> None:
    """A neutral grid's new levels above the price take free base, as at its start."""
    st = plan.state
    qty = order_qty(st)
    free = free_funds(st, plan.slots).base
    for tick in sorted(added):
        slot = plan.slots[tick]
        if slot.buy_ticks < st.last_price_ticks or free < qty or qty <= 0:
            continue
        free -= qty
        plan.put(hand_inventory(slot, Steps(qty), notional_atoms(st.last_price_ticks, qty)))


def _kept_sells(state: GridState, change: Reconfigure) -> list[Slot]:
    """Levels that hold inventory and stay, with the sell price the new grid gives them."""
    grid = change.grid
    out = []
    for slot in state.slots.values():
        if slot.position_steps <= 0:
            continue
        level = grid.level_at_or_below(slot.buy_ticks)
        if not grid.has_level(level + 1) or grid.price_ticks(level) != slot.buy_ticks:
            continue
        sell = grid.price_ticks(level + 1)
        if sell != slot.sell_ticks:
            out.append(evolve(slot, sell_ticks=sell))
    return out


def _stranded(state: GridState, change: Reconfigure) -> list[Slot]:
    """Levels holding inventory that the new grid removes, when no level of its window (at
    the last price) sells high enough to recover their cost: their lots could find no home."""
    grid = change.grid
    lots = [
        s
        for s in state.slots.values()
        if s.position_steps > 0 and _slot_at(grid, s.buy_ticks) is None
    ]
    if not lots:
        return []
    book = evolve(state, grid=grid, params=change.params)
    low, high = engaged_window(book, grid.level_at_or_below(state.last_price_ticks))
    top = max(
        (s.sell_ticks for lv in range(low, high + 1) if (s := make_slot(grid, lv)) is not None),
        default=0,
    )
    return [s for s in lots if not top or not _recovers(state, s, top)]


def _recovers(state: GridState, slot: Slot, price: int) -> bool:
    qty = slot.position_steps
    net = notional_atoms(price, qty) - state.instrument.fee(price, qty)
    return net >= slot.cost_atoms - slot.proceeds_atoms


def is_ours(state: GridState, cid: str) -> bool:
    decoded = decode_cid(cid)
    return decoded is not None and decoded.strategy == state.params.strategy_id


def on_stray_fill(state: GridState, fill: Fill) -> Plan:
    """A fill of one of our ids that no level works any more (after a reconfiguration: a
    fill that arrives after its order's cancel was confirmed and its lot handed on). The
    balances move as the venue says and it is counted as an anomaly; a buy adds to the dust,
    a sale takes the dust first, then held inventory lowest first (a level whose order still
    works keeps its cycle: its order ends it)."""
    notional = notional_atoms(fill.price_ticks, fill.qty_steps)
    is_buy = fill.side is Side.BUY
    qty = fill.qty_steps
    dust = state.dust_steps + qty if is_buy else max(0, state.dust_steps - qty)
    plan = Plan(
        evolve(
            state,
            base_steps=Steps(state.base_steps + (qty if is_buy else -qty)),
            quote_atoms=Atoms(
                state.quote_atoms - fill.fee_atoms + (-notional if is_buy else notional)
            ),
            fees_atoms=Atoms(state.fees_atoms + fill.fee_atoms),
            buy_fills=state.buy_fills + (1 if is_buy else 0),
            sell_fills=state.sell_fills + (0 if is_buy else 1),
            dust_steps=Steps(dust),
            anomalies=state.anomalies + 1,
        )
    )
    left = 0 if is_buy else max(0, qty - state.dust_steps)
    for tick in sorted(plan.slots):
        slot = plan.slots[tick]
        take = min(left, slot.position_steps)
        if take <= 0:
            continue
        left -= take
        slot = evolve(
            slot,
            position_steps=Steps(slot.position_steps - take),
            proceeds_atoms=Atoms(slot.proceeds_atoms + notional_atoms(fill.price_ticks, take)),
        )
        emptied = slot.position_steps == 0 and not slot.has_live_order
        plan.put(plan.close_cycle(slot) if emptied else slot)
    return plan


# --- capital ---------------------------------------------------------------------------------


def capital_problems(state: GridState, change: CapitalChange) -> list[str]:
    """Why ``change`` may not be applied (empty: it may)."""
    if change.delta_atoms == 0:
        return ["the amount must not be 0"]
    if not state.sizing_atoms and not state.last_price_ticks and state.base_steps:
        # Sizes follow capital as a share of equity, and the base has no price to count at yet.
        return ["the grid has seen no price yet to value its base at; change it once it has"]
    if change.delta_atoms > 0:
        return []
    free = free_funds(state, state.slots).quote
    if -change.delta_atoms > free:
        return [
            f"cannot withdraw {-change.delta_atoms} atoms: only {max(0, free)} are free "
            "(the rest is held by working buys)"
        ]
    if _capital(state) + change.delta_atoms <= 0:
        return ["cannot withdraw all of the grid's capital; stop the grid instead"]
    return []


def on_capital_change(state: GridState, change: CapitalChange) -> Plan | Decision:
    """Quote added or withdrawn: the balance now, the order sizes at each next buy cycle."""
    if capital_problems(state, change):
        return Decision(state)
    capital = _capital(state)
    sizing = state.sizing_atoms or capital
    risk = state.risk
    if risk.high_water_atoms:
        # Equity moves by what was added or withdrawn: neither is a gain or a drawdown.
        risk = evolve(risk, high_water_atoms=max(0, risk.high_water_atoms + change.delta_atoms))
    book = evolve(
        state,
        quote_atoms=Atoms(state.quote_atoms + change.delta_atoms),
        capital_atoms=capital + change.delta_atoms,
        sizing_atoms=sizing,
        risk=risk,
    )
    plan = Plan(book)
    if book.is_started:
        plan.plan_all_idle()  # added quote may fund buys that waited for it
    return plan


def _capital(state: GridState) -> int:
    """The capital sizes follow: set once, as the book's equity at the last price."""
    if state.sizing_atoms:
        return state.capital_atoms
    return state.quote_atoms + state.base_steps * state.last_price_ticks * FEE_SCALE
