"""The simulated venue's rules: which orders it accepts, what a resting order holds, and which
resting orders a trade fills.

Pure functions of a request and the venue's state passed in, so ``SimExchange`` keeps only the
bookkeeping; amounts are computed in the caller's exact decimal context.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

from gridmaker.core.events import Side
from gridmaker.core.units import Instrument
from gridmaker.exchange.api import (
    Balance,
    DuplicateClientOrderId,
    ExchangeOrder,
    NotFound,
    OrderRequest,
    Rejected,
)

__all__ = ["admit", "crossing", "lock_of", "not_found", "order_problem"]


def admit(
    request: OrderRequest,
    inst: Instrument | None,
    *,
    last_price: Decimal | None,
    already_open: bool,
    balances: Mapping[str, Balance],
) -> tuple[str, Decimal, bool]:
    """The asset and amount the order would lock and whether it takes, or ``Rejected``.

    ``inst`` is ``None`` for an unknown symbol; ``already_open`` when an order with this client
    id is open.
    """
    if inst is None:
        raise _rejected(request, "unknown_symbol", f"unknown symbol {request.symbol!r}")
    problem = order_problem(inst, request.price, request.amount)
    if problem:
        raise _rejected(request, "invalid_order", problem)
    if already_open:
        raise _rejected(
            request,
            "duplicate_client_order_id",
            f"an order with client id {request.client_order_id!r} is already open",
            DuplicateClientOrderId,
        )
    is_taker = _takes(request, last_price)
    asset, need = lock_of(inst, request.side, request.price, request.amount)
    free = balances[asset].free
    if free < need:
        message = f"insufficient balance: need {need} {asset}, free {free}"
        raise _rejected(request, "insufficient_balance", message)
    return asset, need, is_taker


def _takes(request: OrderRequest, last: Decimal | None) -> bool:
    """False for a maker order; True for a sell that takes (fills at once at the last price)."""
    price = request.price
    if last is None or ((price < last) if request.side is Side.BUY else (price > last)):
        return False
    message = f"{request.side} at {price} would cross the last trade price {last}"
    if request.post_only:
        raise _rejected(request, "post_only_would_cross", message)
    if request.side is Side.SELL:
        return True
    message += "; SimExchange takes only sells (a stop-loss liquidation)"
    raise _rejected(request, "taker_not_supported", message)


def order_problem(inst: Instrument, price: Decimal, amount: Decimal) -> str:
    """Why the venue refuses an order of ``amount`` at ``price``, or "" when it accepts it."""
    if not price.is_finite() or price <= 0:
        return f"price {price} must be > 0"
    if not amount.is_finite() or amount <= 0:
        return f"amount {amount} must be > 0"
    if price % inst.tick_size:
        return f"price {price} is not a multiple of tick {inst.tick_size}"
    if amount % inst.step_size:
        return f"amount {amount} is not a multiple of step {inst.step_size}"
    if amount < inst.min_qty:
        return f"amount {amount} is below min_qty {inst.min_qty}"
    if price * amount < inst.min_notional:
        return f"notional {price * amount} is below min_notional {inst.min_notional}"
    return ""


def lock_of(inst: Instrument, side: Side, price: Decimal, amount: Decimal) -> tuple[str, Decimal]:
    """What a resting order of ``amount`` holds: quote with its maker fee for a buy, else base."""
    if side is Side.BUY:
        return inst.quote, price * amount * (1 + inst.maker_fee)
    return inst.base, amount


def crossing(
    open_orders: Iterable[ExchangeOrder], side: Side, price: Decimal
) -> list[ExchangeOrder]:
    """Open orders of ``side`` that a trade at ``price`` fills, best price then oldest first."""
    if side is Side.BUY:
        hit = [o for o in open_orders if o.side is side and o.price >= price]
        return sorted(hit, key=lambda o: (-o.price, int(o.order_id)))
    hit = [o for o in open_orders if o.side is side and o.price <= price]
    return sorted(hit, key=lambda o: (o.price, int(o.order_id)))


def not_found(symbol: str, client_order_id: str, what: str) -> NotFound:
    message = f"{what} with client id {client_order_id!r}"
    return NotFound(message, symbol=symbol, client_order_id=client_order_id)


def _rejected(
    request: OrderRequest, reason: str, message: str, kind: type[Rejected] = Rejected
) -> Rejected:
    return kind(
        message, reason=reason, symbol=request.symbol, client_order_id=request.client_order_id
    )
