"""The boot sync: every symbol's stored book brought level with the venue before trading.

Boot is recovery — there is no separate clean-start path:

    load books ▸ verify checksums ▸ fetch instruments, open orders, fills and the last price for
    all symbols at once ▸ reconcile ▸ record and send what that calls for ▸ trade

This module does the fetching and reconciling (``BootSync``) and applies the operator commands
queued while the bot was stopped (``apply_pending_to_stored``); ``GridOrchestrator.boot``
records and sends the result. A symbol whose snapshot cannot be fetched (after the retry
policy gave up) or makes no sense does not trade; the others do.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from gridmaker.core.events import (
    BreakerOrder,
    Event,
    Fill,
    OperatorOrder,
    OrderStatus,
    OrderUpdate,
)
from gridmaker.core.ids import decode_cid
from gridmaker.core.reconcile import Snapshot, VenueOrder, reconcile
from gridmaker.core.setup import BookSetup
from gridmaker.core.slots import OrderState
from gridmaker.core.state import Control, Decision, GridState
from gridmaker.core.units import Instrument
from gridmaker.engine.book import Book
from gridmaker.engine.changes import CHANGES
from gridmaker.engine.commands import STOPS, apply_at_rest, command_event
from gridmaker.engine.executor import GridExecutor
from gridmaker.engine.fill_reader import FillReader
from gridmaker.engine.retry import Retrier
from gridmaker.engine.translate import to_venue_order
from gridmaker.exchange.api import Balance, Banned, Exchange, ExchangeError, ExchangeOrder

__all__ = ["BootRefused", "BootSync", "PreflightRefused", "Synced", "apply_pending_to_stored"]

log = logging.getLogger("gridmaker.engine")


class BootRefused(Exception):
    """The books and the venue (or the config) disagree in a way we must not guess about."""


class PreflightRefused(BootRefused):
    """The configured grid cannot work (fees, minimums, balance): nothing was sent."""


@dataclass(frozen=True, slots=True)
class Synced:
    """One symbol after the sync: its book, and what reconciling it decided (with causes)."""

    book: Book
    decision: Decision | None = None
    causes: tuple[Event, ...] = ()


@dataclass(frozen=True, slots=True)
class BootSync:
    """Reads the venue for every symbol at once and reconciles each stored book with it."""

    exchange: Exchange
    executor: GridExecutor
    retrier: Retrier
    fills: FillReader
    reshaping: frozenset[str] = frozenset()
    """Symbols whose config is the target of a queued reconfiguration: their stored grid may
    still be the old one (the loop reshapes it once booted)."""

    async def sync_all(
        self,
        setups: Sequence[BookSetup],
        stored: Mapping[str, GridState],
        balances: Mapping[str, Balance],
        commands: Mapping[str, Sequence[BreakerOrder | OperatorOrder]],
    ) -> list[Synced]:
        """Every symbol concurrently; a ban or a refusal of one stops the boot."""
        try:
            async with asyncio.TaskGroup() as group:
                tasks = [
                    group.create_task(
                        self.sync(s, stored.get(s.symbol), balances, commands.get(s.symbol, ()))
                    )
                    for s in setups
                ]
        except ExceptionGroup as group_error:
            # One symbol's refusal is the message the operator needs, not a group of one.
            raise _first_leaf(group_error) from group_error
        return [task.result() for task in tasks]

    async def sync(
        self,
        setup: BookSetup,
        state: GridState | None,
        balances: Mapping[str, Balance],
        commands: Sequence[BreakerOrder | OperatorOrder] = (),
    ) -> Synced:
        """One symbol's snapshot and reconciliation; a venue failure halts only this symbol.

        ``commands`` were applied to the stored book already; they ride with its first save.
        """
        symbol = setup.symbol
        book = Book(setup=setup, state=state)
        try:
            synced = await self._sync_with_venue(book, balances)
            return replace(synced, causes=(*synced.causes, *commands))
        except Banned:
            raise
        except ExchangeError as e:
            book.halted = f"boot sync failed, not trading: {e}"
            log.error("boot sync failed symbol=%s error=%s", symbol, e)
            return Synced(book)

    async def _sync_with_venue(self, book: Book, balances: Mapping[str, Balance]) -> Synced:
        setup, state = book.setup, book.state
        symbol = setup.symbol
        r = self.retrier
        instrument = await r.read(
            f"instrument {symbol}", lambda: self.exchange.fetch_instrument(symbol)
        )
        book.instrument = instrument

        async def orders() -> tuple[list[ExchangeOrder], list[VenueOrder]]:
            raw = await self.exchange.fetch_open_orders(symbol)
            return list(raw), [to_venue_order(o, instrument) for o in raw]

        (open_orders, venue_orders), last_price = await asyncio.gather(
            r.read(f"open orders {symbol}", orders),
            r.read(f"last price {symbol}", lambda: self.exchange.fetch_last_price(symbol)),
        )
        if state is None:
            await self._sync_fresh(book, open_orders, balances)
            return Synced(book)
        _check_unchanged(setup, instrument, state, reshaping=symbol in self.reshaping)
        # Absent from the open orders proves nothing: ask for each one by client id, before the
        # fills, so that any fill a lookup reports is already in the history read next.
        listed = {o.client_order_id for o in open_orders}
        lookups = await self._look_up_absent(symbol, state, listed)
        fills, cursor = await self.fills.new_fills(symbol, state.fill_cursor, instrument)
        if hidden := _fills_unaccounted(state, lookups, fills):
            # The venue reports fills the history after our cursor lacks: the cursor cannot be
            # trusted to hide nothing, so read the whole history once (applied ones skipped).
            log.warning(
                "fills missing after the cursor symbol=%s orders=%s: reading all history",
                symbol,
                ",".join(sorted(hidden)),
            )
            history, _ = await self.fills.new_fills(symbol, "", instrument)
            known = {f.trade_id for f in fills}
            # Only the hidden orders' fills: older fills of this account are not this book's.
            fills += [f for f in history if f.client_order_id in hidden and f.trade_id not in known]
            if hidden := _fills_unaccounted(state, lookups, fills):
                book.halted = (
                    f"the venue reports fills of {', '.join(sorted(hidden))} that its trade "
                    "history does not show; not trading until they can be applied (is this "
                    "data dir on the venue it was made on?)"
                )
                log.error("boot sync refused symbol=%s %s", symbol, book.halted)
                return Synced(book)
        snapshot = Snapshot(
            open_orders=tuple(venue_orders),
            fills=tuple(fills),
            ts_event=max((o.ts_event for o in open_orders), default=0),
            last_price_ticks=None if last_price is None else instrument.to_ticks(last_price),
            journaled=frozenset(
                o.client_order_id
                for o in open_orders
                if self.executor.has_intent(symbol, o.client_order_id)
            ),
            lookups={cid: update.status for cid, update in lookups.items()},
        )
        decision, report = reconcile(state, snapshot)
        decision = replace(decision, state=replace(decision.state, fill_cursor=cursor))
        book.report = report
        book.state = decision.state
        counts = " ".join(f"{k}={v}" for k, v in report.counts().items())
        log.info("boot sync symbol=%s %s", symbol, counts)
        return Synced(book, decision, tuple(fills))

    async def _look_up_absent(
        self, symbol: str, state: GridState, listed: set[str]
    ) -> dict[str, OrderUpdate]:
        """The venue's word on every order the book works that its open orders do not list."""
        absent = [cid for cid in _live_cids(state) if cid not in listed]
        missing = set(absent)
        # An order we were placing when the process died may be too fresh for the venue to
        # show: within its grace, "not found" must not send the same id again.
        self.executor.note_maybe_sent(
            s.order_cid
            for s in state.slots.values()
            if s.order in (OrderState.PLACING, OrderState.UNKNOWN) and s.order_cid in missing
        )
        answers: dict[str, OrderUpdate] = {}
        for cid in absent:
            answer = await self.executor.lookup(symbol, cid)
            if isinstance(answer, OrderUpdate):
                answers[cid] = answer
        return answers

    async def _sync_fresh(
        self, book: Book, open_orders: Sequence[ExchangeOrder], balances: Mapping[str, Balance]
    ) -> None:
        """No stored book: nothing of ours may be working at the venue; start after its history."""
        setup, inst = book.setup, book.instrument
        assert inst is not None
        ours = [o for o in open_orders if _is_ours(o.client_order_id, setup.params.strategy_id)]
        if ours:
            raise BootRefused(
                f"{setup.symbol}: the venue has {len(ours)} open orders with this bot's id prefix "
                f"'{setup.params.strategy_id}' but no stored state; restore the data dir this bot "
                "ran with, or cancel those orders first"
            )
        _, book.fresh_cursor = await self.fills.new_fills(setup.symbol, "", inst, keep=False)
        book.base_steps = _budget(balances, inst.base, setup.budget_base, inst.size_steps)
        book.quote_atoms = _budget(balances, inst.quote, setup.budget_quote, inst.to_atoms)


