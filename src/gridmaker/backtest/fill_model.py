"""``FillModel``: the SimExchange rules on integers, without I/O, for the backtester.

It answers what ``SimExchange`` behind ``SimpleExecutor`` answers, so ``decide`` sees the same
events in a backtest as in a live session on the simulated exchange:

- A resting buy fills when the market's ask (a trade's price) is at or below its price, a resting
  sell when the bid (a trade's price) is at or above it, always at the order's own price.
- Buys fill before sells; within a side, the best price first, then the oldest order.
- Without ``partial_fills`` every crossing order fills completely; with them, each side shares
  the printed amount (whole steps) among its crossing orders in that priority.
- The maker fee is charged in quote: ``price * qty * maker_fee``.
- A buy locks ``notional + fee`` of quote, a sell its size in base. An order is refused
  (``REJECTED``) below min quantity or min notional, when it would cross the last price
  (post-only: a buy at or above the ask, a sell at or below the bid), or when free funds are short.
- Placing a client id that is open answers with that order (a duplicate means "it exists");
  cancelling one that is not open answers with the latest order of that id, or ``NOT_FOUND``.

Prices are ticks, sizes steps, quote amounts atoms (see ``core.units``).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from gridmaker.core.events import (
    Action,
    CancelOrder,
    Fill,
    OrderStatus,
    OrderUpdate,
    PlaceOrder,
    Side,
)
from gridmaker.core.units import FEE_SCALE, Atoms, Instrument, Steps, Ticks

__all__ = ["FillModel", "PaperOrder"]


@dataclass(slots=True)
class PaperOrder:
    client_order_id: str
    side: Side
    price_ticks: int
    qty_steps: int
    seq: int
    """Arrival order at the venue: the time priority among equal prices."""
    filled_steps: int = 0
    status: OrderStatus = OrderStatus.OPEN
    ts_event: int = 0


class FillModel:
    """A maker-only paper venue for one instrument, funded with base steps and quote atoms."""

    def __init__(
        self,
        instrument: Instrument,
        *,
        base_steps: int,
        quote_atoms: int,
        partial_fills: bool = False,
    ) -> None:
        self.instrument = instrument
        self.partial_fills = partial_fills
        self.free_base = base_steps
        self.locked_base = 0
        self.free_quote = quote_atoms
        self.locked_quote = 0
        self.bid_ticks = 0
        """The last bid (a trade's price); 0 before the first print."""
        self.ask_ticks = 0
        self.ts_event = 0
        self.best_buy = 0
        """The highest open buy's price, 0 when there is none."""
        self.best_sell = 0
        """The lowest open sell's price, 0 when there is none."""
        self.placed = 0
        self.rejected = 0
        self.canceled = 0
        self.fills = 0
        self._buys: list[tuple[int, int, str]] = []
        """Open buys as (-price, seq, cid), ascending: the best first."""
        self._sells: list[tuple[int, int, str]] = []
        """Open sells as (price, seq, cid), ascending: the best first."""
        self._open: dict[str, PaperOrder] = {}
        self._latest: dict[str, PaperOrder] = {}
        self._seq = 0
        self._fee_ppm = instrument.maker_fee_ppm
        self._buy_lock_ppm = FEE_SCALE + instrument.maker_fee_ppm

    # --- orders --------------------------------------------------------------------------------

    def send(self, action: Action) -> OrderUpdate:
        """Carry out one action and answer as the executor does."""
        if isinstance(action, PlaceOrder):
            return self.place(action)
        return self.cancel(action)

    def open_orders(self) -> list[PaperOrder]:
        """Open orders, oldest first."""
        return sorted(self._open.values(), key=lambda o: o.seq)

    def place(self, action: PlaceOrder) -> OrderUpdate:
        cid = action.client_order_id
        existing = self._open.get(cid)
        if existing is not None:
            return self._update_of(existing)
        price, qty = action.price_ticks, action.qty_steps
        if (
            price <= 0
            or qty <= 0
            or not self.instrument.is_tradeable(price, qty)
            or self._would_cross(action.side, price)
        ):
            return self._rejected(action)
        if action.side is Side.BUY:
            need = price * qty * self._buy_lock_ppm
            if need > self.free_quote:
                return self._rejected(action)
            self.free_quote -= need
            self.locked_quote += need
        else:
            if qty > self.free_base:
                return self._rejected(action)
            self.free_base -= qty
            self.locked_base += qty
        self._seq += 1
        order = PaperOrder(cid, action.side, price, qty, self._seq, ts_event=self.ts_event)
        self._open[cid] = order
        self._latest[cid] = order
        if order.side is Side.BUY:
            bisect.insort(self._buys, (-price, order.seq, cid))
            self.best_buy = -self._buys[0][0]
        else:
            bisect.insort(self._sells, (price, order.seq, cid))
            self.best_sell = self._sells[0][0]
        self.placed += 1
        return self._update_of(order)

    def cancel(self, action: CancelOrder) -> OrderUpdate:
        cid = action.client_order_id
        order = self._open.pop(cid, None)
        if order is None:
            latest = self._latest.get(cid)
            if latest is None:
                return _update(self.instrument.symbol, cid, OrderStatus.NOT_FOUND, 0, 0)
            return self._update_of(latest)
        remaining = order.qty_steps - order.filled_steps
        if order.side is Side.BUY:
            held = order.price_ticks * remaining * self._buy_lock_ppm
            self.locked_quote -= held
            self.free_quote += held
            self._buys.remove((-order.price_ticks, order.seq, cid))
            self.best_buy = -self._buys[0][0] if self._buys else 0
        else:
            self.locked_base -= remaining
            self.free_base += remaining
            self._sells.remove((order.price_ticks, order.seq, cid))
            self.best_sell = self._sells[0][0] if self._sells else 0
        order.status = OrderStatus.CANCELED
        order.ts_event = self.ts_event
        self.canceled += 1
        return self._update_of(order)

    # --- the market ----------------------------------------------------------------------------

    def match(self, bid_ticks: int, ask_ticks: int, amount_steps: int, ts_event: int) -> list[Fill]:
        """The market printed (a trade: bid = ask = its price): fill what it crosses.

        ``amount_steps`` limits the fills of each side only with ``partial_fills``.
        """
        self.bid_ticks, self.ask_ticks, self.ts_event = bid_ticks, ask_ticks, ts_event
        fills: list[Fill] = []
        if self.best_buy and ask_ticks <= self.best_buy:
            self._match_side(self._buys, True, ask_ticks, amount_steps, fills)
            self.best_buy = -self._buys[0][0] if self._buys else 0
        if self.best_sell and bid_ticks >= self.best_sell:
            self._match_side(self._sells, False, bid_ticks, amount_steps, fills)
            self.best_sell = self._sells[0][0] if self._sells else 0
        return fills

    def _match_side(
        self,
        book: list[tuple[int, int, str]],
        is_buy: bool,
        price_ticks: int,
        amount_steps: int,
        fills: list[Fill],
    ) -> None:
        available = amount_steps
        j = 0
        while j < len(book):
            key, _, cid = book[j]
            if (-key < price_ticks) if is_buy else (key > price_ticks):
                break
            order = self._open[cid]
            qty = order.qty_steps - order.filled_steps
            if self.partial_fills:
                qty = min(qty, available)
                available -= qty
            if qty <= 0:
                break
            fills.append(self._fill(order, qty))
            if order.status is OrderStatus.FILLED:
                del book[j]
                del self._open[cid]
            else:
                j += 1

    def _fill(self, order: PaperOrder, qty: int) -> Fill:
        notional = order.price_ticks * qty * FEE_SCALE
        fee = order.price_ticks * qty * self._fee_ppm
        if order.side is Side.BUY:
            self.locked_quote -= notional + fee
            self.free_base += qty
        else:
            self.locked_base -= qty
            self.free_quote += notional - fee
        order.filled_steps += qty
        order.ts_event = self.ts_event
        if order.filled_steps == order.qty_steps:
            order.status = OrderStatus.FILLED
        self.fills += 1
        return Fill(
            symbol=self.instrument.symbol,
            trade_id=str(self.fills),
            client_order_id=order.client_order_id,
            side=order.side,
            price_ticks=Ticks(order.price_ticks),
            qty_steps=Steps(qty),
            fee_atoms=Atoms(fee),
            ts_event=self.ts_event,
        )

    # --- helpers -------------------------------------------------------------------------------

    def _would_cross(self, side: Side, price_ticks: int) -> bool:
        if side is Side.BUY:
            return bool(self.ask_ticks) and price_ticks >= self.ask_ticks
        return bool(self.bid_ticks) and price_ticks <= self.bid_ticks

    def _rejected(self, action: PlaceOrder) -> OrderUpdate:
        self.rejected += 1
        return _update(self.instrument.symbol, action.client_order_id, OrderStatus.REJECTED, 0, 0)

    def _update_of(self, order: PaperOrder) -> OrderUpdate:
        return _update(
            self.instrument.symbol,
            order.client_order_id,
            order.status,
            order.filled_steps,
            order.ts_event,
        )


def _update(symbol: str, cid: str, status: OrderStatus, filled: int, ts_event: int) -> OrderUpdate:
    return OrderUpdate(
        symbol=symbol,
        client_order_id=cid,
        status=status,
        filled_steps=Steps(filled),
        ts_event=ts_event,
    )
