"""The zombie pinned: a worker stopped (SIGSTOP) past its lease loses its grid to another, and
once it runs again (SIGCONT) it records nothing and sends nothing for that grid.

The evidence is other processes' records, not the zombie's word: every row of the store's
tables is logged with the application name of the session that wrote it (a trigger; each
worker process has its own), and the simulator's order history says which orders reached it
and when (order ids only grow).
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.kit.fleet import (
    Tenure,
    connect,
    db_now,
    declare_grids,
    install_write_audit,
    layout,
    migrate,
    sim_config,
    trading,
    venue_dump,
    workers,
    write_audit,
)
from tests.kit.processes import sim_exchange
from tests.kit.waiting import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TTL_S = 3.0


def _ours(order: dict[str, object], strategy: str) -> bool:
    from gridmaker.core.ids import decode_cid

    decoded = decode_cid(str(order["client_order_id"]))
    return decoded is not None and decoded.strategy == strategy


def test_zombie_worker_after_sigcont_records_and_sends_nothing_for_its_moved_grid(
    tmp_path: Path, pg_url: str
) -> None:
    # Arrange: one grid on a market that walks by itself, two workers, every write audited
    (spec,) = layout(1, 1)
    config = tmp_path / "sim.yaml"
    config.write_text(sim_config([spec], seed=11))
    state = tmp_path / "exchange.sqlite"
    with sim_exchange(
        tmp_path / "sim", "--state", str(state), "--config", str(config), "--walk-ms", "50"
    ) as base_url:
        migrate(pg_url)
        with connect(pg_url) as db:
            install_write_audit(db)
            declare_grids(pg_url, [spec], base_url, tmp_path / "grids")
            with workers(pg_url, ["wa", "wb"], TTL_S, tmp_path / "workers") as fleet:
                first = eventually(
                    lambda: trading(db, spec.name), timeout_s=120, what="the grid to trade"
                )
                zombie = next(w for w in fleet.values() if w.ready == first.owner)
                heir = next(w for w in fleet.values() if w is not zombie)
                eventually(
                    lambda: any(w.app == zombie.app for w in write_audit(db, spec.name)),
                    what="the first owner's writes to be traced to it",
                )

                # Act: stop the owner past its lease; wake it once the other trades the grid
                zombie.signal(signal.SIGSTOP)

                def taken() -> Tenure | None:
                    now = trading(db, spec.name)
                    return now if now and now.epoch > first.epoch else None

                takeover = eventually(taken, timeout_s=TTL_S + 60, what="the takeover")
                orders_before = max(int(o["order_id"]) for o in venue_dump(base_url)["orders"])
                zombie.signal(signal.SIGCONT)
                woke = db_now(db)
                eventually(
                    lambda: f"grid {spec.name} lost" in zombie.log.read_text(),
                    timeout_s=60,
                    what="the zombie to find its lease lost",
                )
                eventually(  # the market moved on under the new owner while the zombie ran
                    lambda: any(
                        w.app == heir.app and w.at > woke and w.table == "fills"
                        for w in write_audit(db, spec.name)
                    ),
                    timeout_s=120,
                    what="the new owner to record a fill after the zombie woke",
                )
                still = trading(db, spec.name)
                dump = venue_dump(base_url)
                writes = write_audit(db, spec.name)

    # Assert: the heir is the one trading; the zombie wrote before the takeover, never after
    assert takeover.owner == heir.ready
    assert still is not None and still.epoch == takeover.epoch
    assert any(w.app == zombie.app and w.at < takeover.acquired_at for w in writes)
    late = [w for w in writes if w.app == zombie.app and w.at > takeover.acquired_at]
    assert late == []
    # ... and every order the venue took since the zombie woke is one the heir recorded first
    sent = [
        o for o in dump["orders"] if int(o["order_id"]) > orders_before and _ours(o, spec.strategy)
    ]
    heirs = {w.key for w in writes if w.app == heir.app and w.table == "intents"}
    assert {str(o["client_order_id"]) for o in sent} <= heirs
    placed = [str(o["client_order_id"]) for o in dump["orders"] if _ours(o, spec.strategy)]
    assert len(placed) == len(set(placed))