def as_started(state: GridState, setup: BookSetup) -> GridState:
    """A stored book as this start takes it: limits come from the config, the breaker's own
    state from the book; a stop that cancelled (or sold) ended that run only: this one trades."""
    control = state.control
    return replace(
        state,
        risk_params=setup.risk,
        control=Control.TRADING if control in (Control.STOPPED, Control.CLOSING) else control,
    )


def apply_pending_to_stored(
    executor: GridExecutor,
    symbols: Sequence[str],
    stored: dict[str, GridState],
    upto: int | None = None,
) -> tuple[
    dict[str, GridState], dict[str, list[BreakerOrder | OperatorOrder]], list[int], list[int]
]:
    """Commands queued while stopped act on the books before the sync can send anything.

    Only commands up to id ``upto`` were queued while stopped (``None``: every pending one);
    later ones came through this run's API and are the running loop's. Nothing is marked
    applied here: a one-symbol command rides as a cause of its book's first save
    (``commands``), and one for every symbol is marked once all are saved (``everywhere``). A
    failed or interrupted boot leaves them queued, never lost. A stop asked of a bot that was
    not running changes nothing and is spent (``spent``), whatever the boot finds.
    """
    now_ms = int(time.time() * 1000)
    commands: dict[str, list[BreakerOrder | OperatorOrder]] = {}
    everywhere: list[int] = []
    spent: list[int] = []
    for command_id, target, command, reason, _ in executor.pending_commands():
        if upto is not None and command_id > upto:
            continue
        if command in CHANGES:
            continue  # a change needs the venue's answers: the running loop applies it
        if command in STOPS:
            spent.append(command_id)
            continue
        targets = symbols if target == "*" else (target,)
        if any(s in symbols and s not in stored for s in targets):
            continue  # a book not created yet: the running bot applies it once it exists
        for symbol, state in list(stored.items()):
            if target in ("*", symbol):
                stored[symbol] = apply_at_rest(state, command, reason, now_ms)
                order = command_event(
                    symbol, command, reason, now_ms, command_id if target != "*" else 0
                )
                if order is not None:
                    commands.setdefault(symbol, []).append(order)
        if target == "*":
            everywhere.append(command_id)
    return stored, commands, everywhere, spent


