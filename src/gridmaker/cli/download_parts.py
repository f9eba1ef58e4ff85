"""A download written as it goes, so that an interrupted one resumes where it stopped.

Beside ``--out FILE`` live ``FILE.parts/`` (numbered parquet parts) and ``FILE.partial.json``
(the sidecar: what is being downloaded, how many parts are complete and the cursor after the
last of them). A part is written to a temporary name, synced and renamed, and only then does
the sidecar count it (written the same way), so a process killed at any instant leaves a
sidecar that names only whole parts with the cursor right after them: a part it does not
count is deleted on resume and its rows fetched again. Nothing is ever counted twice.

``finish`` streams the parts into ``FILE`` (temporary name, then rename) and removes the
sidecar, then the parts; until the sidecar is gone a rerun resumes (and finishes) again.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

__all__ = ["CANDLE_SCHEMA", "TRADE_SCHEMA", "PartStore", "Resumed", "sidecar_of"]

TRADE_SCHEMA: Final = pa.schema(
    [("ts_ms", pa.int64()), ("price", pa.string()), ("amount", pa.string()), ("id", pa.string())]
)
"""Trades as the history loader reads them: exact plain decimals as text, the venue's id."""
CANDLE_SCHEMA: Final = pa.schema(
    [("ts_ms", pa.int64())]
    + [(name, pa.string()) for name in ("open", "high", "low", "close", "volume")]
)
_VERSION: Final = 1


def sidecar_of(out: Path) -> Path:
    return out.with_name(out.name + ".partial.json")


def _parts_of(out: Path) -> Path:
    return out.with_name(out.name + ".parts")


def _part_path(out: Path, n: int) -> Path:
    return _parts_of(out) / f"part-{n:06d}.parquet"


class Resumed:
    """What a sidecar says: the request it belongs to, parts and rows done, the cursor."""

    def __init__(self, request: Mapping[str, Any], parts: int, rows: int, cursor: Any) -> None:
        self.request = dict(request)
        self.parts = parts
        self.rows = rows
        self.cursor = cursor


def read_sidecar(out: Path) -> Resumed | None:
    """The sidecar of ``out`` if there is one; ``ValueError`` if it cannot be read."""
    path = sidecar_of(out)
    if not path.exists():
        return None
    try:
        raw = json.loads(path.read_text())
        if raw.get("version") != _VERSION:
            raise ValueError(f"version {raw.get('version')!r}, not {_VERSION}")
        request, cursor = raw["request"], raw["cursor"]
        parts, rows = raw["parts"], raw["rows"]
        texts = ("exchange", "symbol", "kind")
        if not all(isinstance(request[k], str) for k in texts) or not all(
            _is_count(v) for v in (request["since_ms"], request["until_ms"], parts, rows)
        ):
            raise ValueError("its request or counts are not what a download writes")
        wanted = ("next_ms",) if request["kind"] != "trades" else ("window_ms",)
        if not all(_is_count(cursor[k]) for k in wanted) or not (
            request["kind"] != "trades" or cursor["next_id"] is None or _is_count(cursor["next_id"])
        ):
            raise ValueError(f"its cursor {cursor!r} is not what a download writes")
        missing = [n for n in range(1, parts + 1) if not _part_path(out, n).is_file()]
        if missing:
            raise ValueError(f"it counts part {missing[0]}, which is not in {_parts_of(out)}")
        return Resumed(request, parts, rows, cursor)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise ValueError(f"cannot read {path}: {e}") from None


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _write_synced(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)


class PartStore:
    """The parts and sidecar of one download into ``out`` (``schema``'s columns)."""

    def __init__(
        self, out: Path, schema: pa.Schema, request: Mapping[str, Any], resumed: Resumed | None
    ) -> None:
        self.out = out
        self.schema = schema
        self.request = dict(request)
        self.parts = resumed.parts if resumed else 0
        self.rows = resumed.rows if resumed else 0
        self._dir = _parts_of(out)
        self._started = resumed is not None
        if self._dir.is_dir():
            self._drop_uncounted()

    def _part(self, n: int) -> Path:
        return _part_path(self.out, n)

    def _drop_uncounted(self) -> None:
        """Delete parts (and temporary files) the sidecar does not count: killed mid-write."""
        counted = {self._part(n).name for n in range(1, self.parts + 1)}
        for path in self._dir.iterdir():
            if path.name not in counted and path.name.startswith("part-"):
                path.unlink()

    def append(self, columns: Sequence[Sequence[Any]], cursor: Any) -> None:
        """Write one part holding ``columns`` (in the schema's order), then count it with the
        cursor after its last row."""
        from gridmaker import failpoints

        table = pa.Table.from_arrays(
            [
                pa.array(col, type=field.type)
                for col, field in zip(columns, self.schema, strict=True)
            ],
            schema=self.schema,
        )
        self._dir.mkdir(exist_ok=True)
        part = self._part(self.parts + 1)
        tmp = part.with_name(part.name + ".tmp")
        pq.write_table(table, tmp)
        with tmp.open("rb") as f:
            os.fsync(f.fileno())
        tmp.replace(part)
        failpoints.hit("download:part-written")
        self.parts += 1
        self.rows += table.num_rows
        self.save(cursor)

    def save(self, cursor: Any) -> None:
        """Record the parts so far and ``cursor`` (where the next request starts)."""
        body = {
            "version": _VERSION,
            "request": self.request,
            "parts": self.parts,
            "rows": self.rows,
            "cursor": cursor,
        }
        _write_synced(sidecar_of(self.out), json.dumps(body, indent=1).encode())
        self._started = True

    def finish(self) -> None:
        """Stream every part into ``out`` and remove the parts and the sidecar."""
        tmp = self.out.with_name(self.out.name + ".tmp")
        with pq.ParquetWriter(tmp, self.schema) as writer:
            if self.parts == 0:
                writer.write_table(self.schema.empty_table())
            for n in range(1, self.parts + 1):
                writer.write_table(pq.read_table(self._part(n), schema=self.schema))
        with tmp.open("rb") as f:
            os.fsync(f.fileno())
        tmp.replace(self.out)
        sidecar_of(self.out).unlink(missing_ok=True)  # done: a rerun now refuses, never redoes
        if self._dir.is_dir():
            for path in self._dir.iterdir():
                path.unlink()
            self._dir.rmdir()
