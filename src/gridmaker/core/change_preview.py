"""What a change would do, before it is made: ``preview_change`` and ``preview_new_grid``.

Nothing here predicts by a second set of rules. ``preview_change`` runs the real core: it
decides the ``Reconfigure``, then answers every cancel it asks for with the venue's
"cancelled" and every order it places with "open", deciding each answer in turn (a repriced
sell is re-placed only once its cancel is confirmed, a retired level hands on its inventory
only once its order is gone), until no new action comes. What the preview shows is therefore
what the loop would send if the venue answered each order at once; fills that happen meanwhile
are the market's, not the change's. ``preview_new_grid`` starts a fresh book the way the
engine's boot does (the pre-flight checks, then the first price).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Final

from gridmaker.core.decide import decide
from gridmaker.core.errors import CoreError
from gridmaker.core.events import (
    Action,
    CancelOrder,
    OrderStatus,
    OrderUpdate,
    PlaceOrder,
    PriceTick,
    Reconfigure,
    Side,
)
from gridmaker.core.evolve import evolve
from gridmaker.core.planning import is_parked
from gridmaker.core.preflight import grid_refusal, preflight
from gridmaker.core.reshape import reshape_problems
from gridmaker.core.setup import BookSetup
from gridmaker.core.slots import OrderState, Phase, Slot
from gridmaker.core.state import Control, GridState, new_state, order_qty
from gridmaker.core.units import FEE_SCALE, Instrument, Steps, Ticks, notional_atoms

__all__ = [
    "ChangePreview",
    "Economics",
    "LotMove",
    "NewGridPreview",
    "OrderToPlace",
    "PreviewDiverged",
    "Reprice",
    "economics",
    "preview_change",
    "preview_new_grid",
]

MAX_ANSWERS_PER_SLOT: Final = 8
"""A slot's order is cancelled, re-placed and acknowledged a handful of times at most; more
answers than this per slot means the preview is not converging (a bug), never a slow book."""


class PreviewDiverged(CoreError):
    """Answering the change's orders kept producing new ones (our bug): no preview to show."""


@dataclass(frozen=True, slots=True)
class OrderToPlace:
    cid: str
    side: Side
    price_ticks: int
    qty_steps: int


@dataclass(frozen=True, slots=True)
class Reprice:
    """A level that stays at its buy price with a new sell price."""

    buy_ticks: int
    old_sell_ticks: int
    new_sell_ticks: int


@dataclass(frozen=True, slots=True)
class LotMove:
    """Inventory of a removed level, handed to the level whose sell recovers its cost.

    ``to_ticks`` is ``None`` when it stays where it is for now; ``note`` says why."""

    from_ticks: int
    to_ticks: int | None
    qty_steps: int
    cost_atoms: int
    """What the lot cost, less what its partial sells already brought (fees included)."""
    note: str = ""


@dataclass(frozen=True, slots=True)
class Economics:
    """Money and rules of a book as a change (or a start) leaves it."""

    buy_reserve_atoms: int
    """Quote reserved by every working buy, fees included: the capital the grid needs now."""
    working_buys: int
    unfunded_buys: int
    """Buys the grid wants below the price but cannot fund from the free quote."""
    unfunded_atoms: int
    quote_atoms: int
    """The book's quote balance."""
    base_held_steps: int
    """Base held by the levels (and as dust)."""
    base_steps: int
    """The book's base balance."""
    narrowest_spacing_ppm: int
    """The narrowest level's spacing relative to its buy price (0: no level)."""
    round_trip_fee_ppm: int
    """Two maker fees: a spacing at or below it loses money on every round trip."""
    thin_levels: tuple[int, ...]
    """Buy prices of levels whose spacing does not cover the round trip's fees."""
    below_minimum: tuple[int, ...]
    """Buy prices of levels whose order is below the minimum quantity or notional."""

    @property
    def free_atoms(self) -> int:
        return self.quote_atoms - self.buy_reserve_atoms


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangePreview:
    """A running book's change: empty but for ``problems`` when the change is refused."""

    symbol: str
    problems: tuple[str, ...]
    added: tuple[int, ...] = ()
    """Buy prices of the levels the change adds."""
    removed: tuple[int, ...] = ()
    repriced: tuple[Reprice, ...] = ()
    unchanged: int = 0
    kept: tuple[str, ...] = ()
    """Client ids of live orders that stay, untouched."""
    cancels: tuple[str, ...] = ()
    places: tuple[OrderToPlace, ...] = ()
    moves: tuple[LotMove, ...] = ()
    economics: Economics | None = None
    book: GridState | None = None
    """The book once every answer is decided."""

    @property
    def allowed(self) -> bool:
        return not self.problems