def _live_cids(state: GridState) -> list[str]:
    """Client ids of every order the book may have at the venue (the stop-loss sale too)."""
    cids = [s.order_cid for s in state.slots.values() if s.has_live_order]
    if state.liquidation_cid:
        cids.append(state.liquidation_cid)
    return sorted(cids)


def _fills_unaccounted(
    state: GridState, lookups: Mapping[str, OrderUpdate], fills: Sequence[Fill]
) -> set[str]:
    """Grid orders the venue says filled more of than the book applied plus ``fills`` bring.

    The stop-loss sale is left out: the book does not count what of it was applied (its
    fills still come through the cursor like any other).
    """
    brought: Counter[str] = Counter()
    for fill in fills:
        brought[fill.client_order_id] += fill.qty_steps
    applied = {s.order_cid: s.order_filled_steps for s in state.slots.values() if s.order_cid}
    return {
        cid
        for cid, update in lookups.items()
        if cid in applied
        and update.status is not OrderStatus.UNKNOWN
        and update.filled_steps > applied[cid] + brought[cid]
    }


def _first_leaf(group: BaseExceptionGroup[BaseException]) -> BaseException:
    first = group.exceptions[0]
    return _first_leaf(first) if isinstance(first, BaseExceptionGroup) else first


def _is_ours(cid: str, strategy_id: str) -> bool:
    decoded = decode_cid(cid)
    return decoded is not None and decoded.strategy == strategy_id


def _budget(
    balances: Mapping[str, Balance],
    asset: str,
    budget: Decimal | None,
    convert: Callable[[Decimal], int],
) -> int:
    held = balances[asset].total if asset in balances else Decimal(0)
    amount = held if budget is None else min(held, budget)
    return convert(amount)


def _check_unchanged(
    setup: BookSetup, instrument: Instrument, state: GridState, *, reshaping: bool = False
) -> None:
    """A stored book is only continued with the grid, strategy and instrument it was made with
    (or, ``reshaping``, with the grid a queued reconfiguration moves it to)."""
    problems = []
    if not reshaping and state.params != setup.params:
        problems.append(f"strategy settings were {state.params}, config now asks {setup.params}")
    if not reshaping and setup.template.build(state.grid.anchor_ticks) != state.grid:
        problems.append("grid settings differ from the stored grid")
    if not state.is_started and setup.trigger_ticks != state.trigger_ticks:
        problems.append(
            "trigger_price differs from the stored book's, which still waits for its own trigger"
        )
    if state.instrument != instrument:
        problems.append(f"the venue's instrument changed: was {state.instrument}, is {instrument}")
    if problems:
        raise BootRefused(
            f"{setup.symbol}: the stored book does not match: {'; '.join(problems)}. Use the "
            "config the grid runs with, change it with 'gridmaker reconfigure --config NEW', or "
            "use a new --data-dir for a new grid"
        )
