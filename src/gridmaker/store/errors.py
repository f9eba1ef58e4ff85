"""Store errors: each names the file and says how to recover.

Two kinds reach the user with different exit codes: stored state that is refused
(``StateCorrupt``, ``SchemaTooNew``: exit 3) and a data dir the bot cannot use at all
(``DataDirUnusable``: exit 4). A read-only file is never reported as a corrupt one.
"""

from __future__ import annotations

__all__ = ["DataDirUnusable", "SchemaTooNew", "StateCorrupt", "StoreError"]


class StoreError(Exception):
    """Base of the store's errors."""


class StateCorrupt(StoreError):
    """A stored book fails its checksum or cannot be read: never loaded, never traded on."""


class SchemaTooNew(StateCorrupt):
    """The file was written by a newer gridmaker: intact, but refused like a corrupt one."""


class DataDirUnusable(StoreError):
    """The data dir is a file, lies under a file, or is not writable: nothing can be kept."""
