"""A deterministic, in-process simulated spot venue: ``SimExchange``.

Orders rest as makers until ``apply_trade`` reports a market trade through their price; each
crossing order then fills at its own limit price and pays ``maker_fee`` in the quote currency.
There is no clock and no randomness: the same operations give the same order ids, trade ids and
fills. All amounts are exact ``Decimal`` (an inexact result would raise ``decimal.Inexact``).

With a ``path``, each operation is one SQLite transaction (WAL, ``synchronous=NORMAL``): a process
killed at any instant reopens exactly as it was after the last completed operation. An in-memory
copy serves every read; the file is only written, and read once when reopened.
"""

from __future__ import annotations

import bisect
import decimal
import logging
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, TypeVar

from gridmaker.core.events import OrderStatus, Side
from gridmaker.core.units import Instrument
from gridmaker.exchange.api import (
    Balance,
    DuplicateClientOrderId,
    ExchangeFill,
    ExchangeOrder,
    FillPage,
    NotFound,
    OrderRequest,
    Rejected,
    Unavailable,
)

__all__ = ["SCHEMA_VERSION", "SimExchange", "SimFileError", "SimUpdate", "check_state_file"]

log = logging.getLogger("gridmaker.sim")

SCHEMA_VERSION: Final = 1

_EXACT: Final = decimal.Context(
    prec=100,
    traps=[decimal.Inexact, decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
)
_ZERO: Final = Decimal(0)

_DECODE: Final[dict[str, Callable[[Any], Any]]] = {
    "side": Side,
    "status": OrderStatus,
    "price": Decimal,
    "amount": Decimal,
    "filled": Decimal,
    "fee": Decimal,
    "is_maker": bool,
    "ts_event": int,
}
"""How a column of ``orders`` or ``fills`` becomes its field again (``str`` otherwise)."""


def _columns(kind: type[ExchangeOrder | ExchangeFill]) -> str:
    return ", ".join(f.name for f in fields(kind))


_SCHEMA: Final = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE balances (asset TEXT PRIMARY KEY, free TEXT NOT NULL, locked TEXT NOT NULL)",
    f"CREATE TABLE orders (id INTEGER PRIMARY KEY, {_columns(ExchangeOrder)})",
    f"CREATE TABLE fills (seq INTEGER PRIMARY KEY, {_columns(ExchangeFill)})",
    "CREATE TABLE markets (symbol TEXT PRIMARY KEY, last_price TEXT NOT NULL,"
    " position INTEGER NOT NULL, feed_key TEXT NOT NULL, ts_event INTEGER NOT NULL)",
)
"""Decimals are stored as their exact text, enums as their value, ``last_price`` "" as None."""

_Record = TypeVar("_Record", ExchangeOrder, ExchangeFill)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Market:
    """Per symbol: the last trade's price and time, trades applied, and the bound feed's key."""

    last_price: Decimal | None = None
    position: int = 0
    feed_key: str = ""
    ts_event: int = 0


@dataclass(frozen=True, slots=True)
class SimUpdate:
    """What one committed operation changed, for observers (the HTTP simulator's streams)."""

    orders: tuple[ExchangeOrder, ...]
    """Each changed order in its state after the operation."""
    fills: tuple[ExchangeFill, ...]
    markets: tuple[str, ...]
    """Symbols whose market changed (a trade printed; a feed bound)."""


