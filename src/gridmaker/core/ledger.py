"""The per-grid profit ledger: ``build_ledger(fills, ...)``, a pure function of fills.

The same function reads the store's fill journal (the running ledger) and the venue's own trade
history (the rebuild), so the two are equal exactly when both hold the same fills.

**The matching rule** (what the docs tell users):

1. Fills are taken in venue order: by time, then by trade id. A trade id seen twice counts
   once. Only fills whose client id decodes to the grid's ``strategy_id`` count; every other
   one is listed as foreign and ignored.
2. A sell's round trip is the buys of its own level: first those of its own client id's
   (level, cycle), the buy the level made and the take-profit sell it answered it with; then
   the level's other lots, oldest first (a sell cancelled or refused at the venue spends its
   id, and the level sells the same lot again under the next cycle's).
3. What a sell cannot match that way (a neutral grid's opening inventory, inventory a
   reconfiguration handed to another level, the stop-loss or close sale) is matched first in,
   first out against the bought lots no later sell of their own level will take, and beyond
   those against the opening inventory, valued at the grid's start price. Which part of a lot
   its own level will take is read backwards from the fills: a lot still waiting for its own
   sell is never handed to another; a lot whose level never sells it again (retired, stopped)
   is.
4. Profit is after fees: a bought lot costs its notional plus its buy fee, a sale brings its
   notional minus its sell fee. Grid profit (= realized) is the sum over every sale of what it
   brought minus the cost of what it matched; a part of a lot costs its share of the lot's cost,
   rounded down, and the last part takes what is left, so no atom is lost.
5. Unrealized profit is the lots still held valued at the last price, minus their cost. The
   opening inventory a neutral grid still holds is not in any fill, so it is not counted.

Per-level figures are keyed by the client id's level (the stop-loss/close sale has its own
``planning.LIQUIDATION_LEVEL``): its fills, the price of its latest buy and sell, the sell
orders that closed a round trip there, its profit and its fees. After a reconfiguration a level
index may name another price; the prices shown are the latest.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from gridmaker.core.events import Fill, Side
from gridmaker.core.ids import decode_cid
from gridmaker.core.units import Instrument, notional_atoms

__all__ = ["Ledger", "LevelLine", "build_ledger", "venue_order"]


@dataclass(frozen=True, slots=True, kw_only=True)
class LevelLine:
    """One level's figures; money in atoms, sizes in steps, prices in ticks (0: none)."""

    level: int
    buy_ticks: int
    sell_ticks: int
    buys: int
    bought_steps: int
    sells: int
    sold_steps: int
    round_trips: int
    """Sell orders (one per cycle) that filled here, in part or in full."""
    profit_atoms: int
    fees_atoms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Ledger:
    """A grid's profit from its fills; equal ledgers came from the same fills."""

    symbol: str
    strategy_id: str
    instrument: Instrument
    start_price_ticks: int
    last_price_ticks: int
    trade_ids: tuple[str, ...]
    """The fills that count, in venue order."""
    foreign: tuple[str, ...]
    """Trade ids of fills that are not this grid's (ignored)."""
    buys: int
    sells: int
    bought_steps: int
    sold_steps: int
    grid_profit_atoms: int
    fees_atoms: int
    open_steps: int
    open_cost_atoms: int
    unrealized_atoms: int
    opening_sold_steps: int
    """Sold steps matched against the opening inventory (at the start price)."""
    levels: tuple[LevelLine, ...]

    @property
    def realized_atoms(self) -> int:
        return self.grid_profit_atoms


@dataclass(slots=True)
class _Lot:
    key: tuple[int, int]
    qty: int
    cost: int
    reserved: int
    """Of ``qty``, what a later sell of the lot's own id will claim."""

    def take(self, qty: int, *, own: bool) -> int:
        """Remove ``qty`` steps (``own``: for its own id's sell, which spends the claim);
        their cost: the lot's share, rounded down, and the last part takes what is left."""
        cost = self.cost if qty >= self.qty else self.cost * qty // self.qty
        self.qty -= qty
        self.cost -= cost
        self.reserved = min(max(0, self.reserved - qty) if own else self.reserved, self.qty)
        return cost


@dataclass(slots=True)
class _Level:
    buy_ticks: int = 0
    sell_ticks: int = 0
    buys: int = 0
    bought: int = 0
    sells: int = 0
    sold: int = 0
    sell_cycles: set[int] = field(default_factory=set)
    profit: int = 0
    fees: int = 0


def _trade_id_key(trade_id: str) -> tuple[int, int, str]:
    """Numeric ids in number order (``"9"`` before ``"10"``), any others after, as text."""
    return (0, int(trade_id), "") if trade_id.isdigit() else (1, 0, trade_id)


def venue_order(fills: Iterable[Fill]) -> list[Fill]:
    """``fills`` by (time, trade id), each trade id once (its first copy)."""
    unique: dict[str, Fill] = {}
    for fill in fills:
        unique.setdefault(fill.trade_id, fill)
    return sorted(unique.values(), key=lambda f: (f.ts_event, _trade_id_key(f.trade_id)))


