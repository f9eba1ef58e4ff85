"""The PostgreSQL store's rows of a decision: a fill, an intent, an order's news.

Each runs inside the caller's transaction (``PgStore.commit``), keyed by the namespace.
"""

from __future__ import annotations

from typing import Any

import psycopg

from gridmaker.core.events import Action, Fill, OrderUpdate, PlaceOrder
from gridmaker.store.pg_schema import PG_SCHEMA

__all__ = ["insert_fill", "update_intent", "upsert_intent"]

_S = PG_SCHEMA
_Db = psycopg.Connection[tuple[Any, ...]]


def insert_fill(db: _Db, namespace: str, fill: Fill, revision: int) -> None:
    """A fill applied; a second write of its trade id raises ``UniqueViolation``."""
    db.execute(
        f"INSERT INTO {_S}.fills (store_id, symbol, trade_id, client_order_id, side, "
        "price_ticks, qty_steps, fee_atoms, ts_event, revision) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (
            namespace,
            fill.symbol,
            fill.trade_id,
            fill.client_order_id,
            fill.side.value,
            fill.price_ticks,
            fill.qty_steps,
            fill.fee_atoms,
            fill.ts_event,
            revision,
        ),
    )


def update_intent(db: _Db, namespace: str, update: OrderUpdate, revision: int) -> None:
    """The venue's news of an order: its intent's status and reason."""
    db.execute(
        f"UPDATE {_S}.intents SET status = %s, reason = %s, revision = %s "
        "WHERE store_id = %s AND symbol = %s AND client_order_id = %s",
        (
            update.status.value,
            update.reason,
            revision,
            namespace,
            update.symbol,
            update.client_order_id,
        ),
    )


def upsert_intent(db: _Db, namespace: str, action: Action, revision: int) -> None:
    """An intent recorded before it is sent; the same id again is pending again."""
    place = action if isinstance(action, PlaceOrder) else None
    db.execute(
        f"INSERT INTO {_S}.intents VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 'pending', '', %s) "
        "ON CONFLICT (store_id, symbol, client_order_id, kind) DO UPDATE SET "
        "status = 'pending', reason = '', revision = excluded.revision",
        (
            namespace,
            action.symbol,
            action.client_order_id,
            "place" if place else "cancel",
            place.side.value if place else None,
            action.level,
            place.price_ticks if place else None,
            place.qty_steps if place else None,
            revision,
        ),
    )