@dataclass(slots=True)
class _Batch:
    """Everything one operation changes: written in one transaction, then applied to memory."""

    orders: dict[int, ExchangeOrder] = field(default_factory=dict)
    fills: list[tuple[int, ExchangeFill]] = field(default_factory=list)
    balances: dict[str, Balance] = field(default_factory=dict)
    markets: dict[str, _Market] = field(default_factory=dict)


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
        self._markets = {symbol: _Market() for symbol in self._instruments}
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
        self._db: sqlite3.Connection | None = None
        self._is_closed = False
        funding = _Batch()
        for asset, free in initial_balances.items():
            if not free.is_finite() or free < 0:
                raise ValueError(f"initial balance of {asset} must be >= 0, was {free}")
            funding.balances[asset] = Balance(asset=asset, free=free, locked=_ZERO)
        self._apply(funding if path is None else self._open_file(path, funding))

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
            raise _not_found(symbol, client_order_id, "no order")
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
            asset, need, is_taker = self._check_admissible(request)
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
            batch = _Batch(orders={oid: order})
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
            raise _not_found(symbol, client_order_id, "no open order")
        order = self._orders[oid]
        with decimal.localcontext(_EXACT):
            inst = self._instruments[symbol]
            asset, held = _lock_of(inst, order.side, order.price, order.amount - order.filled)
            canceled = replace(
                order, status=OrderStatus.CANCELED, ts_event=self._markets[symbol].ts_event
            )
            batch = _Batch(orders={oid: canceled})
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
        if self._db is not None:
            try:
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                self._db.close()

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
        batch = _Batch()
        with decimal.localcontext(_EXACT):
            for side in (Side.BUY, Side.SELL):
                available = (amount // inst.step_size) * inst.step_size
                for order in self._crossing(symbol, side, price):
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
            self._commit(_Batch(markets={symbol: replace(market, feed_key=key)}))
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

    def _market(self, symbol: str) -> _Market:
        market = self._markets.get(symbol)
        if market is None:
            raise NotFound(f"unknown symbol {symbol!r}", symbol=symbol)
        return market

    def _check_admissible(self, request: OrderRequest) -> tuple[str, Decimal, bool]:
        """The asset and amount the order would lock and whether it takes, or ``Rejected``."""
        inst = self._instruments.get(request.symbol)
        if inst is None:
            raise _rejected(request, "unknown_symbol", f"unknown symbol {request.symbol!r}")
        problem = _order_problem(inst, request.price, request.amount)
        if problem:
            raise _rejected(request, "invalid_order", problem)
        if request.client_order_id in self._open.get(request.symbol, {}):
            raise _rejected(
                request,
                "duplicate_client_order_id",
                f"an order with client id {request.client_order_id!r} is already open",
                DuplicateClientOrderId,
            )
        is_taker = self._check_maker(request)
        asset, need = _lock_of(inst, request.side, request.price, request.amount)
        free = self._balances[asset].free
        if free < need:
            message = f"insufficient balance: need {need} {asset}, free {free}"
            raise _rejected(request, "insufficient_balance", message)
        return asset, need, is_taker

    def _check_maker(self, request: OrderRequest) -> bool:
        """False for a maker order; True for a sell that takes (fills at once at the last price)."""
        last = self._markets[request.symbol].last_price
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

    def _crossing(self, symbol: str, side: Side, price: Decimal) -> list[ExchangeOrder]:
        """Open orders of ``side`` that a trade at ``price`` fills, best price then oldest first."""
        orders = [self._orders[oid] for oid in self._open.get(symbol, {}).values()]
        if side is Side.BUY:
            hit = [o for o in orders if o.side is side and o.price >= price]
            return sorted(hit, key=lambda o: (-o.price, int(o.order_id)))
        hit = [o for o in orders if o.side is side and o.price <= price]
        return sorted(hit, key=lambda o: (o.price, int(o.order_id)))

    def _fill(
        self,
        batch: _Batch,
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
        self, batch: _Batch, asset: str, *, free: Decimal = _ZERO, locked: Decimal = _ZERO
    ) -> None:
        current = batch.balances.get(asset) or self._balances[asset]
        batch.balances[asset] = replace(
            current, free=current.free + free, locked=current.locked + locked
        )

    def _commit(self, batch: _Batch) -> None:
        """Write ``batch`` in one transaction, then apply it to memory; ``Unavailable`` if not."""
        if self._is_closed:
            raise Unavailable("SimExchange is closed")
        if self._db is not None:
            try:
                with _transaction(self._db) as db:
                    _write(db, batch)
            except sqlite3.Error as e:
                raise Unavailable(f"SimExchange could not write {self.path}: {e}") from e
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

    def _apply(self, batch: _Batch) -> None:
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

    def _open_file(self, path: Path, funding: _Batch) -> _Batch:
        """Open (or create, funded) the file; returns its contents to apply to memory.

        The file is checked read-only first (``check_state_file``): a refused one is left as
        it was, never half-created or migrated.
        """
        check_state_file(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        except (OSError, sqlite3.Error) as e:
            raise SimFileError(
                f"cannot open the SimExchange file {path}: {e}", read_only=True
            ) from e
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'meta'").fetchone():
                batch = self._read(db, path)
            else:
                with _transaction(db):
                    for statement in _SCHEMA:
                        db.execute(statement)
                    meta = [("schema_version", str(SCHEMA_VERSION)), ("seed", str(self.seed))]
                    db.executemany("INSERT INTO meta VALUES (?, ?)", meta)
                    _write(db, funding)
                batch = funding
        except BaseException as e:
            db.close()
            if isinstance(e, sqlite3.DatabaseError):
                raise SimFileError(
                    f"cannot open the SimExchange file {path}: {e}",
                    read_only=_is_access_error(e),
                ) from e
            raise
        self._db = db
        return batch

    def _read(self, db: sqlite3.Connection, path: Path) -> _Batch:
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
        if meta.get("schema_version") != str(SCHEMA_VERSION):
            raise SimFileError(
                f"{path} has SimExchange schema version {meta.get('schema_version')}, "
                f"this gridmaker reads version {SCHEMA_VERSION}"
            )
        self.seed = int(meta["seed"])
        batch = _Batch()
        for asset, free, locked in db.execute("SELECT * FROM balances"):
            batch.balances[asset] = Balance(asset=asset, free=Decimal(free), locked=Decimal(locked))
        for row in db.execute("SELECT * FROM orders ORDER BY id"):
            batch.orders[row[0]] = _decoded(ExchangeOrder, row)
        for row in db.execute("SELECT * FROM fills ORDER BY seq"):
            batch.fills.append((row[0], _decoded(ExchangeFill, row)))
        for symbol, last, position, key, ts_event in db.execute("SELECT * FROM markets"):
            batch.markets[symbol] = _Market(
                last_price=Decimal(last) if last else None,
                position=position,
                feed_key=key,
                ts_event=ts_event,
            )
        return batch


class SimFileError(ValueError):
    """The simulator's file cannot be used: damaged (``read_only`` False) or not writable."""

    def __init__(self, message: str, *, read_only: bool = False) -> None:
        super().__init__(message)
        self.read_only = read_only


_SQLITE_HEADER: Final = b"SQLite format 3\x00"
_DAMAGED_HINT: Final = (
    "It holds the simulated venue's orders, balances and fills: restore it from a backup, or "
    "start over with a new --data-dir."
)


def _is_access_error(e: sqlite3.Error) -> bool:
    """SQLITE_PERM, READONLY, CANTOPEN, IOERR, FULL: the disk or its rights, not the bytes."""
    return ((getattr(e, "sqlite_errorcode", None) or 0) & 0xFF) in {3, 8, 10, 13, 14}


def _expected_tables() -> dict[str, list[str]]:
    with closing(sqlite3.connect(":memory:")) as db:
        for statement in _SCHEMA:
            db.execute(statement)
        names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {n: [c[1] for c in db.execute(f"PRAGMA table_info('{n}')")] for n in names}


def check_state_file(path: Path) -> None:
    """Raise ``SimFileError`` unless ``path`` is absent, empty, or an intact simulator file.

    Reads only (an ``immutable`` connection when no ``-wal`` file exists, so SQLite creates no
    side files): SQLite's header and ``quick_check``, then every table and column.
    """
    if not path.exists() or (path.is_file() and path.stat().st_size == 0):
        return
    try:
        with path.open("rb") as f:
            head = f.read(len(_SQLITE_HEADER))
    except OSError as e:
        raise SimFileError(
            f"cannot read the SimExchange file {path}: {e.strerror}", read_only=True
        ) from e
    if head != _SQLITE_HEADER:
        raise SimFileError(
            f"the SimExchange file {path} is not a SQLite database (overwritten or truncated). "
            + _DAMAGED_HINT
        )
    wal = path.with_name(path.name + "-wal")
    uri = path.resolve().as_uri() + ("?mode=ro" if wal.exists() else "?mode=ro&immutable=1")
    try:
        with closing(sqlite3.connect(uri, uri=True)) as db:
            problems = [r[0] for r in db.execute("PRAGMA quick_check(5)")]
            tables = {
                r[0]: [c[1] for c in db.execute(f"PRAGMA table_info('{r[0]}')")]
                for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall()
            }
    except sqlite3.Error as e:
        raise SimFileError(
            f"cannot read the SimExchange file {path}: {e}. "
            + ("" if _is_access_error(e) else _DAMAGED_HINT),
            read_only=_is_access_error(e),
        ) from e
    if problems != ["ok"]:
        raise SimFileError(
            f"the SimExchange file {path} fails SQLite's integrity check "
            f"({'; '.join(problems)}). {_DAMAGED_HINT}"
        )
    if not tables:
        return
    for table, columns in _expected_tables().items():
        if table not in tables:
            raise SimFileError(
                f"the SimExchange file {path} has no table {table!r}. {_DAMAGED_HINT}"
            )
        if missing := [c for c in columns if c not in tables[table]]:
            raise SimFileError(
                f"table {table!r} of the SimExchange file {path} has no column "
                f"{', '.join(map(repr, missing))}. {_DAMAGED_HINT}"
            )


def _order_problem(inst: Instrument, price: Decimal, amount: Decimal) -> str:
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


def _lock_of(inst: Instrument, side: Side, price: Decimal, amount: Decimal) -> tuple[str, Decimal]:
    """What a resting order of ``amount`` holds: quote with its maker fee for a buy, else base."""
    if side is Side.BUY:
        return inst.quote, price * amount * (1 + inst.maker_fee)
    return inst.base, amount


def _rejected(
    request: OrderRequest, reason: str, message: str, kind: type[Rejected] = Rejected
) -> Rejected:
    return kind(
        message, reason=reason, symbol=request.symbol, client_order_id=request.client_order_id
    )


def _not_found(symbol: str, client_order_id: str, what: str) -> NotFound:
    message = f"{what} with client id {client_order_id!r}"
    return NotFound(message, symbol=symbol, client_order_id=client_order_id)


@contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _write(db: sqlite3.Connection, batch: _Batch) -> None:
    """Upsert the batch's balances, orders and markets and insert its fills (no transaction)."""
    balances = [(b.asset, str(b.free), str(b.locked)) for b in batch.balances.values()]
    db.executemany("INSERT OR REPLACE INTO balances VALUES (?, ?, ?)", balances)
    order_marks = ", ?" * len(fields(ExchangeOrder))
    orders = [(oid, *_row(order)) for oid, order in batch.orders.items()]
    db.executemany(f"INSERT OR REPLACE INTO orders VALUES (?{order_marks})", orders)
    fill_marks = ", ?" * len(fields(ExchangeFill))
    fills = [(seq, *_row(fill)) for seq, fill in batch.fills]
    db.executemany(f"INSERT INTO fills VALUES (?{fill_marks})", fills)
    markets = [
        (symbol, str(m.last_price or ""), m.position, m.feed_key, m.ts_event)
        for symbol, m in batch.markets.items()
    ]
    db.executemany("INSERT OR REPLACE INTO markets VALUES (?, ?, ?, ?, ?)", markets)


def _row(record: ExchangeOrder | ExchangeFill) -> tuple[object, ...]:
    """A record's fields in declaration order: ints (and bools) as is, everything else as text."""
    values = (getattr(record, f.name) for f in fields(record))
    return tuple(v if isinstance(v, int) else str(v) for v in values)


def _decoded(kind: type[_Record], row: Sequence[Any]) -> _Record:
    """A record from its table row, whose first column is the key."""
    names = [f.name for f in fields(kind)]
    values = {
        name: _DECODE.get(name, str)(value) for name, value in zip(names, row[1:], strict=True)
    }
    return kind(**values)
