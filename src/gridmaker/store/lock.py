"""One bot per data dir: an exclusive lock held for the process's lifetime.

The kernel releases it when the process dies, however it dies, so a crash never leaves a stale
lock behind. Other commands (``breaker``) use it to tell whether a bot is running.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from gridmaker.store.errors import DataDirUnusable, StoreError

__all__ = ["AlreadyRunning", "DataDirLock"]


class AlreadyRunning(StoreError):
    """Another gridmaker process holds this data dir."""


class DataDirLock:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "gridmaker.lock"
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise ``AlreadyRunning`` at once (never waits).

        ``DataDirUnusable`` when the lock cannot be made (a file in the way, read-only).
        """
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise DataDirUnusable(
                f"cannot use {self.path.parent} as the data dir: {e.strerror} ({e.filename}); "
                "--data-dir must be a writable directory"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise AlreadyRunning(
                f"another gridmaker process is running on {self.path.parent}"
            ) from None
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def is_held_elsewhere(self) -> bool:
        """True while another process holds the lock."""
        try:
            self.acquire()
        except AlreadyRunning:
            return True
        self.release()
        return False
