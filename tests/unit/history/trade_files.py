"""One small seeded set of trades, written in every layout the history loader reads.

The reference is today's reader: the same trades as a ``timestamp,price,amount`` JSON file,
read by ``ReplayFeed`` and converted by ``series_from_trades``.
"""

from __future__ import annotations

import gzip
import io
import random
import zipfile
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.feather as feather  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from tests import kit

Row = tuple[int, str, str]
"""Epoch ms, price text, amount text."""

INSTRUMENT = kit.instrument()
"""BTC/USDT as Binance lists it (the kit's instrument)."""


def rows(n: int = 1500, seed: int = 17) -> list[Row]:
    """A choppy walk around 50,000.00 with equal and rising stamps, amounts off the step."""
    rng = random.Random(seed)
    ticks, ts, out = 5_000_000, 1_700_000_000_000, []
    for _ in range(n):
        ticks += rng.randint(-4000, 4000)
        ts += rng.choice((0, 0, 1, 7, 250))
        price = Decimal(ticks).scaleb(-2)
        text = rng.choice((f"{price:f}", f"{price.normalize():f}", f"{price:.8f}"))
        amount = f"{Decimal(rng.randint(1, 5_000_000)).scaleb(-8):f}"
        out.append((ts, text, amount))
    return out


def ours_csv(data: list[Row]) -> str:
    return "timestamp,price,amount\n" + "".join(f"{t},{p},{a}\n" for t, p, a in data)


def ours_json(data: list[Row]) -> str:
    items = ", ".join(f'{{"timestamp": {t}, "price": "{p}", "amount": "{a}"}}' for t, p, a in data)
    return f"[{items}]"


def _eight(text: str) -> str:
    return f"{Decimal(text):.8f}"


def binance_trades(data: list[Row], *, header: bool = False, micros: bool = False) -> str:
    head = "id,price,qty,quote_qty,time,is_buyer_maker,is_best_match\n" if header else ""
    lines = []
    for i, (t, p, a) in enumerate(data):
        stamp = t * 1000 + i % 1000 if micros else t
        quote = Decimal(p) * Decimal(a)
        lines.append(f"{i + 1},{_eight(p)},{_eight(a)},{quote:.8f},{stamp},{i % 2 == 0},True\n")
    return head + "".join(lines)


def binance_agg_trades(data: list[Row], *, header: bool = False) -> str:
    head = (
        "agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker\n"
        if header
        else ""
    )
    best = "" if header else ",True"
    lines = [
        f"{i + 7},{_eight(p)},{_eight(a)},{2 * i},{2 * i + 1},{t},{i % 3 == 0}{best}\n"
        for i, (t, p, a) in enumerate(data)
    ]
    return head + "".join(lines)


def freqtrade_table(data: list[Row]) -> pa.Table:
    """freqtrade's trades frame: prices and amounts as floats (the file's own representation)."""
    return pa.table(
        {
            "timestamp": pa.array([t for t, _, _ in data], pa.int64()),
            "id": pa.array([str(i) for i in range(len(data))]),
            "type": pa.array([None] * len(data), pa.string()),
            "side": pa.array(["buy" if i % 2 else "sell" for i in range(len(data))]),
            "price": pa.array([float(p) for _, p, _ in data], pa.float64()),
            "amount": pa.array([float(a) for _, _, a in data], pa.float64()),
            "cost": pa.array([float(p) * float(a) for _, p, a in data], pa.float64()),
        }
    )


def ours_table(data: list[Row]) -> pa.Table:
    """The parquet layout ``gridmaker download`` writes."""
    return pa.table(
        {
            "ts_ms": pa.array([t for t, _, _ in data], pa.int64()),
            "price": pa.array([p for _, p, _ in data], pa.string()),
            "amount": pa.array([a for _, _, a in data], pa.string()),
            "id": pa.array([str(i) for i in range(len(data))], pa.string()),
        }
    )