@dataclass(frozen=True, slots=True, kw_only=True)
class NewGridPreview:
    """A grid with no book yet, started at ``anchor_ticks`` as the engine starts it."""

    symbol: str
    problems: tuple[str, ...]
    anchor_ticks: int
    trigger_ticks: int = 0
    places: tuple[OrderToPlace, ...] = ()
    economics: Economics | None = None
    book: GridState | None = None

    @property
    def allowed(self) -> bool:
        return not self.problems


def preview_change(state: GridState, change: Reconfigure) -> ChangePreview:
    """What ``change`` does to ``state``: run through ``decide`` with every order answered."""
    problems = reshape_problems(state, change)
    if problems:
        return ChangePreview(symbol=state.symbol, problems=tuple(problems))
    first = decide(state, change)
    book, actions = _settle(first.state, first.actions, change.ts_event)
    before, after = _levels(state), _levels(first.state)
    cancels = tuple(a.client_order_id for a in actions if isinstance(a, CancelOrder))
    live_after = {s.order_cid for s in book.slots.values() if s.has_live_order}
    kept = tuple(
        s.order_cid
        for s in _by_price(state)
        if s.has_live_order
        and s.order is not OrderState.CANCELLING  # already on its way out: not kept
        and s.order_cid in live_after
        and s.order_cid not in cancels
    )
    common = sorted(before.keys() & after.keys())
    return ChangePreview(
        symbol=state.symbol,
        problems=(),
        added=tuple(sorted(after.keys() - before.keys())),
        removed=tuple(sorted(before.keys() - after.keys())),
        repriced=tuple(Reprice(t, before[t], after[t]) for t in common if before[t] != after[t]),
        unchanged=sum(1 for t in common if before[t] == after[t]),
        kept=kept,
        cancels=cancels,
        places=_places(actions),
        moves=_moves(state, book, before.keys() - after.keys()),
        economics=economics(book),
        book=book,
    )


def preview_new_grid(
    setup: BookSetup, instrument: Instrument, price_ticks: int, base_steps: int, quote_atoms: int
) -> NewGridPreview:
    """A grid for ``setup`` started at ``price_ticks`` with these balances, as the engine's
    boot starts one (centred on the trigger when there is one): the pre-flight refusals, the
    orders sent at its start and what it needs."""
    anchor = setup.trigger_ticks or price_ticks
    refusal = grid_refusal(setup.template, instrument, anchor)
    if refusal is not None:
        return NewGridPreview(symbol=setup.symbol, problems=(refusal,), anchor_ticks=anchor)
    state = new_state(
        symbol=setup.symbol,
        instrument=instrument,
        grid=setup.template.build(anchor),
        params=setup.params,
        base_steps=base_steps,
        quote_atoms=quote_atoms,
        trigger_ticks=setup.trigger_ticks,
    )
    problems = preflight(state, anchor)
    tick = PriceTick(symbol=setup.symbol, price_ticks=Ticks(anchor), qty_steps=Steps(0), ts_event=0)
    started = decide(evolve(state, risk_params=setup.risk), tick)
    book, actions = _settle(started.state, started.actions, 0)
    return NewGridPreview(
        symbol=setup.symbol,
        problems=tuple(problems),
        anchor_ticks=anchor,
        trigger_ticks=setup.trigger_ticks,
        places=_places(actions),
        economics=economics(book),
        book=book,
    )


def economics(book: GridState) -> Economics:
    """The capital, base, spacing and minimums of ``book`` (retiring levels aside)."""
    inst = book.instrument
    qty = order_qty(book)
    reserve = working = unfunded = unfunded_atoms = 0
    may_buy = book.risk.is_active and book.control is Control.TRADING
    round_trip = 2 * inst.maker_fee_ppm
    narrowest: int | None = None
    thin: list[int] = []
    small: list[int] = []
    for slot in _by_price(book):
        if slot.order_side is Side.BUY and slot.has_live_order:
            left = slot.order_qty_steps - slot.order_filled_steps
            cost = notional_atoms(slot.order_price_ticks, left) + inst.fee(
                slot.order_price_ticks, left
            )
            reserve += cost
            working += 1
        if slot.retiring:
            continue
        if may_buy and _wants_buy(book, slot, qty):
            unfunded += 1
            need = qty - slot.position_steps
            unfunded_atoms += notional_atoms(slot.buy_ticks, need) + inst.fee(slot.buy_ticks, need)
        gap = slot.sell_ticks - slot.buy_ticks
        ppm = gap * FEE_SCALE // slot.buy_ticks
        narrowest = ppm if narrowest is None else min(narrowest, ppm)
        if gap * FEE_SCALE <= slot.buy_ticks * round_trip:
            thin.append(slot.buy_ticks)
        if not inst.is_tradeable(slot.buy_ticks, qty):
            small.append(slot.buy_ticks)
    held = sum(s.position_steps for s in book.slots.values()) + book.dust_steps
    return Economics(
        buy_reserve_atoms=reserve,
        working_buys=working,
        unfunded_buys=unfunded,
        unfunded_atoms=unfunded_atoms,
        quote_atoms=book.quote_atoms,
        base_held_steps=held,
        base_steps=book.base_steps,
        narrowest_spacing_ppm=narrowest or 0,
        round_trip_fee_ppm=round_trip,
        thin_levels=tuple(thin),
        below_minimum=tuple(small),
    )


