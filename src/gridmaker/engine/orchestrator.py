"""``GridOrchestrator``: the boot sequence and the event loop, shared by every engine.

Boot is recovery — there is no separate clean-start path:

    load books ▸ verify checksums ▸ fetch instruments, open orders, fills and the last price for
    all symbols at once ▸ reconcile ▸ record and send what that calls for ▸ trade

A symbol whose snapshot cannot be fetched (after the retry policy gave up) or makes no sense
does not trade; the others do. ``on_event`` is the only way to ``decide``; what the executor
answers is fed back through it, and an UNKNOWN answer is looked up by client id at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import partial

from gridmaker.core.decide import apply_breaker_command, decide, needs_decision
from gridmaker.core.events import (
    BreakerCommand,
    BreakerOrder,
    CandleClosed,
    Event,
    Fill,
    OrderStatus,
    OrderUpdate,
    PriceTick,
    Side,
)
from gridmaker.core.grid import GridTemplate
from gridmaker.core.ids import decode_cid
from gridmaker.core.preflight import grid_refusal, preflight
from gridmaker.core.reconcile import ReconcileReport, Snapshot, VenueOrder, reconcile
from gridmaker.core.risk import RiskParams
from gridmaker.core.slots import OrderState
from gridmaker.core.state import Decision, GridState, StrategyParams, new_state
from gridmaker.core.units import Instrument, Steps, Ticks
from gridmaker.engine.executor import GridExecutor
from gridmaker.engine.retry import Retrier
from gridmaker.engine.sending import NOT_VISIBLE_YET
from gridmaker.engine.translate import to_fill, to_venue_order
from gridmaker.exchange.api import (
    Balance,
    Banned,
    Exchange,
    ExchangeError,
    ExchangeOrder,
    RateLimited,
    Unavailable,
    UnknownOutcome,
)

__all__ = ["BookSetup", "BootRefused", "GridOrchestrator", "PreflightRefused"]

log = logging.getLogger("gridmaker.engine")

MAX_UNKNOWN_ROUNDS = 25
"""Lookups of one UNKNOWN order within one event before leaving it to the periodic pass."""


class BootRefused(Exception):
    """The books and the venue (or the config) disagree in a way we must not guess about."""


class PreflightRefused(BootRefused):
    """The configured grid cannot work (fees, minimums, balance): nothing was sent."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BookSetup:
    """What the config asks for one symbol."""

    symbol: str
    params: StrategyParams
    template: GridTemplate
    budget_base: Decimal | None = None
    budget_quote: Decimal | None = None
    risk: RiskParams = RiskParams()
    crash_candle_ms: int = 60_000


@dataclass(slots=True)
class _Book:
    setup: BookSetup
    instrument: Instrument | None = None
    state: GridState | None = None
    base_steps: int = 0
    quote_atoms: int = 0
    best_buy: int = 0
    best_sell: int = 0
    fresh_cursor: str = ""
    halted: str = ""
    """Why this symbol does not trade ("" = it trades)."""
    candle_bucket: int | None = None
    candle_close: int = 0
    candle_volume: int = 0
    report: ReconcileReport = field(default_factory=ReconcileReport)


@dataclass(frozen=True, slots=True)
class _Synced:
    book: _Book
    decision: Decision | None = None
    causes: tuple[Event, ...] = ()


def _best_prices(state: GridState | None) -> tuple[int, int]:
    """Highest live buy and lowest live sell (0 when none): the only prices a tick can cross."""
    best_buy, best_sell = 0, 0
    if state is not None:
        buy, sell = Side.BUY, Side.SELL  # hoisted: enum member lookups are slow in a loop
        for slot in state.slots.values():
            side = slot.order_side  # set only while an order is live
            if side is buy:
                best_buy = max(best_buy, slot.order_price_ticks)
            elif side is sell and (best_sell == 0 or slot.order_price_ticks < best_sell):
                best_sell = slot.order_price_ticks
    return best_buy, best_sell


