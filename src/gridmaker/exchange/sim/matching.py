"""A deterministic, in-process simulated spot venue: ``SimExchange``.

Orders rest as makers until ``apply_trade`` reports a market trade through their price; each
crossing order then fills at its own limit price and pays ``maker_fee`` in the quote currency.
There is no clock and no randomness: the same operations give the same order ids, trade ids and
fills. All amounts are exact ``Decimal`` (an inexact result would raise ``decimal.Inexact``).

With a ``path``, each operation is one SQLite transaction (``persistence``): a process killed
at any instant reopens exactly as it was after the last completed operation. An in-memory copy
serves every read; the file is only written, and read once when reopened.
"""

from __future__ import annotations

import bisect
import decimal
import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Final

from gridmaker.core.events import OrderStatus, Side
from gridmaker.core.units import Instrument
from gridmaker.exchange.api import (
    Balance,
    ExchangeFill,
    ExchangeOrder,
    FillPage,
    NotFound,
    OrderRequest,
    Rejected,
    Unavailable,
)
from gridmaker.exchange.sim.persistence import Batch, MarketState, SimFile
from gridmaker.exchange.sim.rules import admit, crossing, lock_of, not_found
from gridmaker.exchange.sim.tape import Tape

__all__ = ["SimExchange", "SimUpdate"]

log = logging.getLogger("gridmaker.sim")