def _fixed(values: list[str], places: int, width: int) -> pa.Array:
    raws = [int(Decimal(v).scaleb(places)) for v in values]
    if width == 0:
        return pa.array(raws, pa.int64())
    blobs = [raw.to_bytes(width, "little", signed=True) for raw in raws]
    return pa.array(blobs, pa.binary(width))


def nautilus_table(data: list[Row], *, width: int = 8) -> pa.Table:
    """Nautilus trade ticks: fixed-point price and size (``width`` 0: the older int64)."""
    places = 16 if width == 16 else 9
    ns = [t * 1_000_000 + i % 1000 for i, (t, _, _) in enumerate(data)]
    schema = pa.schema(
        [
            ("price", pa.int64() if width == 0 else pa.binary(width)),
            ("size", pa.int64() if width == 0 else pa.binary(width)),
            ("aggressor_side", pa.uint8()),
            ("trade_id", pa.string()),
            ("ts_event", pa.uint64()),
            ("ts_init", pa.uint64()),
        ],
        metadata={"instrument_id": "BTCUSDT.BINANCE", "price_precision": "2"},
    )
    columns = [
        _fixed([p for _, p, _ in data], places, width),
        _fixed([a for _, _, a in data], places, width),
        pa.array([1 + i % 2 for i in range(len(data))], pa.uint8()),
        pa.array([str(i) for i in range(len(data))]),
        pa.array(ns, pa.uint64()),
        pa.array(ns, pa.uint64()),
    ]
    return pa.Table.from_arrays(columns, schema=schema)


def _zip(name: str, text: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, text)
    return out.getvalue()


def _parquet(table: pa.Table) -> bytes:
    out = io.BytesIO()
    pq.write_table(table, out, row_group_size=500)
    return out.getvalue()


def _feather(table: pa.Table) -> bytes:
    out = io.BytesIO()
    feather.write_feather(table, out, compression="lz4", chunksize=500)
    return out.getvalue()


WRITERS: dict[str, tuple[str, Callable[[list[Row]], str | bytes]]] = {
    "ours-csv": ("trades.csv", ours_csv),
    "ours-csv-gzip": ("trades.csv.gz", lambda d: gzip.compress(ours_csv(d).encode())),
    "ours-csv-zip": ("trades.zip", lambda d: _zip("trades.csv", ours_csv(d))),
    "binance-trades": ("BTCUSDT-trades-2023-11-14.csv", binance_trades),
    "binance-trades-header": (
        "BTCUSDT-trades-2023-11.csv",
        lambda d: binance_trades(d, header=True),
    ),
    "binance-trades-micros": (
        "BTCUSDT-trades-2025-01-02.csv",
        lambda d: binance_trades(d, micros=True),
    ),
    "binance-trades-zip": (
        "BTCUSDT-trades-2023-11-14.zip",
        lambda d: _zip("BTCUSDT-trades-2023-11-14.csv", binance_trades(d)),
    ),
    "binance-agg-trades": ("BTCUSDT-aggTrades-2023-11-14.csv", binance_agg_trades),
    "binance-agg-trades-header": (
        "BTCUSDT-aggTrades-2023-11.csv",
        lambda d: binance_agg_trades(d, header=True),
    ),
    "freqtrade-feather": ("BTC_USDT-trades.feather", lambda d: _feather(freqtrade_table(d))),
    "ours-parquet": ("trades.parquet", lambda d: _parquet(ours_table(d))),
    "nautilus-parquet-64": ("part-0.parquet", lambda d: _parquet(nautilus_table(d))),
    "nautilus-parquet-128": ("part-0.parquet", lambda d: _parquet(nautilus_table(d, width=16))),
    "nautilus-parquet-int64": ("part-0.parquet", lambda d: _parquet(nautilus_table(d, width=0))),
}


def write(tmp: Path, name: str, content: str | bytes) -> Path:
    path = tmp / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path
