"""The fleet torture's verdict: every grid's store against the exchange's own records, and
the ownership history against the chaos that was done.

The exchange (its state file, read after the simulator stopped) is the judge of trading:
- duplicate_orders: a client id placed more than once, or two open orders of one strategy on
  one side at one price
- orders_without_intent: an order of ours at the venue whose grid never recorded its intent
- lost_fills / double_applied_fills: the venue's fills of a grid's orders against its store
- balance_mismatches: assets whose sum over the grids' books differs from the venue's total
- book_venue_order_mismatches: open orders of ours the book does not hold, and back
The database's own clock is the judge of ownership:
- grids_without_one_owner: at the end of the chaos, a grid not held (leased, trading) by a
  running worker
- epoch_regressions: an ``acquired`` whose epoch is not above the grid's previous one
- stale_trading: a ``trading`` line of an epoch older than the grid's latest ``acquired``
- stale_writes: a store row written by a process that did not hold the grid at that instant
  (each worker process writes under its own application name; see ``tests/kit/fleet.py``)
- failover: for each kill or stall, the time from the signal to the first ``trading`` of each
  grid the victim held, under a newer epoch; a grid whose taker was itself killed or stalled
  before it traded counts as that later event's failover (``failovers_interrupted``)
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.kit.fleet import GridSpec, Write, connect

from gridmaker.core.ids import decode_cid
from gridmaker.core.units import Instrument
from gridmaker.exchange.sim import SimExchange
from gridmaker.store.pg_store import PgStore
from gridmaker.store.url import parse_store_url

__all__ = ["ChaosEvent", "judge_ownership", "judge_venue", "percentile"]


@dataclass
class ChaosEvent:
    """One kill or stall: its victim, the database's clock at the signal, what it held."""

    kind: str
    """``kill`` or ``stall``."""
    worker: str
    executor: str
    at: datetime
    held: dict[str, int] = field(default_factory=dict)
    """grid -> the victim's epoch of it."""
    claimed: frozenset[str] = frozenset()
    """Grids whose workflow the victim was running without their lease yet (DBOS gave them to
    it, and it was waiting for or taking the lease): hit there, a failover starts again."""


def _strategy(cid: str) -> str | None:
    decoded = decode_cid(cid)
    return decoded.strategy if decoded else None


def judge_venue(
    state: Path, instruments: Sequence[Instrument], specs: Sequence[GridSpec], url: str
) -> dict[str, Any]:
    """Compare every grid's store with the exchange's records (the simulator stopped)."""
    sim = SimExchange(instruments=list(instruments), initial_balances={}, path=state)
    try:
        orders = {i.symbol: sim.all_orders(i.symbol) for i in instruments}
        fills = {i.symbol: sim.all_fills(i.symbol) for i in instruments}
        balances = asyncio.run(sim.fetch_balances())
    finally:
        sim.close_sync()
    by_symbol = {i.symbol: i for i in instruments}
    totals: dict[str, Decimal] = defaultdict(Decimal)
    out: Counter[str] = Counter()
    for spec in specs:
        inst = by_symbol[spec.symbol]
        ours = [o for o in orders[spec.symbol] if _strategy(o.client_order_id) == spec.strategy]
        venue_fills = {
            f.trade_id for f in fills[spec.symbol] if _strategy(f.client_order_id) == spec.strategy
        }
        store = PgStore(parse_store_url(f"{url}?grid={spec.name}"), read_only=True)
        try:
            book = store.load_book(spec.symbol)
            with connect(url) as db:
                recorded = [
                    str(r[0])
                    for r in db.execute(
                        "SELECT trade_id FROM gridmaker.fills WHERE store_id = %s AND symbol = %s",
                        (spec.name, spec.symbol),
                    )
                ]
                intents = {
                    str(r[0])
                    for r in db.execute(
                        "SELECT client_order_id FROM gridmaker.intents "
                        "WHERE store_id = %s AND symbol = %s",
                        (spec.name, spec.symbol),
                    )
                }
        finally:
            store.close()
        if book is None:
            out["grids_never_booted"] += 1
            continue
        placed_twice = sum(n - 1 for n in Counter(o.client_order_id for o in ours).values())
        open_ours = [o for o in ours if o.status.value == "open"]
        open_twice = sum(n - 1 for n in Counter((o.side, o.price) for o in open_ours).values())
        out["cids_placed_twice"] += placed_twice
        out["duplicate_orders"] += placed_twice + open_twice
        out["orders_without_intent"] += len({o.client_order_id for o in ours} - intents)
        out["lost_fills"] += len(venue_fills - set(recorded))
        out["double_applied_fills"] += (
            max(0, book.fills - len(venue_fills))
            + (len(recorded) - len(set(recorded)))
            + len(set(recorded) - venue_fills)
        )
        live = {s.order_cid for s in book.slots.values() if s.has_live_order}
        live |= {book.liquidation_cid} - {""}
        out["book_venue_order_mismatches"] += len(live ^ {o.client_order_id for o in open_ours})
        out["fills"] += len(venue_fills)
        out["orders"] += len(ours)
        totals[inst.base] += inst.from_steps(book.base_steps)
        totals[inst.quote] += inst.from_atoms(book.quote_atoms)
    mismatched = sorted(a for a, v in totals.items() if v != balances[a].total)
    return {
        **{k: out[k] for k in ZEROS_VENUE},
        "balance_mismatches": len(mismatched),
        "mismatched_assets": {a: [str(totals[a]), str(balances[a].total)] for a in mismatched},
        "grids_never_booted": out["grids_never_booted"],
        "venue_fills": out["fills"],
        "venue_orders": out["orders"],
    }