_EXACT: Final = decimal.Context(
    prec=100,
    traps=[decimal.Inexact, decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
)
_ZERO: Final = Decimal(0)


@dataclass(frozen=True, slots=True)
class SimUpdate:
    """What one committed operation changed, for observers (the HTTP simulator's streams)."""

    orders: tuple[ExchangeOrder, ...]
    """Each changed order in its state after the operation."""
    fills: tuple[ExchangeFill, ...]
    markets: tuple[str, ...]
    """Symbols whose market changed (a trade printed; a feed bound)."""


class SimExchange:
    """A maker-only spot venue implementing ``Exchange``, driven by ``apply_trade``.

    ``initial_balances`` fund a new exchange only; a reopened file keeps its balances and seed.
    With ``partial_fills`` a trade's amount (rounded down to the step) is shared among the
    crossing orders of each side in priority order; without, every crossing order fills fully.
    """

    def __init__(
        self,
        *,
        instruments: Sequence[Instrument],
        initial_balances: Mapping[str, Decimal],
        path: Path | None = None,
        partial_fills: bool = False,
        seed: int = 0,
    ) -> None:
        self.path = path
        self.partial_fills = partial_fills
        self.seed = seed
        self.place_calls: Counter[str] = Counter()
        self.observers: list[Callable[[SimUpdate], None]] = []
        """Called after each committed operation; an observer that raises is logged, not fatal."""
        self._instruments = {inst.symbol: inst for inst in instruments}
        self._markets = {symbol: MarketState() for symbol in self._instruments}
        self._balances = {
            asset: Balance(asset=asset, free=_ZERO, locked=_ZERO)
            for inst in instruments
            for asset in (inst.base, inst.quote)
        }
        self._orders: dict[int, ExchangeOrder] = {}
        self._open: dict[str, dict[str, int]] = {}
        self._latest: dict[tuple[str, str], int] = {}
        self._fill_seqs: dict[str, list[int]] = {}
        self._fills: dict[str, list[ExchangeFill]] = {}
        self._next_order_id = 1
        self._next_seq = 1
        self._file: SimFile | None = None
        self.tape = Tape()
        """Every print ``apply_trade`` matched: the public trade history (``tape``)."""
        self._is_closed = False
        funding = Batch()
        for asset, free in initial_balances.items():
            if not free.is_finite() or free < 0:
                raise ValueError(f"initial balance of {asset} must be >= 0, was {free}")
            funding.balances[asset] = Balance(asset=asset, free=free, locked=_ZERO)
        if path is not None:
            self._file, funding, self.seed = SimFile.open(path, funding, seed)
        self._apply(funding)

    # --- the Exchange protocol ---------------------------------------------------------------

    async def fetch_instrument(self, symbol: str) -> Instrument:
        """The instrument; raises ``NotFound`` for an unknown symbol."""
        return self.instrument(symbol)

    def instrument(self, symbol: str) -> Instrument:
        """``fetch_instrument`` without the await, for code that serves the simulator."""
        self._market(symbol)
        return self._instruments[symbol]

    async def fetch_balances(self) -> Mapping[str, Balance]:
        return dict(self._balances)

    async def fetch_open_orders(self, symbol: str) -> Sequence[ExchangeOrder]:
        """Open orders of ``symbol`` by order id; raises ``NotFound`` for an unknown symbol."""
        self._market(symbol)
        return [self._orders[oid] for oid in sorted(self._open.get(symbol, {}).values())]

    async def fetch_order(self, symbol: str, client_order_id: str) -> ExchangeOrder:
        """The most recent order with this client id, any status; raises ``NotFound``."""
        oid = self._latest.get((symbol, client_order_id))
        if oid is None:
            raise not_found(symbol, client_order_id, "no order")
        return self._orders[oid]

    async def fetch_fills(self, symbol: str, cursor: str, limit: int = 500) -> FillPage:
        """Fills with sequence number > ``cursor`` ("" = all), oldest first, at most ``limit``.

        The returned cursor is the last sequence number returned, or ``cursor`` when none.
        Raises ``NotFound`` for an unknown symbol, ``Rejected`` for a bad cursor or limit.
        """
        self._market(symbol)
        if not (cursor == "" or (cursor.isascii() and cursor.isdigit())) or limit < 1:
            raise Rejected(
                f"invalid fills request: cursor {cursor!r} must be '' or digits, "
                f"limit {limit} must be >= 1",
                reason="invalid_request",
                symbol=symbol,
            )
        seqs = self._fill_seqs.get(symbol, [])
        start = bisect.bisect_right(seqs, int(cursor or 0))
        end = min(start + limit, len(seqs))
        return FillPage(
            fills=tuple(self._fills[symbol][start:end]) if end > start else (),
            cursor=str(seqs[end - 1]) if end > start else cursor,
            has_more=end < len(seqs),
        )

    async def place_order(self, request: OrderRequest) -> ExchangeOrder:
        """Rest a maker order and lock its funds (a buy's quote includes its maker fee).

        A sell that is not post-only and crosses the last trade fills whole at once, at the
        last trade price, paying the taker fee (the sim has no book to walk).

        Raises ``Rejected`` (reason ``unknown_symbol``, ``invalid_order``,
        ``post_only_would_cross``, ``taker_not_supported`` or ``insufficient_balance``), and
        ``DuplicateClientOrderId`` while an order with this client id is open.
        """
        self.place_calls[request.client_order_id] += 1
        with decimal.localcontext(_EXACT):
            market = self._markets.get(request.symbol)
            asset, need, is_taker = admit(
                request,
                self._instruments.get(request.symbol),
                last_price=market.last_price if market else None,
                already_open=request.client_order_id in self._open.get(request.symbol, {}),
                balances=self._balances,
            )
            oid = self._next_order_id
            order = ExchangeOrder(
                symbol=request.symbol,
                order_id=str(oid),
                client_order_id=request.client_order_id,
                side=request.side,
                price=request.price,
                amount=request.amount,
                filled=_ZERO,
                status=OrderStatus.OPEN,
                ts_event=self._markets[request.symbol].ts_event,
            )
            batch = Batch(orders={oid: order})
            self._adjust(batch, asset, free=-need, locked=need)
            if is_taker:
                # No book behind the sim: a taking sell fills whole at the last trade price.
                market = self._markets[request.symbol]
                assert market.last_price is not None
                inst = self._instruments[request.symbol]
                self._fill(
                    batch, inst, order, order.amount, market.ts_event, price=market.last_price
                )
                order = batch.orders[oid]
            self._commit(batch)
        return order

    async def cancel_order(self, symbol: str, client_order_id: str) -> ExchangeOrder:
        """Cancel the open order with this client id and unlock what it still holds.

        Raises ``NotFound`` when no order with this client id is open.
        """
        oid = self._open.get(symbol, {}).get(client_order_id)
        if oid is None:
            raise not_found(symbol, client_order_id, "no open order")
        order = self._orders[oid]
        with decimal.localcontext(_EXACT):
            inst = self._instruments[symbol]
            asset, held = lock_of(inst, order.side, order.price, order.amount - order.filled)
            canceled = replace(
                order, status=OrderStatus.CANCELED, ts_event=self._markets[symbol].ts_event
            )
            batch = Batch(orders={oid: canceled})
            self._adjust(batch, asset, free=held, locked=-held)
            self._commit(batch)
        return canceled

    async def close(self) -> None:
        self.close_sync()

    def close_sync(self) -> None:
        """Checkpoint and close the file; later writes raise ``Unavailable``, reads still work."""
        if self._is_closed:
            return
        self._is_closed = True
        if self._file is not None:
            self._file.close()

    # --- simulation ----------------------------------------------------------------------------

    def apply_trade(
        self, symbol: str, price: Decimal, amount: Decimal, ts_event: int
    ) -> list[ExchangeFill]:
        """The market printed a trade: fill the resting orders it crosses, at their own prices.

        Buys fill first, then sells. Raises ``NotFound`` for an unknown symbol and
        ``ValueError`` for a trade whose price or amount is not > 0.
        """
        market = self._market(symbol)
        if not (price.is_finite() and amount.is_finite() and price > 0 and amount > 0):
            raise ValueError(f"trade price {price} and amount {amount} must both be > 0")
        inst = self._instruments[symbol]
        batch = Batch()
        with decimal.localcontext(_EXACT):
            for side in (Side.BUY, Side.SELL):
                available = (amount // inst.step_size) * inst.step_size
                for order in crossing(self._open_orders(symbol), side, price):
                    qty = order.amount - order.filled
                    if self.partial_fills:
                        qty = min(qty, available)
                        available -= qty
                    if qty <= 0:
                        break
                    self._fill(batch, inst, order, qty, ts_event)
            batch.markets[symbol] = replace(
                market, last_price=price, position=market.position + 1, ts_event=ts_event
            )
            batch.prints.append(
                self.tape.next_print(symbol, market.position + 1, price, amount, ts_event)
            )
            self._commit(batch)
        return [fill for _, fill in batch.fills]

    def feed_position(self, symbol: str) -> int:
        """The number of trades applied for ``symbol``: where its feed continues."""
        return self._market(symbol).position

    def bind_feed(self, symbol: str, key: str) -> int:
        """Record the feed driving ``symbol`` and return the position to continue from.

        Raises ``ValueError`` when a different feed's key is already bound.
        """
        market = self._market(symbol)
        if not key:
            raise ValueError(f"feed key for {symbol} must not be empty")
        if market.feed_key and market.feed_key != key:
            where = str(self.path) if self.path is not None else "this in-memory exchange"
            raise ValueError(
                f"{where} belongs to feed {market.feed_key!r} for {symbol}, not {key!r}: "
                "use the same feed and seed, or a new data dir"
            )
        if not market.feed_key:
            self._commit(Batch(markets={symbol: replace(market, feed_key=key)}))
        return market.position

    # --- inspection ----------------------------------------------------------------------------

    def last_price(self, symbol: str) -> Decimal | None:
        return self._market(symbol).last_price

    async def fetch_last_price(self, symbol: str) -> Decimal | None:
        return self.last_price(symbol)

    def all_fills(self, symbol: str) -> list[ExchangeFill]:
        return list(self._fills.get(symbol, []))

    def all_orders(self, symbol: str) -> list[ExchangeOrder]:
        """Every order of ``symbol``, any status, by order id."""
        return [order for order in self._orders.values() if order.symbol == symbol]

    # --- internals -----------------------------------------------------------------------------

    def _market(self, symbol: str) -> MarketState:
        market = self._markets.get(symbol)
        if market is None:
            raise NotFound(f"unknown symbol {symbol!r}", symbol=symbol)
        return market

    def _open_orders(self, symbol: str) -> list[ExchangeOrder]:
        return [self._orders[oid] for oid in self._open.get(symbol, {}).values()]

    def _fill(
        self,
        batch: Batch,
        inst: Instrument,
        order: ExchangeOrder,
        qty: Decimal,
        ts_event: int,
        *,
        price: Decimal | None = None,
    ) -> None:
        """Fill ``qty`` of ``order``: at its own price as a maker, or at ``price`` as a taker."""
        is_maker = price is None
        fill_price = order.price if price is None else price
        seq = self._next_seq + len(batch.fills)
        notional = fill_price * qty
        fee = notional * (inst.maker_fee if is_maker else inst.taker_fee)
        fill = ExchangeFill(
            symbol=order.symbol,
            trade_id=str(seq),
            order_id=order.order_id,
            client_order_id=order.client_order_id,
            side=order.side,
            price=fill_price,
            amount=qty,
            fee=fee,
            is_maker=is_maker,
            ts_event=ts_event,
        )
        batch.fills.append((seq, fill))
        filled = order.filled + qty
        status = OrderStatus.FILLED if filled == order.amount else OrderStatus.OPEN
        batch.orders[int(order.order_id)] = replace(
            order, filled=filled, status=status, ts_event=ts_event
        )
        if order.side is Side.BUY:
            self._adjust(batch, inst.quote, locked=-(notional + fee))
            self._adjust(batch, inst.base, free=qty)
        else:
            self._adjust(batch, inst.base, locked=-qty)
            self._adjust(batch, inst.quote, free=notional - fee)

    def _adjust(
        self, batch: Batch, asset: str, *, free: Decimal = _ZERO, locked: Decimal = _ZERO
    ) -> None:
        current = batch.balances.get(asset) or self._balances[asset]
        batch.balances[asset] = replace(
            current, free=current.free + free, locked=current.locked + locked
        )

    def _commit(self, batch: Batch) -> None:
        """Write ``batch`` in one transaction, then apply it to memory; ``Unavailable`` if not."""
        if self._is_closed:
            raise Unavailable("SimExchange is closed")
        if self._file is not None:
            self._file.write(batch)
        self._apply(batch)
        if self.observers:
            update = SimUpdate(
                orders=tuple(batch.orders.values()),
                fills=tuple(fill for _, fill in batch.fills),
                markets=tuple(batch.markets),
            )
            for observer in self.observers:
                try:
                    observer(update)
                except Exception:  # the venue's books are committed; a watcher cannot undo them
                    log.exception("sim observer failed")

    def _apply(self, batch: Batch) -> None:
        self._balances.update(batch.balances)
        self._markets.update(batch.markets)
        for oid, order in batch.orders.items():
            self._orders[oid] = order
            self._next_order_id = max(self._next_order_id, oid + 1)
            key = (order.symbol, order.client_order_id)
            self._latest[key] = max(self._latest.get(key, 0), oid)
            open_orders = self._open.setdefault(order.symbol, {})
            if order.status is OrderStatus.OPEN:
                open_orders[order.client_order_id] = oid
            elif open_orders.get(order.client_order_id) == oid:
                del open_orders[order.client_order_id]
        for seq, fill in batch.fills:
            self._fill_seqs.setdefault(fill.symbol, []).append(seq)
            self._fills.setdefault(fill.symbol, []).append(fill)
            self._next_seq = seq + 1
        self.tape.add(batch.prints)
