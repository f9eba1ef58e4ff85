"""``GridOrchestrator``: the event loop shared by every engine, after the boot sync.

``boot`` brings every stored book level with the venue (``engine.boot``), then records and
sends what that called for. From then on ``on_event`` is the only way to ``decide``; what the
executor answers is fed back through it, and an UNKNOWN answer is looked up by client id at
once. Market prints (``on_trade``), fill polls, operator commands and the periodic audits all
enter through it too.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, deque
from collections.abc import Iterable, Sequence
from dataclasses import replace
from decimal import Decimal

from gridmaker.core.consistency import count_orders
from gridmaker.core.decide import decide, needs_decision
from gridmaker.core.events import (
    BreakerCommand,
    BreakerOrder,
    CandleClosed,
    Event,
    OrderStatus,
    OrderUpdate,
    PriceTick,
)
from gridmaker.core.preflight import grid_refusal, preflight
from gridmaker.core.reconcile import ReconcileReport
from gridmaker.core.setup import BookSetup
from gridmaker.core.slots import OrderState
from gridmaker.core.state import Decision, GridState, new_state
from gridmaker.core.units import Steps, Ticks
from gridmaker.engine.book import Book, BookView, best_prices
from gridmaker.engine.boot import (
    BootRefused,
    BootSync,
    PreflightRefused,
    apply_pending_to_stored,
    as_started,
)
from gridmaker.engine.changes import CHANGES, CommandRefused, target_setup
from gridmaker.engine.command_loop import all_closed, apply_commands
from gridmaker.engine.commands import carried_commands
from gridmaker.engine.executor import GridExecutor
from gridmaker.engine.fill_reader import FillReader
from gridmaker.engine.notices import (
    CommandApplied,
    Halted,
    NoNotices,
    NoticeSink,
    OrderAnswered,
    SourceChanged,
    now_ms,
)
from gridmaker.engine.observing import observe_decision, publish_audit, publish_sync
from gridmaker.engine.retry import Retrier
from gridmaker.engine.sending import NOT_VISIBLE_YET
from gridmaker.exchange.api import Exchange, RateLimited, Unavailable, UnknownOutcome

__all__ = ["BootRefused", "GridOrchestrator", "PreflightRefused"]

log = logging.getLogger("gridmaker.engine")

MAX_UNKNOWN_ROUNDS = 25
"""Lookups of one UNKNOWN order within one event before leaving it to the periodic pass."""


class GridOrchestrator:
    def __init__(
        self,
        *,
        exchange: Exchange,
        executor: GridExecutor,
        setups: Sequence[BookSetup],
        retrier: Retrier | None = None,
        fill_page_limit: int = 500,
        notices: NoticeSink | None = None,
        stop: asyncio.Event | None = None,
    ) -> None:
        if len({s.symbol for s in setups}) != len(setups):
            raise ValueError("each symbol may appear only once")
        self.exchange = exchange
        self.executor = executor
        self.setups = tuple(setups)
        self.retrier = retrier or Retrier()
        self.fill_page_limit = fill_page_limit
        self._books: dict[str, Book] = {s.symbol: Book(setup=s) for s in setups}
        self.is_booted = False
        self.notices: NoticeSink = notices or NoNotices()
        self.stop = stop or asyncio.Event()
        """Set by an operator's stop once applied: the session ends at its next safe point."""
        self.commands_waiting = False  # a command was just queued: apply it at the next turn
        self.commands_queued = asyncio.Event()  # set with it: wakes a session on a quiet market
        self._at_rest_upto: int | None = None  # the last command queued while no bot ran
        self.closing = False  # a stop that sells: the session ends once every book closed

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

    def view(self, symbol: str) -> BookView:
        """``symbol`` as observers read it (the API, metrics, the watchdog): a frozen copy."""
        return self._books[symbol].view()

    def wake_commands(self) -> None:
        """An operator command was just queued: the session applies it at its next turn."""
        self.commands_waiting = True
        self.commands_queued.set()

    def note_source(self, symbol: str, source: str, reason: str) -> None:
        """Where ``symbol``'s prices come from now (a stream, polls, a printed market)."""
        book = self._books[symbol]
        if book.source != source:
            book.source = source
            self.notices.publish(SourceChanged(symbol=symbol, source=source, reason=reason))

    # --- boot --------------------------------------------------------------------------------

    def take_commands_at_rest(self) -> None:
        """Commands queued so far, before the API could queue any, are the boot's to apply."""
        self._at_rest_upto = max((c[0] for c in self.executor.pending_commands()), default=0)

    async def boot(self) -> None:
        """Load, verify, sync every symbol concurrently, reconcile; nothing trades before."""
        if self._at_rest_upto is None:
            self.take_commands_at_rest()
        stored = dict(await self.executor.load_books(self.symbols))
        reshaping = self._reshaping()
        for setup in self.setups:
            if (book_state := stored.get(setup.symbol)) is not None:
                started = as_started(book_state, setup)
                if setup.symbol in reshaping:
                    # The config's limits come with the queued change, if the loop applies it.
                    started = replace(started, risk_params=book_state.risk_params)
                stored[setup.symbol] = started
        stored, commands, everywhere, spent = apply_pending_to_stored(
            self.executor, self.symbols, stored, self._at_rest_upto
        )
        for command_id in spent:  # a stop asked of a bot that was not running
            self.executor.mark_command_applied(command_id)
        # Only a new book is sized on the balances: a stored one keeps its own (a takeover).
        new = any(stored.get(setup.symbol) is None for setup in self.setups)
        balances = await self.retrier.read("balances", self.exchange.fetch_balances) if new else {}
        sync = BootSync(self.exchange, self.executor, self.retrier, self._fill_reader(), reshaping)
        synced = await sync.sync_all(self.setups, stored, balances, commands)
        for item in synced:
            self._books[item.book.setup.symbol] = item.book
        for item in synced:
            book = item.book
            symbol = book.setup.symbol
            self.executor.record_boot(symbol, book.report.counts(), book.halted)
            publish_sync(self.notices, book)
            if item.decision is not None:
                for answer in await self._execute(symbol, item.decision, item.causes):
                    await self.on_event(answer)
        if not any(item.book.halted for item in synced):
            for command_id in everywhere:  # every book carrying it is saved by now
                self.executor.mark_command_applied(command_id)
        self._booted(carried_commands(commands, everywhere, spent))

    def _booted(self, carried: list[tuple[int, str, str]]) -> None:
        for command_id, target, command in carried:
            self.notices.publish(
                CommandApplied(command_id=command_id, symbol=target, command=command)
            )
        self.is_booted = True
        if any(c[2] in CHANGES for c in self.executor.pending_commands()):
            self.wake_commands()  # changes queued while stopped are the loop's to apply

    def _reshaping(self) -> frozenset[str]:
        """Symbols whose config is what a queued reconfiguration asks for."""
        setups = {s.symbol: s for s in self.setups}
        wanted = set()
        for _, target, command, _, payload in self.executor.pending_commands():
            if command == "reconfigure" and target in setups:
                try:
                    if target_setup(payload) == setups[target]:
                        wanted.add(target)
                except CommandRefused:
                    continue
        return frozenset(wanted)

    def _fill_reader(self) -> FillReader:
        """Read at each use: tests and sessions may swap the executor, retrier or page size."""
        return FillReader(self.exchange, self.executor, self.retrier, self.fill_page_limit)

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
            before = book.state
            started = time.perf_counter_ns()
            decision = decide(before, current)
            took = time.perf_counter_ns() - started
            answers = await self._execute(current.symbol, decision, (current,))
            observe_decision(self.notices, book, before, current, decision, took, started)
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

    def _new_book(self, book: Book, price_ticks: int) -> GridState:
        """The book of a symbol's first price, after the pre-flight checks passed."""
        setup = book.setup
        assert book.instrument is not None
        anchor = setup.trigger_ticks or price_ticks  # a triggered grid centres on its trigger
        if reason := grid_refusal(setup.template, book.instrument, anchor):
            raise PreflightRefused(f"{setup.symbol}: refusing to start: {reason}")
        state = new_state(
            symbol=setup.symbol,
            instrument=book.instrument,
            grid=setup.template.build(anchor),
            params=setup.params,
            base_steps=book.base_steps,
            quote_atoms=book.quote_atoms,
            trigger_ticks=setup.trigger_ticks,
        )
        problems = preflight(state, anchor)
        if problems:
            raise PreflightRefused(f"{setup.symbol}: refusing to start: " + "; ".join(problems))
        return replace(state, fill_cursor=book.fresh_cursor, risk_params=setup.risk)

    async def _execute(
        self, symbol: str, decision: Decision, causes: Sequence[Event]
    ) -> list[Event]:
        book = self._books[symbol]
        book.state = decision.state
        book.best_buy, book.best_sell = best_prices(decision.state)
        answers = await self.executor.execute(decision, causes)
        if self.closing:
            self.check_closed()
        for answer in answers:
            if isinstance(answer, OrderUpdate):
                self.notices.publish(
                    OrderAnswered(
                        symbol=symbol,
                        client_order_id=answer.client_order_id,
                        outcome=answer.status.value,
                        reason=answer.reason,
                    )
                )
        return answers

    async def on_trade(
        self, symbol: str, price: Decimal, ts_event: int, amount: Decimal | None = None
    ) -> None:
        """A price printed on the market. Cheap unless it changes level or crosses an order."""
        book = self._books[symbol]
        if book.halted or book.instrument is None:
            return
        book.last_price_ms = int(time.time() * 1000)
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

    async def _candle(self, book: Book, price_ticks: int, qty_steps: int, ts_event: int) -> None:
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
        fills, cursor = await self._fill_reader().new_fills(
            symbol, book.state.fill_cursor, book.instrument
        )
        book.synced_ms = now_ms()
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
            self.notices.publish(Halted(symbol=symbol, reason=reason))
        self.executor.record_halt(reason)

    async def apply_commands(self, ts_event: int) -> int:
        """Apply the operator's queued commands; returns how many (``command_loop``)."""
        return await apply_commands(self, ts_event)

    def book(self, symbol: str) -> Book | None:
        return self._books.get(symbol)

    def awaits_book(self, symbol: str) -> bool:
        """A trading symbol whose first price has not made its book yet (a halted one won't)."""
        book = self._books.get(symbol)
        return book is not None and book.state is None and not book.halted

    def check_closed(self) -> None:
        """After a ``stop_sell``: end the session once every book has closed."""
        if self.closing and all_closed(b.state for b in self._books.values() if not b.halted):
            self.stop.set()

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
        book = self._books[symbol]
        state = book.state
        assert state is not None
        open_at_venue = {o.client_order_id for o in listed}
        missing = [
            s.order_cid
            for s in state.slots.values()
            if s.order is OrderState.OPEN and s.order_cid not in open_at_venue
        ]
        answers = [await self.executor.lookup(symbol, cid) for cid in missing]
        # An order that filled since the last fill poll is not missing: its fill is on its way.
        filled = {
            a.client_order_id
            for a in answers
            if isinstance(a, OrderUpdate) and a.status is OrderStatus.FILLED
        }
        publish_audit(self.notices, book, count_orders(state, open_at_venue, filled))
        for answer in answers:
            if not _is_unknown(answer):
                await self.on_event(answer)
        return len(missing)

    async def _look_up(self, symbol: str, client_order_ids: Sequence[str]) -> int:
        for cid in client_order_ids:
            answer = await self.executor.lookup(symbol, cid)
            if not _is_unknown(answer):
                await self.on_event(answer)
        return len(client_order_ids)


def _is_unknown(event: Event) -> bool:
    return isinstance(event, OrderUpdate) and event.status is OrderStatus.UNKNOWN


def _needs_fills(event: Event) -> bool:
    """The venue reports fills on this order that may not have reached us yet."""
    return isinstance(event, OrderUpdate) and event.filled_steps > 0
