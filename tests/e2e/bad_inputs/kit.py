"""What one bad-input case is, and how the suite runs it.

A case is a command line run as a user runs it (``python -m gridmaker.cli ...`` in a temp dir),
with the files it needs written first and, optionally, a real data dir copied in and damaged.
The runner asserts the documented exit code, that the output names the culprit, that no
traceback escapes, and that no file under the temp dir was created, changed or removed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["TEMPLATES", "BadInput", "Outcome", "fingerprint", "run_case", "substitute"]

TEMPLATES = {
    "sim_run": ("run", "--steps", "300", "--seed", "7"),
    "durable_run": ("run", "--steps", "300", "--seed", "7", "--engine", "durable"),
}
"""Data dirs a case can start from: the command that made them (in a fresh dir)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BadInput:
    """One mistake: the command, what it finds on disk, and the answer it must get."""

    id: str
    argv: list[str]
    exit_code: int
    culprit: str
    """A case-insensitive piece of the output that names the field, file or value at fault."""
    files: Mapping[str, str | bytes] = field(default_factory=dict)
    template: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    prepare: Callable[[Path], None] | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    returncode: int
    output: str
    before: dict[str, str]
    after: dict[str, str]


def substitute(arg: str, tmp: Path) -> str:
    return arg.replace("{data}", str(tmp / "data")).replace("{tmp}", str(tmp))


def fingerprint(root: Path) -> dict[str, str]:
    """Every file under ``root`` and a hash of its bytes; SQLite's shared-memory index aside.

    ``-shm`` files are SQLite's scratch index, rebuilt by any reader; an empty ``-wal`` holds
    nothing. Everything else (a database, its non-empty log, a lock, a stray folder) counts.
    """
    prints: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_dir():
            prints[rel + "/"] = "dir"
            continue
        if not path.is_file() or path.name.endswith("-shm"):
            continue
        if path.name.endswith("-wal") and path.stat().st_size == 0:
            continue
        prints[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return prints


def run_case(case: BadInput, tmp: Path, templates: Mapping[str, Path]) -> Outcome:
    """Lay out the case in ``tmp``, run it, and report what it answered and what it touched."""
    for name, content in case.files.items():
        target = tmp / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
    if case.template is not None:
        shutil.copytree(templates[case.template], tmp / "data")
    if case.prepare is not None:
        case.prepare(tmp)
    before = fingerprint(tmp)
    env = {**os.environ, "COLUMNS": "200", **case.env}
    result = subprocess.run(
        [sys.executable, "-m", "gridmaker.cli", *(substitute(a, tmp) for a in case.argv)],
        cwd=tmp,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=120,
        check=False,
        env=env,
    )
    return Outcome(result.returncode, result.stdout + result.stderr, before, fingerprint(tmp))