def build_ledger(
    fills: Iterable[Fill],
    *,
    strategy_id: str,
    instrument: Instrument,
    start_price_ticks: int,
    last_price_ticks: int,
) -> Ledger:
    """The ledger of ``strategy_id``'s fills (the rule is in the module docstring)."""
    ordered = venue_order(fills)
    ours: list[tuple[Fill, tuple[int, int]]] = []
    foreign: list[str] = []
    for fill in ordered:
        decoded = decode_cid(fill.client_order_id)
        if decoded is None or decoded.strategy != strategy_id:
            foreign.append(fill.trade_id)
        else:
            ours.append((fill, (decoded.level, decoded.cycle)))
    reserved = _reservations(ours)
    lots: list[_Lot] = []
    levels: dict[int, _Level] = {}
    opening_sold = 0
    for (fill, key), claimed in zip(ours, reserved, strict=True):
        line = levels.setdefault(key[0], _Level())
        notional = notional_atoms(fill.price_ticks, fill.qty_steps)
        line.fees += fill.fee_atoms
        if fill.side is Side.BUY:
            lots.append(_Lot(key, fill.qty_steps, notional + fill.fee_atoms, claimed))
            line.buy_ticks, line.buys = fill.price_ticks, line.buys + 1
            line.bought += fill.qty_steps
            continue
        cost, left = _match(lots, key, fill.qty_steps)
        opening_sold += left
        cost += notional_atoms(start_price_ticks, left)
        line.sell_ticks, line.sells = fill.price_ticks, line.sells + 1
        line.sold += fill.qty_steps
        line.sell_cycles.add(key[1])
        line.profit += notional - fill.fee_atoms - cost
    open_steps = sum(lot.qty for lot in lots)
    open_cost = sum(lot.cost for lot in lots)
    counted = [f for f, _ in ours]
    return Ledger(
        symbol=instrument.symbol,
        strategy_id=strategy_id,
        instrument=instrument,
        start_price_ticks=start_price_ticks,
        last_price_ticks=last_price_ticks,
        trade_ids=tuple(f.trade_id for f in counted),
        foreign=tuple(foreign),
        buys=sum(1 for f in counted if f.side is Side.BUY),
        sells=sum(1 for f in counted if f.side is Side.SELL),
        bought_steps=sum(f.qty_steps for f in counted if f.side is Side.BUY),
        sold_steps=sum(f.qty_steps for f in counted if f.side is Side.SELL),
        grid_profit_atoms=sum(line.profit for line in levels.values()),
        fees_atoms=sum(f.fee_atoms for f in counted),
        open_steps=open_steps,
        open_cost_atoms=open_cost,
        unrealized_atoms=notional_atoms(last_price_ticks, open_steps) - open_cost,
        opening_sold_steps=opening_sold,
        levels=tuple(_line(level, levels[level]) for level in sorted(levels)),
    )


def _reservations(ours: list[tuple[Fill, tuple[int, int]]]) -> list[int]:
    """Of each buy, the steps a later sell of its own level will take (0 for a sell).

    Read backwards: each sell adds to its level's demand, which the buys before it meet,
    latest first. Only what is left of a lot may go to another level's sale.
    """
    demand: dict[int, int] = {}
    reserved = [0] * len(ours)
    for i in range(len(ours) - 1, -1, -1):
        fill, (level, _) = ours[i]
        wanted = demand.get(level, 0)
        if fill.side is Side.SELL:
            demand[level] = wanted + fill.qty_steps
        elif wanted:
            reserved[i] = min(fill.qty_steps, wanted)
            demand[level] = wanted - reserved[i]
    return reserved


def _match(lots: list[_Lot], key: tuple[int, int], qty: int) -> tuple[int, int]:
    """Take ``qty`` steps from the lots of ``key`` itself, then of its level, then first in,
    first out from what no sell of their own level claims; the cost taken and the steps left
    for the opening inventory."""
    cost = 0
    for same_id in (True, False):
        for lot in lots:
            if qty == 0:
                break
            if lot.qty and (lot.key == key if same_id else lot.key[0] == key[0]):
                take = min(qty, lot.qty)
                cost, qty = cost + lot.take(take, own=True), qty - take
    for lot in lots:
        if qty == 0:
            break
        free = lot.qty - lot.reserved
        if free > 0:
            take = min(qty, free)
            cost, qty = cost + lot.take(take, own=False), qty - take
    if any(lot.qty == 0 for lot in lots):
        lots[:] = [lot for lot in lots if lot.qty]
    return cost, qty


def _line(level: int, line: _Level) -> LevelLine:
    return LevelLine(
        level=level,
        buy_ticks=line.buy_ticks,
        sell_ticks=line.sell_ticks,
        buys=line.buys,
        bought_steps=line.bought,
        sells=line.sells,
        sold_steps=line.sold,
        round_trips=len(line.sell_cycles),
        profit_atoms=line.profit,
        fees_atoms=line.fees,
    )
