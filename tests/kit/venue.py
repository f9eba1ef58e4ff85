"""A tiny paper venue for driving the pure core in property tests: it keeps real state.

It mirrors the SimExchange rules (resting orders fill at their own price when a trade prints
through them; post-only refused when crossing; funds locked; maker fee in quote) without I/O,
so hypothesis can run thousands of sessions through ``decide``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from gridmaker.core.decide import decide, needs_decision
from gridmaker.core.events import (
    Action,
    CancelOrder,
    Event,
    Fill,
    OrderStatus,
    OrderUpdate,
    PlaceOrder,
    PriceTick,
    Side,
)
from gridmaker.core.state import Decision, GridState
from gridmaker.core.units import Atoms, Instrument, Steps, Ticks


@dataclass
class PaperOrder:
    cid: str
    side: Side
    price: int
    qty: int
    filled: int = 0
    is_open: bool = True


@dataclass
class PaperVenue:
    instrument: Instrument
    base: int
    quote: int
    last_price: int = 0
    orders: dict[str, PaperOrder] = field(default_factory=dict)
    trade_seq: int = 0
    sent: list[Action] = field(default_factory=list)
    taker_fills: list[Fill] = field(default_factory=list)
    """Fills of taking sells, executed on placement; the driver delivers them next."""

    def _reserve(self, order: PaperOrder, qty: int) -> int:
        return self.instrument.notional(order.price, qty) + self.instrument.fee(order.price, qty)

    def locked(self) -> tuple[int, int]:
        quote = sum(self._reserve(o, o.qty - o.filled) for o in self.open() if o.side is Side.BUY)
        base = sum(o.qty - o.filled for o in self.open() if o.side is Side.SELL)
        return base, quote

    def open(self) -> list[PaperOrder]:
        return [o for o in self.orders.values() if o.is_open]

    def lookup(self, cid: str) -> OrderStatus:
        """What a lookup by client id answers, as a venue keeping every order's history does."""
        order = self.orders.get(cid)
        if order is None:
            return OrderStatus.NOT_FOUND
        if order.is_open:
            return OrderStatus.OPEN
        return OrderStatus.FILLED if order.filled == order.qty else OrderStatus.CANCELED

    def send(self, action: Action) -> OrderUpdate:
        self.sent.append(action)
        if isinstance(action, CancelOrder):
            return self._cancel(action)
        return self._place(action)

    def _update(self, cid: str, status: OrderStatus, filled: int = 0) -> OrderUpdate:
        return OrderUpdate(
            symbol=self.instrument.symbol,
            client_order_id=cid,
            status=status,
            filled_steps=Steps(filled),
            ts_event=self.trade_seq,
        )

    def _place(self, action: PlaceOrder) -> OrderUpdate:
        cid = action.client_order_id
        existing = self.orders.get(cid)
        if existing is not None and existing.is_open:
            return self._update(cid, OrderStatus.OPEN, existing.filled)
        order = PaperOrder(cid, action.side, action.price_ticks, action.qty_steps)
        crosses = self.last_price and (
            (order.side is Side.BUY and order.price >= self.last_price)
            or (order.side is Side.SELL and order.price <= self.last_price)
        )
        locked_base, locked_quote = self.locked()
        if order.side is Side.BUY:
            short = self._reserve(order, order.qty) > self.quote - locked_quote
        else:
            short = order.qty > self.base - locked_base
        if short or (crosses and (action.post_only or order.side is Side.BUY)):
            return self._update(cid, OrderStatus.REJECTED)
        self.orders[cid] = order
        if crosses:  # a taking sell: whole, at the last trade price, taker fee
            self.taker_fills.append(self._fill(order, order.qty, price=self.last_price))
            return self._update(cid, OrderStatus.FILLED, order.qty)
        return self._update(cid, OrderStatus.OPEN)

    def _cancel(self, action: CancelOrder) -> OrderUpdate:
        order = self.orders.get(action.client_order_id)
        if order is None or not order.is_open:
            return self._update(action.client_order_id, OrderStatus.NOT_FOUND)
        order.is_open = False
        return self._update(order.cid, OrderStatus.CANCELED, order.filled)

    def trade(self, price: int, amount: int | None) -> list[Fill]:
        """A trade prints; ``amount=None`` fills every crossing order completely."""
        self.last_price = price
        crossing = [
            o
            for o in self.open()
            if (o.side is Side.BUY and price <= o.price)
            or (o.side is Side.SELL and price >= o.price)
        ]
        crossing.sort(key=lambda o: (-o.price if o.side is Side.BUY else o.price, o.cid))
        fills = []
        left = amount
        for order in crossing:
            qty = order.qty - order.filled if left is None else min(left, order.qty - order.filled)
            if qty <= 0:
                break
            fills.append(self._fill(order, qty))
            if left is not None:
                left -= qty
        return fills

    def _fill(self, order: PaperOrder, qty: int, price: int | None = None) -> Fill:
        inst = self.instrument
        at = order.price if price is None else price
        notional = inst.notional(at, qty)
        fee = inst.fee(at, qty, is_maker=price is None)
        if order.side is Side.BUY:
            self.base += qty
            self.quote -= notional + fee
        else:
            self.base -= qty
            self.quote += notional - fee
        order.filled += qty
        order.is_open = order.filled < order.qty
        self.trade_seq += 1
        return Fill(
            symbol=inst.symbol,
            trade_id=f"t{self.trade_seq}",
            client_order_id=order.cid,
            side=order.side,
            price_ticks=Ticks(at),
            qty_steps=Steps(qty),
            fee_atoms=Atoms(fee),
            ts_event=self.trade_seq,
        )


def run_session(
    state: GridState, venue: PaperVenue, trades: list[tuple[int, int | None]]
) -> tuple[GridState, list[Action]]:
    """Drive ``decide`` as the orchestrator does: trade prints, price event, then the fills."""
    actions: list[Action] = []

    def process(event: Event) -> None:
        nonlocal state
        queue: deque[Event] = deque([event])
        while queue:
            decision: Decision = decide(state, queue.popleft())
            state = decision.state
            for action in decision.actions:
                actions.append(action)
                queue.append(venue.send(action))
            queue.extend(venue.taker_fills)
            venue.taker_fills.clear()

    for price, amount in trades:
        fills = venue.trade(price, amount)
        if needs_decision(state, price):
            process(
                PriceTick(
                    symbol=state.symbol, price_ticks=Ticks(price), qty_steps=Steps(0), ts_event=0
                )
            )
        for fill in fills:
            process(fill)
    return state, actions
