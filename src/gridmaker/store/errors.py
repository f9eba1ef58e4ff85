"""Store errors: each names the file and says how to recover."""

from __future__ import annotations

__all__ = ["StateCorrupt", "StoreError"]


class StoreError(Exception):
    """Base of the store's errors."""


class StateCorrupt(StoreError):
    """A stored book fails its checksum or cannot be read: never loaded, never traded on."""
