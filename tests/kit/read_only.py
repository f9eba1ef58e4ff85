"""Making a file or directory unwritable for this process, root included.

``chmod`` does not stop root, under which tests may run; the immutable attribute does
(``chattr +i``: ext4, xfs, btrfs, given CAP_LINUX_IMMUTABLE). Where neither binds, the test
cannot build the situation it is about and is skipped with the reason.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

__all__ = ["make_read_only"]


def make_read_only(path: Path) -> Callable[[], None]:
    """Make ``path`` unwritable for this process and return the undo; skip when impossible."""
    if os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(mode & ~0o222)
        return lambda: path.chmod(mode)
    chattr = shutil.which("chattr")
    if chattr is None:
        pytest.skip("running as root, where chmod does not stop writes, and chattr is missing")
    done = subprocess.run([chattr, "+i", str(path)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(
            "running as root, where chmod does not stop writes, and `chattr +i` is refused "
            f"here: {done.stderr.strip()}"
        )

    def undo() -> None:
        subprocess.run([chattr, "-i", str(path)], capture_output=True, check=False)

    if os.access(path, os.W_OK):
        undo()
        pytest.skip("`chattr +i` did not make the path unwritable on this filesystem")
    return undo