class GridOrchestrator:
    def __init__(
        self,
        *,
        exchange: Exchange,
        executor: GridExecutor,
        setups: Sequence[BookSetup],
        retrier: Retrier | None = None,
        fill_page_limit: int = 500,
    ) -> None:
        if len({s.symbol for s in setups}) != len(setups):
            raise ValueError("each symbol may appear only once")
        self.exchange = exchange
        self.executor = executor
        self.setups = tuple(setups)
        self.retrier = retrier or Retrier()
        self.fill_page_limit = fill_page_limit
        self._books: dict[str, _Book] = {s.symbol: _Book(setup=s) for s in setups}
        self.is_booted = False

    # --- queries -----------------------------------------------------------------------------

    def state(self, symbol: str) -> GridState | None:
        return self._books[symbol].state

    def report(self, symbol: str) -> ReconcileReport:
        return self._books[symbol].report

    def halted(self, symbol: str) -> str:
        """Why ``symbol`` does not trade, or "" when it does."""
        return self._books[symbol].halted

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(s.symbol for s in self.setups)

    # --- boot --------------------------------------------------------------------------------

    async def boot(self) -> None:
        """Load, verify, sync every symbol concurrently, reconcile; nothing trades before."""
        stored = dict(await self.executor.load_books(self.symbols))
        for setup in self.setups:
            if (book_state := stored.get(setup.symbol)) is not None:
                # Limits come from the config; the breaker's own state from the book.
                stored[setup.symbol] = replace(book_state, risk_params=setup.risk)
        stored, commands, everywhere = self._apply_pending_to_stored(stored)
        balances = await self.retrier.read("balances", self.exchange.fetch_balances)
        try:
            async with asyncio.TaskGroup() as group:
                tasks = [
                    group.create_task(
                        self._sync(s, stored.get(s.symbol), balances, commands.get(s.symbol, ()))
                    )
                    for s in self.setups
                ]
        except ExceptionGroup as group_error:
            # One symbol's refusal is the message the operator needs, not a group of one.
            raise _first_leaf(group_error) from group_error
        synced = [task.result() for task in tasks]
        for item in synced:
            self._books[item.book.setup.symbol] = item.book
        for item in synced:
            book = item.book
            symbol = book.setup.symbol
            self.executor.record_boot(symbol, book.report.counts(), book.halted)
            if item.decision is not None:
                for answer in await self._execute(symbol, item.decision, item.causes):
                    await self.on_event(answer)
        if not any(item.book.halted for item in synced):
            for command_id in everywhere:  # every book carrying it is saved by now
                self.executor.mark_command_applied(command_id)
        self.is_booted = True

    async def _sync(
        self,
        setup: BookSetup,
        state: GridState | None,
        balances: Mapping[str, Balance],
        commands: Sequence[BreakerOrder] = (),
    ) -> _Synced:
        """One symbol's snapshot and reconciliation; a venue failure halts only this symbol.

        ``commands`` were applied to the stored book already; they ride with its first save.
        """
        symbol = setup.symbol
        book = _Book(setup=setup, state=state)
        try:
            synced = await self._sync_with_venue(book, balances)
            return replace(synced, causes=(*synced.causes, *commands))
        except Banned:
            raise
        except ExchangeError as e:
            book.halted = f"boot sync failed, not trading: {e}"
            log.error("boot sync failed symbol=%s error=%s", symbol, e)
            return _Synced(book)

    async def _sync_with_venue(self, book: _Book, balances: Mapping[str, Balance]) -> _Synced:
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
            return _Synced(book)
        _check_unchanged(setup, instrument, state)
        # Absent from the open orders proves nothing: ask for each one by client id, before the
        # fills, so that any fill a lookup reports is already in the history read next.
        listed = {o.client_order_id for o in open_orders}
        lookups = await self._look_up_absent(symbol, state, listed)
        fills, cursor = await self._fetch_new_fills(symbol, state.fill_cursor, instrument)
        if hidden := _fills_unaccounted(state, lookups, fills):
            # The venue reports fills the history after our cursor lacks: the cursor cannot be
            # trusted to hide nothing, so read the whole history once (applied ones skipped).
            log.warning(
                "fills missing after the cursor symbol=%s orders=%s: reading all history",
                symbol,
                ",".join(sorted(hidden)),
            )
            fills, _ = await self._fetch_new_fills(symbol, "", instrument)
            if hidden := _fills_unaccounted(state, lookups, fills):
                book.halted = (
                    f"the venue reports fills of {', '.join(sorted(hidden))} that its trade "
                    "history does not show; not trading until they can be applied (is this "
                    "data dir on the venue it was made on?)"
                )
                log.error("boot sync refused symbol=%s %s", symbol, book.halted)
                return _Synced(book)
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
        return _Synced(book, decision, tuple(fills))

    async def _look_up_absent(
        self, symbol: str, state: GridState, listed: set[str]
    ) -> dict[str, OrderUpdate]:
        """The venue's word on every order the book works that its open orders do not list."""
        absent = [cid for cid in _live_cids(state) if cid not in listed]
        answers: dict[str, OrderUpdate] = {}
        for cid in absent:
            answer = await self.executor.lookup(symbol, cid)
            if isinstance(answer, OrderUpdate):
                answers[cid] = answer
        return answers

    async def _sync_fresh(
        self, book: _Book, open_orders: Sequence[ExchangeOrder], balances: Mapping[str, Balance]
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
        _, book.fresh_cursor = await self._fetch_new_fills(setup.symbol, "", inst, keep=False)
        book.base_steps = _budget(balances, inst.base, setup.budget_base, inst.size_steps)
        book.quote_atoms = _budget(balances, inst.quote, setup.budget_quote, inst.to_atoms)

    async def _fetch_new_fills(
        self, symbol: str, cursor: str, instrument: Instrument, *, keep: bool = True
    ) -> tuple[list[Fill], str]:
        """Every fill after ``cursor`` not applied yet, oldest first, and the cursor after them.

        A page is fetched and validated as one read: a malformed fill is retried, never skipped.
        """
        fills: list[Fill] = []
        seen: set[str] = set()
        while True:
            page = partial(self._fetch_page, symbol, cursor, instrument, keep=keep)
            new, cursor, has_more = await self.retrier.read(f"fills {symbol}", page)
            # A venue paging by time (``since`` inclusive) repeats the fill at a page boundary.
            fills.extend(f for f in new if not (f.trade_id in seen or seen.add(f.trade_id)))  # type: ignore[func-returns-value]
            if not has_more:
                return fills, cursor

    async def _fetch_page(
        self, symbol: str, cursor: str, instrument: Instrument, *, keep: bool
    ) -> tuple[list[Fill], str, bool]:
        got = await self.exchange.fetch_fills(symbol, cursor, self.fill_page_limit)
        new = [
            to_fill(f, instrument)
            for f in got.fills
            if keep and not self.executor.is_fill_applied(symbol, f.trade_id)
        ]
        return new, got.cursor, got.has_more

    # --- the event loop ----------------------------------------------------------------------

    async def on_event(self, event: Event) -> None:
        """Decide on one event, record and carry out the decision, and its answers in turn."""
        queue: deque[Event] = deque([event])
        lookups: Counter[str] = Counter()
        while queue:
            current = queue.popleft()
            book = self._books[current.symbol]
            if book.halted:
                return
            if book.state is None:
                if not isinstance(current, PriceTick):
                    raise BootRefused(f"{current.symbol}: {type(current).__name__} before any book")
                book.state = self._new_book(book, current.price_ticks)
            decision = decide(book.state, current)
            answers = await self._execute(current.symbol, decision, (current,))
            if (
                isinstance(current, OrderUpdate)
                and current.status is OrderStatus.UNKNOWN
                and lookups[current.client_order_id] < MAX_UNKNOWN_ROUNDS
                and not current.reason.startswith(NOT_VISIBLE_YET)
            ):
                # Resolve before anything else is sent: ask the venue by client id. (An order
                # the venue does not show yet is asked again by the periodic pass, not now.)
                cid = current.client_order_id
                lookups[cid] += 1
                answers.append(await self.executor.lookup(current.symbol, cid))
            queue.extend(answers)
            if _needs_fills(current):
                try:
                    await self.poll_fills(current.symbol)
                except (Unavailable, RateLimited, UnknownOutcome) as e:
                    # The answers queued above must still be decided; the next poll finds
                    # the fills. (A ban or junk stops the caller as before.)
                    log.warning("fill poll failed symbol=%s error=%s", current.symbol, e)

    def _new_book(self, book: _Book, price_ticks: int) -> GridState:
        """The book of a symbol's first price, after the pre-flight checks passed."""
        setup = book.setup
        assert book.instrument is not None
        if reason := grid_refusal(setup.template, book.instrument, price_ticks):
            raise PreflightRefused(f"{setup.symbol}: refusing to start: {reason}")
        state = new_state(
            symbol=setup.symbol,
            instrument=book.instrument,
            grid=setup.template.build(price_ticks),
            params=setup.params,
            base_steps=book.base_steps,
            quote_atoms=book.quote_atoms,
        )
        problems = preflight(state, price_ticks)
        if problems:
            raise PreflightRefused(f"{setup.symbol}: refusing to start: " + "; ".join(problems))
        return replace(state, fill_cursor=book.fresh_cursor, risk_params=setup.risk)

    async def _execute(
        self, symbol: str, decision: Decision, causes: Sequence[Event]
    ) -> list[Event]:
        book = self._books[symbol]
        book.state = decision.state
        book.best_buy, book.best_sell = _best_prices(decision.state)
        return await self.executor.execute(decision, causes)

    async def on_trade(
        self, symbol: str, price: Decimal, ts_event: int, amount: Decimal | None = None
    ) -> None:
        """A price printed on the market. Cheap unless it changes level or crosses an order."""
        book = self._books[symbol]
        if book.halted or book.instrument is None:
            return
        price_ticks = book.instrument.to_ticks(price)
        if book.setup.risk.crash_ma_candles and amount is not None:
            await self._candle(book, price_ticks, book.instrument.size_steps(amount), ts_event)
        if needs_decision(book.state, price_ticks):
            await self.on_event(
                PriceTick(
                    symbol=symbol,
                    price_ticks=Ticks(price_ticks),
                    qty_steps=Steps(0),
                    ts_event=ts_event,
                )
            )
        if (book.best_buy and price_ticks <= book.best_buy) or (
            book.best_sell and price_ticks >= book.best_sell
        ):
            await self.poll_fills(symbol)

    async def _candle(self, book: _Book, price_ticks: int, qty_steps: int, ts_event: int) -> None:
        """Aggregate prints into candles for the crash detector; decide each closed candle."""
        bucket = ts_event // book.setup.crash_candle_ms
        if book.candle_bucket not in (None, bucket) and book.state is not None:
            await self.on_event(
                CandleClosed(
                    symbol=book.setup.symbol,
                    close_ticks=Ticks(book.candle_close),
                    volume_steps=Steps(book.candle_volume),
                    ts_event=ts_event,
                )
            )
            book.candle_volume = 0
        book.candle_bucket = bucket
        book.candle_close = price_ticks
        book.candle_volume += qty_steps

    async def poll_fills(self, symbol: str) -> int:
        """Apply every fill the venue has that we have not; returns how many were applied."""
        book = self._books[symbol]
        if book.state is None or book.halted or book.instrument is None:
            return 0
        fills, cursor = await self._fetch_new_fills(symbol, book.state.fill_cursor, book.instrument)
        for fill in fills:
            if not self.executor.is_fill_applied(symbol, fill.trade_id):
                await self.on_event(fill)
        state = book.state
        if cursor != state.fill_cursor:
            await self._execute(symbol, Decision(replace(state, fill_cursor=cursor)), ())
        return len(fills)

    async def halt_all(self, reason: str, ts_event: int) -> None:
        """A ban: trip every breaker (recorded, cancels not sent), stop deciding, record why."""
        for symbol, book in self._books.items():
            if book.state is not None:
                order = BreakerOrder(
                    symbol=symbol, command=BreakerCommand.BAN, reason=reason, ts_event=ts_event
                )
                decision = decide(book.state, order)
                book.state = decision.state
                await self.executor.execute(decision, (order,), send=False)
            book.halted = reason
        self.executor.record_halt(reason)

    async def apply_commands(self, ts_event: int) -> int:
        """Apply the operator's queued breaker commands; returns how many were applied.

        A command for one symbol is marked applied in the transaction that saves its book; one
        for every symbol once each book has carried it.
        """
        applied = 0
        for command_id, target, command, reason in self.executor.pending_commands():
            targets = self.symbols if target == "*" else (target,)
            if any(s in self._books and self._books[s].state is None for s in targets):
                continue  # a book not created yet: keep the command for when it exists
            carried = False
            for symbol in targets:
                book = self._books.get(symbol)
                if book is None or book.state is None or book.halted:
                    continue
                order = BreakerOrder(
                    symbol=symbol,
                    command=BreakerCommand(command),
                    reason=reason,
                    ts_event=ts_event,
                    command_id=command_id if target != "*" else 0,
                )
                await self.on_event(order)
                carried = target != "*"
            if not carried:
                self.executor.mark_command_applied(command_id)
            applied += 1
        return applied

    def _apply_pending_to_stored(
        self, stored: dict[str, GridState]
    ) -> tuple[dict[str, GridState], dict[str, list[BreakerOrder]], list[int]]:
        """Commands queued while stopped act on the books before the sync can send anything.

        Nothing is marked applied here: a one-symbol command rides as a cause of its book's
        first save (``commands``), and one for every symbol is marked once all are saved
        (``everywhere``). A failed or interrupted boot leaves them queued, never lost.
        """
        now_ms = int(time.time() * 1000)
        commands: dict[str, list[BreakerOrder]] = {}
        everywhere: list[int] = []
        for command_id, target, command, reason in self.executor.pending_commands():
            targets = self.symbols if target == "*" else (target,)
            if any(s in self.symbols and s not in stored for s in targets):
                continue  # a book not created yet: the running bot applies it once it exists
            for symbol, state in list(stored.items()):
                if target in ("*", symbol):
                    stored[symbol] = apply_breaker_command(
                        state, BreakerCommand(command), reason, now_ms
                    )
                    commands.setdefault(symbol, []).append(
                        BreakerOrder(
                            symbol=symbol,
                            command=BreakerCommand(command),
                            reason=reason,
                            ts_event=now_ms,
                            command_id=command_id if target != "*" else 0,
                        )
                    )
            if target == "*":
                everywhere.append(command_id)
        return stored, commands, everywhere

    async def resolve_unknown(self, symbol: str) -> int:
        """Look up every order in UNKNOWN state by client id; returns how many were asked."""
        state = self._books[symbol].state
        if state is None or self._books[symbol].halted:
            return 0
        unknown = [s.order_cid for s in state.slots.values() if s.order is OrderState.UNKNOWN]
        return await self._look_up(symbol, unknown)

    async def confirm_orders(self, symbol: str, client_order_ids: Iterable[str]) -> int:
        """Ask the venue about orders a stream says ended, if the book still works them.

        A stream message is a hint, not a record: the book acts on the venue's answer to a
        lookup (as for an UNKNOWN order), so a stale or duplicated message changes nothing.
        Catches what no fill reports: an order cancelled or expired by the venue or by hand.
        Returns how many were asked.
        """
        state = self._books[symbol].state
        if state is None or self._books[symbol].halted:
            return 0
        live = {s.order_cid for s in state.slots.values() if s.has_live_order}
        return await self._look_up(
            symbol, [c for c in dict.fromkeys(client_order_ids) if c in live]
        )

    async def audit_orders(self, symbol: str) -> int:
        """Look up each order the book holds open that the venue does not list as open.

        Catches what no stream message reported (a cancel or expiry while a stream was down,
        or with no stream at all). Returns how many were asked.
        """
        state = self._books[symbol].state
        if state is None or self._books[symbol].halted:
            return 0
        listed = await self.retrier.read(
            f"open orders {symbol}", lambda: self.exchange.fetch_open_orders(symbol)
        )
        state = self._books[symbol].state
        assert state is not None
        open_at_venue = {o.client_order_id for o in listed}
        missing = [
            s.order_cid
            for s in state.slots.values()
            if s.order is OrderState.OPEN and s.order_cid not in open_at_venue
        ]
        return await self._look_up(symbol, missing)

    async def _look_up(self, symbol: str, client_order_ids: Sequence[str]) -> int:
        for cid in client_order_ids:
            answer = await self.executor.lookup(symbol, cid)
            if not _is_unknown(answer):
                await self.on_event(answer)
        return len(client_order_ids)


def _live_cids(state: GridState) -> list[str]:
    """Client ids of every order the book may have at the venue (the stop-loss sale too)."""
    cids = [s.order_cid for s in state.slots.values() if s.has_live_order]
    if state.liquidation_cid:
        cids.append(state.liquidation_cid)
    return sorted(cids)


def _fills_unaccounted(
    state: GridState, lookups: Mapping[str, OrderUpdate], fills: Sequence[Fill]
) -> set[str]:
    """Orders the venue says filled more of than the book applied plus ``fills`` bring."""
    brought: Counter[str] = Counter()
    for fill in fills:
        brought[fill.client_order_id] += fill.qty_steps
    applied = {s.order_cid: s.order_filled_steps for s in state.slots.values() if s.order_cid}
    return {
        cid
        for cid, update in lookups.items()
        if update.status is not OrderStatus.UNKNOWN
        and update.filled_steps > applied.get(cid, 0) + brought[cid]
    }


def _is_unknown(event: Event) -> bool:
    return isinstance(event, OrderUpdate) and event.status is OrderStatus.UNKNOWN


def _needs_fills(event: Event) -> bool:
    """The venue reports fills on this order that may not have reached us yet."""
    return isinstance(event, OrderUpdate) and event.filled_steps > 0


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


def _check_unchanged(setup: BookSetup, instrument: Instrument, state: GridState) -> None:
    """A stored book is only continued with the grid, strategy and instrument it was made with."""
    problems = []
    if state.params != setup.params:
        problems.append(f"strategy settings were {state.params}, config now asks {setup.params}")
    if setup.template.build(state.grid.anchor_ticks) != state.grid:
        problems.append("grid settings differ from the stored grid")
    if state.instrument != instrument:
        problems.append(f"the venue's instrument changed: was {state.instrument}, is {instrument}")
    if problems:
        raise BootRefused(
            f"{setup.symbol}: the stored book does not match: {'; '.join(problems)}. Use the "
            "original config, or a new --data-dir for a new grid"
        )
