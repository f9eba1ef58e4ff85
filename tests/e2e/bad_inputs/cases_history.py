"""``backtest`` on history files (CSV, Binance, feather, parquet): each mistake named, exit 2."""

from __future__ import annotations

import gzip
import io
import zipfile

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.feather as feather  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from tests.e2e.bad_inputs.kit import BadInput

BINANCE = "1,50000.00000000,0.00100000,50.00000000,1700000000000,True,True\n"
OFF_TICK = "2,50000.00500000,0.00100000,50.00000000,1700000000001,False,True\n"


def _parquet(table: pa.Table) -> bytes:
    out = io.BytesIO()
    pq.write_table(table, out)
    return out.getvalue()


def _feather(table: pa.Table) -> bytes:
    out = io.BytesIO()
    feather.write_feather(table, out)
    return out.getvalue()


def _zip(**members: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return out.getvalue()


def _ours(prices: list[str], *, drop: str | None = None) -> pa.Table:
    table = pa.table(
        {
            "ts_ms": pa.array(range(1, len(prices) + 1), pa.int64()),
            "price": pa.array(prices, pa.string()),
            "amount": pa.array(["0.5"] * len(prices), pa.string()),
            "id": pa.array([str(i) for i in range(len(prices))], pa.string()),
        }
    )
    return table.drop_columns([drop]) if drop else table


def _nautilus(price_raw: int) -> pa.Table:
    blob = pa.array([price_raw.to_bytes(8, "little", signed=True)], pa.binary(8))
    size = pa.array([(10**9).to_bytes(8, "little", signed=True)], pa.binary(8))
    stamp = pa.array([1_700_000_000_000_000_000], pa.uint64())
    return pa.table(
        {
            "price": blob,
            "size": size,
            "aggressor_side": pa.array([1], pa.uint8()),
            "trade_id": pa.array(["1"]),
            "ts_event": stamp,
            "ts_init": stamp,
        }
    )


def _case(id_: str, culprit: str, files: dict[str, str | bytes], *extra: str) -> BadInput:
    name = next(iter(files))
    return BadInput(
        id=f"history-{id_}",
        argv=["backtest", "--feed", f"{{tmp}}/{name}", *extra],
        files=files,
        exit_code=2,
        culprit=culprit,
    )


CASES = [
    _case("format-unknown", "--format must be one of", {"t.csv": BINANCE}, "--format", "xml"),
    BadInput(
        id="history-snap-with-walk",
        argv=["backtest", "--snap", "--ticks", "10"],
        exit_code=2,
        culprit="--snap reads a history file and needs --feed FILE",
    ),
    BadInput(
        id="history-format-with-walk",
        argv=["backtest", "--format", "csv", "--ticks", "10"],
        exit_code=2,
        culprit="--format reads a history file",
    ),
    _case(
        "snap-on-json",
        "--snap reads CSV",
        {"t.json": '[{"timestamp": 1, "price": "50000", "amount": "1"}]'},
        "--snap",
    ),
    _case(
        "binance-off-tick",
        "t.csv row 2 (line 2): price 50000.00500000",
        {"t.csv": BINANCE + OFF_TICK},
    ),
    _case("headerless-three-columns", "no header and 3 columns", {"t.csv": "1,2,3\n"}),
    _case(
        "binance-time-out-of-range",
        "invalid timestamp, found '9999999999999999999'",
        {"t.csv": BINANCE.replace("1700000000000", "9" * 19)},
    ),
    _case(
        "zip-two-files",
        "a zip must hold exactly one csv file",
        {"t.zip": _zip(**{"a.csv": BINANCE, "b.csv": BINANCE})},
    ),
    _case("zip-corrupt", "not a readable zip file", {"t.zip": b"PK\x03\x04 not really a zip"}),
    _case(
        "gzip-truncated",
        "t.csv.gz: not a readable gzip file",
        {"t.csv.gz": gzip.compress((BINANCE * 2000).encode())[:300]},
    ),
    _case("parquet-corrupt", "not a readable parquet file", {"t.parquet": b"PAR1 not really"}),
    _case(
        "parquet-missing-price",
        "t.parquet: missing column 'price'",
        {"t.parquet": _parquet(_ours(["50000"], drop="price"))},
    ),
    _case(
        "parquet-bad-price-text",
        "row 2: invalid price, found 'fifty'",
        {"t.parquet": _parquet(_ours(["50000", "fifty"]))},
    ),
    _case(
        "feather-empty",
        "empty file",
        {"t.feather": _feather(_ours(["50000"]).slice(0, 0))},
    ),
    _case(
        "format-parquet-on-csv",
        "t.csv: not a readable parquet file",
        {"t.csv": BINANCE},
        "--format",
        "parquet",
    ),
    _case(
        "nautilus-off-tick",
        "row 1: price 50000.0001 is not a multiple of the tick",
        {"part-0.parquet": _parquet(_nautilus(50_000_000_100_000))},
    ),
]
