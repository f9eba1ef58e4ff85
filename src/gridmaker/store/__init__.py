"""Persistence: the bot's books, applied fills and the intent journal, in SQLite (WAL)."""

from gridmaker.store.codec import checksum, decode_state, encode_state
from gridmaker.store.errors import StateCorrupt, StoreError
from gridmaker.store.lock import AlreadyRunning, DataDirLock
from gridmaker.store.sqlite_store import SCHEMA_VERSION, Store

__all__ = [
    "SCHEMA_VERSION",
    "AlreadyRunning",
    "DataDirLock",
    "StateCorrupt",
    "Store",
    "StoreError",
    "checksum",
    "decode_state",
    "encode_state",
]