ZEROS_VENUE = (
    "duplicate_orders",
    "cids_placed_twice",
    "orders_without_intent",
    "lost_fills",
    "double_applied_fills",
    "book_venue_order_mismatches",
)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The nearest-rank percentile (``q`` in 0..100) of ``values``; ``None`` for none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


def judge_ownership(
    url: str,
    events: Sequence[ChaosEvent],
    chaos_end: datetime,
    executors: Mapping[str, str],
) -> dict[str, Any]:
    """Ownership history and failover times (before ``chaos_end``: the final sync's own
    takeovers are not failovers); ``executors`` maps each process's application name to its
    executor id."""
    from tests.kit.fleet import write_audit

    with connect(url) as db:
        history = db.execute(
            "SELECT grid, worker, epoch, event, at FROM gridmaker.fleet_history ORDER BY id"
        ).fetchall()
        writes = write_audit(db)
    regressions, stale_trading = 0, 0
    acquired: dict[str, list[tuple[datetime, str, int]]] = defaultdict(list)
    trading: dict[str, list[tuple[datetime, int]]] = defaultdict(list)
    for grid, worker, epoch, event, at in history:
        taken = acquired[grid]
        if event == "acquired":
            regressions += int(bool(taken) and epoch <= taken[-1][2])
            taken.append((at, worker, epoch))
        elif event == "trading":
            stale_trading += int(not taken or epoch != taken[-1][2] or worker != taken[-1][1])
            if at <= chaos_end:
                trading[grid].append((at, epoch))
    stale, unattributed = _stale_writes(writes, acquired, executors)
    times: list[float] = []
    missing, interrupted = 0, 0
    samples: list[tuple[object, ...]] = []
    for number, chaos in enumerate(events, 1):
        for grid, epoch in sorted(chaos.held.items()):
            after = [(t, e) for t, e in trading[grid] if e > epoch and t >= chaos.at]
            if not after:
                missing += 1
                samples.append((number, chaos.kind, chaos.worker, grid, epoch, "never"))
                continue
            at, new_epoch = min(after)
            seconds = (at - chaos.at).total_seconds()
            sample = (number, chaos.kind, chaos.worker, grid, epoch, new_epoch, round(seconds, 2))
            # A taker hit in turn before it traded (holding the grid's lease, or running its
            # workflow on the way to taking it): that failover is the later event's.
            if any(c.at < at and (grid in c.held or grid in c.claimed) for c in events[number:]):
                interrupted += 1
                samples.append((*sample, "interrupted"))
                continue
            times.append(seconds)
            samples.append(sample)
    return {
        "epoch_regressions": regressions,
        "stale_trading": stale_trading,
        "stale_writes": stale,
        "unattributed_writes": unattributed,
        "audited_writes": len(writes),
        "failovers": len(times),
        "failovers_missing": missing,
        "failovers_interrupted": interrupted,
        "failover_p50_s": _round(percentile(times, 50)),
        "failover_p99_s": _round(percentile(times, 99)),
        "failover_max_s": _round(max(times, default=None)),
        "samples": samples,
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _stale_writes(
    writes: Sequence[Write],
    acquired: Mapping[str, list[tuple[datetime, str, int]]],
    executors: Mapping[str, str],
) -> tuple[int, int]:
    """(rows written by a process that did not hold the grid then, rows of no known worker)."""
    stale, unattributed = 0, 0
    for write in writes:
        executor = executors.get(write.app)
        if executor is None:
            unattributed += 1
            continue
        holders = [w for t, w, _ in acquired.get(write.grid, []) if t <= write.at]
        stale += int(not holders or holders[-1] != executor)
    return stale, unattributed
