"""Persistence: the bot's books, applied fills and the intent journal, in SQLite (WAL)."""

from gridmaker.store.codec import checksum, decode_state, encode_state
from gridmaker.store.errors import DataDirUnusable, SchemaTooNew, StateCorrupt, StoreError
from gridmaker.store.files import check_data_dir, check_sqlite_file
from gridmaker.store.lock import AlreadyRunning, DataDirLock
from gridmaker.store.schema import SCHEMA_VERSION, verify_store
from gridmaker.store.sqlite_store import Store

__all__ = [
    "SCHEMA_VERSION",
    "AlreadyRunning",
    "DataDirLock",
    "DataDirUnusable",
    "SchemaTooNew",
    "StateCorrupt",
    "Store",
    "StoreError",
    "check_data_dir",
    "check_sqlite_file",
    "checksum",
    "decode_state",
    "encode_state",
    "verify_store",
]