# --- the run through the core -----------------------------------------------------------------


def _settle(
    state: GridState, actions: tuple[Action, ...], ts_event: int
) -> tuple[GridState, list[Action]]:
    """Answer every action as a venue that accepts at once would, deciding each answer, until
    none is left; every action sent on the way, in order."""
    sent = list(actions)
    queue: deque[Action] = deque(actions)
    budget = MAX_ANSWERS_PER_SLOT * (len(state.slots) + len(actions) + 1)
    while queue:
        budget -= 1
        if budget < 0:
            raise PreviewDiverged(
                f"{state.symbol}: answering the change's orders did not settle after "
                f"{len(sent)} actions"
            )
        action = queue.popleft()
        status = OrderStatus.CANCELED if isinstance(action, CancelOrder) else OrderStatus.OPEN
        answer = OrderUpdate(
            symbol=state.symbol,
            client_order_id=action.client_order_id,
            status=status,
            filled_steps=Steps(0),
            ts_event=ts_event,
        )
        decision = decide(state, answer)
        state = decision.state
        sent.extend(decision.actions)
        queue.extend(decision.actions)
    return state, sent


def _by_price(state: GridState) -> list[Slot]:
    return [state.slots[t] for t in sorted(state.slots)]


def _levels(state: GridState) -> dict[int, int]:
    """The book's levels: buy price -> sell price (levels being retired are gone already)."""
    return {t: s.sell_ticks for t, s in state.slots.items() if not s.retiring}


def _places(actions: list[Action]) -> tuple[OrderToPlace, ...]:
    return tuple(
        OrderToPlace(a.client_order_id, a.side, a.price_ticks, a.qty_steps)
        for a in actions
        if isinstance(a, PlaceOrder)
    )


def _wants_buy(book: GridState, slot: Slot, qty: int) -> bool:
    """An engaged level below the price that would buy but has no order: funds were short."""
    need = qty - slot.position_steps
    return (
        slot.is_engaged
        and slot.phase is Phase.BUY
        and slot.order is OrderState.NONE
        and slot.buy_ticks < book.last_price_ticks
        and need > 0
        and book.instrument.is_tradeable(slot.buy_ticks, need)
    )


def _moves(before: GridState, after: GridState, removed: set[int]) -> tuple[LotMove, ...]:
    """Each removed level's lot and the level that took it.

    A lot moves whole (``take_lot``), so the taker is a level that held nothing before and now
    holds exactly the lot: same size, cost and proceeds. Lots are matched lowest first, as
    ``Plan.rehome`` hands them on; two identical lots are interchangeable.
    """
    takers = []
    for slot in _by_price(after):
        old = before.slots.get(slot.buy_ticks)
        if slot.position_steps and not slot.retiring and (old is None or not old.position_steps):
            takers.append(slot)
    moves: list[LotMove] = []
    for tick in sorted(removed):
        lot = before.slots[tick]
        if lot.position_steps <= 0:
            continue
        owed = lot.cost_atoms - lot.proceeds_atoms
        taker = next(
            (
                s
                for s in takers
                if (s.position_steps, s.cost_atoms, s.proceeds_atoms)
                == (lot.position_steps, lot.cost_atoms, lot.proceeds_atoms)
            ),
            None,
        )
        if taker is not None:
            takers.remove(taker)
            moves.append(LotMove(tick, taker.buy_ticks, lot.position_steps, owed))
            continue
        stays = after.slots.get(tick)
        if stays is not None and is_parked(stays):
            note = "no free level takes it: it sells at its own sell price"
        elif stays is not None and stays.has_live_order:
            note = "stays until its order ends"
        else:
            note = "stays: no free level's sell recovers its cost (allow a loss to move it)"
        moves.append(LotMove(tick, None, lot.position_steps, owed, note))
    return tuple(moves)
