"""``gridmaker download``: a venue's trades (or candles) over a time span, into parquet.

Through ccxt, page by page (``download_pages``), written as it goes (``download_parts``): an
interrupted download run again with the same ``--out`` continues after the last trade it
kept, and the finished file holds every trade of the span exactly once. Trades are written as
the history loader reads them: ``ts_ms:int64, price:string, amount:string, id:string`` (exact
plain decimals, the venue's trade id); candles as ``ts_ms:int64, open, high, low, close,
volume`` (decimal strings). The span is ``[--since, --until)`` in UTC.

Every mistake in the arguments is refused (exit 2, naming the option) before anything is
written; a venue that cannot be reached, or refuses, is exit 5 and keeps what was written.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final
from urllib.parse import urlparse

import typer

from gridmaker.cli.common import EXIT_CONFIG, EXIT_EXCHANGE, EXIT_INTERRUPTED, err, fail

if TYPE_CHECKING:
    from gridmaker.cli.download_pages import Pages
    from gridmaker.cli.download_parts import PartStore, Resumed
    from gridmaker.exchange.ccxt import RateBudget, VenueQuirks

__all__ = ["download"]

_HOUR_MS: Final = 3_600_000
_PAGE: Final = 1000
"""Binance's largest page of ``aggTrades`` and ``klines``."""
_BINANCE_TRADES: Final = frozenset({"binance", "binanceus"})
"""Venues whose trades are paged by id (``aggTrades``); others download candles only."""


def _instant(option: str, text: str) -> int:
    """``YYYY-MM-DD`` or an ISO datetime (UTC unless it says otherwise), in ms."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise fail(
            EXIT_CONFIG,
            f"{option} must be a date YYYY-MM-DD or an ISO datetime such as "
            f"2024-01-31T12:00:00 (UTC); was {text!r}",
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _shown(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _is_loopback(base_url: str) -> bool:
    return (urlparse(base_url).hostname or "") in ("127.0.0.1", "localhost", "::1")


def download(
    exchange_id: Annotated[str, typer.Option("--exchange", help="ccxt exchange id, e.g. binance")],
    symbol: Annotated[str, typer.Option("--symbol", help="market, e.g. BTC/USDT")],
    since: Annotated[
        str, typer.Option("--since", help="start (inclusive): YYYY-MM-DD or ISO datetime, UTC")
    ],
    until: Annotated[
        str | None,
        typer.Option("--until", help="end (exclusive), same forms; default: now"),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="parquet file; run again with it to resume an interrupted one"),
    ] = None,
    candles: Annotated[
        str | None, typer.Option("--candles", help="candles of this timeframe (e.g. 1m, 1h)")
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option("--base-url", help="the venue's REST URL, e.g. a gridmaker sim-exchange"),
    ] = None,
    part_rows: Annotated[int, typer.Option("--part-rows", min=1, hidden=True)] = 100_000,
    page: Annotated[int, typer.Option("--page", min=1, max=_PAGE, hidden=True)] = _PAGE,
) -> None:
    """Download a market's trades (or, with --candles, its candles) into a parquet file.

    Resumable: run it again with the same arguments and --out after an interruption.
    """
    request, path, resumed = _checked(exchange_id, symbol, since, until, out, candles, base_url)
    try:
        rows = asyncio.run(_download(request, path, resumed, base_url, part_rows, page))
    except _BadArgument as e:
        raise fail(EXIT_CONFIG, str(e)) from None
    except _Unreachable as e:
        raise fail(EXIT_EXCHANGE, str(e)) from None
    except KeyboardInterrupt:
        raise fail(
            EXIT_INTERRUPTED,
            f"interrupted: what was written is kept beside --out {path}; run the same command "
            "again to resume",
        ) from None
    noun = "trades" if candles is None else f"{candles} candles"
    typer.echo(
        f"{rows} {noun} of {symbol} on {exchange_id} from {_shown(request['since_ms'])} to "
        f"{_shown(request['until_ms'])} in {path}"
    )


def _checked(
    exchange_id: str,
    symbol: str,
    since: str,
    until: str | None,
    out: Path | None,
    candles: str | None,
    base_url: str | None,
) -> tuple[dict[str, Any], Path, Resumed | None]:
    """The download asked for, its file and what an interrupted run left; exit 2 for any
    mistake the arguments show without asking the venue."""
    import ccxt.async_support as accxt  # type: ignore[import-untyped]

    from gridmaker.cli.download_parts import read_sidecar

    if exchange_id not in accxt.exchanges:
        raise fail(
            EXIT_CONFIG,
            f"--exchange must be a ccxt exchange id such as binance; was {exchange_id!r}",
        )
    if candles is None and exchange_id not in _BINANCE_TRADES:
        raise fail(
            EXIT_CONFIG,
            f"--exchange {exchange_id}: trades download from {', '.join(sorted(_BINANCE_TRADES))}"
            " (paged by trade id); other venues give candles (--candles TF)",
        )
    since_ms = _instant("--since", since)
    now_ms = int(time.time() * 1000)
    if since_ms >= now_ms:
        raise fail(EXIT_CONFIG, f"--since must be in the past; was {since} (now {_shown(now_ms)})")
    if base_url is not None and urlparse(base_url).scheme not in ("http", "https"):
        raise fail(EXIT_CONFIG, f"--base-url must be an http(s) URL; was {base_url!r}")
    kind = "trades" if candles is None else f"candles-{candles}"
    path = out or Path(f"{exchange_id}-{symbol.replace('/', '')}-{kind}-{since[:10]}.parquet")
    if path.is_dir() or not path.parent.is_dir():
        raise fail(EXIT_CONFIG, f"--out must be a file in an existing folder; was {str(path)!r}")
    try:
        resumed = read_sidecar(path)
    except ValueError as e:
        raise fail(EXIT_CONFIG, f"--out {path}: {e}; remove it to start over") from None
    if resumed is None and path.exists():
        raise fail(
            EXIT_CONFIG,
            f"--out {path} already exists (a finished download): remove it or choose another",
        )
    request: dict[str, Any] = {
        "exchange": exchange_id,
        "symbol": symbol,
        "kind": kind,
        "since_ms": since_ms,
        "until_ms": now_ms if until is None else _instant("--until", until),
    }
    if resumed is not None:
        request = _resume_request(path, request, resumed, until_given=until is not None)
    if request["until_ms"] <= since_ms:
        raise fail(EXIT_CONFIG, f"--until must be after --since; was {until} <= {since}")
    return request, path, resumed


def _resume_request(
    path: Path, request: dict[str, Any], resumed: Resumed, *, until_given: bool
) -> dict[str, Any]:
    """The sidecar's request, if these arguments ask for the same download."""
    stored = resumed.request
    keys = ("exchange", "symbol", "kind", "since_ms") + (("until_ms",) if until_given else ())
    if any(stored.get(k) != request[k] for k in keys):
        raise fail(
            EXIT_CONFIG,
            f"--out {path} holds an interrupted download of {stored.get('kind')} of "
            f"{stored.get('symbol')} on {stored.get('exchange')} from "
            f"{_shown(stored['since_ms'])} to {_shown(stored['until_ms'])}:"
            " run it with the same arguments to resume, or choose another --out",
        )
    return stored


class _BadArgument(Exception):
    """An argument only the venue can judge (the symbol, the timeframe): exit 2."""


class _Unreachable(Exception):
    """The venue cannot be reached or refuses: exit 5."""


def _venue_keys(base_url: str | None) -> tuple[str, str]:
    """Public data needs no keys; the local simulator's public pair where it might."""
    from gridmaker.cli.venue import SIM_API_KEY, SIM_API_SECRET

    if base_url is not None and _is_loopback(base_url):
        return SIM_API_KEY, SIM_API_SECRET
    return "", ""


async def _download(
    request: dict[str, Any],
    path: Path,
    resumed: Resumed | None,
    base_url: str | None,
    part_rows: int,
    page: int,
) -> int:
    """Open the venue, check the market, page through the span; the rows written."""
    from gridmaker.cli.download_pages import VenueRefused

    key, secret = _venue_keys(base_url)
    pages = _metered_pages(request["exchange"], key, secret, base_url)
    client = pages.client
    where = base_url or request["exchange"]
    try:
        try:
            await pages.open(where)
        except VenueRefused as e:
            raise _Unreachable(f"cannot reach {request['exchange']} at {where}: {e}") from None
        if request["symbol"] not in client.markets:
            raise _BadArgument(
                f"--symbol must be a market listed on {request['exchange']}, such as "
                f"{next(iter(sorted(client.markets)), 'BTC/USDT')}; was {request['symbol']!r}"
            )
        timeframe = request["kind"].removeprefix("candles-")
        if request["kind"] != "trades" and timeframe not in (client.timeframes or {}):
            allowed = ", ".join(client.timeframes or {})
            raise _BadArgument(f"--candles must be one of {allowed}; was {timeframe!r}")
        store = _store(path, request, resumed)
        try:
            await _fill(pages, store, request, resumed, part_rows, page)
        except VenueRefused as e:
            raise _Unreachable(
                f"{where} stopped answering: {e}. {store.rows} rows are kept: run the same "
                f"command again to resume"
            ) from None
        store.finish()
        return store.rows
    finally:
        await client.close()


def _metered_pages(exchange_id: str, key: str, secret: str, base_url: str | None) -> Pages:
    """The venue's client, its responses shown to a weight budget of the venue's size (a 429
    or 418 raised as ``Throttled`` with the venue's ``Retry-After``)."""
    from gridmaker.cli.download_pages import Pages
    from gridmaker.exchange.ccxt import RateBudget, build_ccxt_client
    from gridmaker.exchange.ccxt.client import hook_responses
    from gridmaker.exchange.ccxt.quirks import quirks_of

    client = build_ccxt_client(
        exchange_id, api_key=key, api_secret=secret, base_url=base_url, streams=False
    )
    quirks = quirks_of(exchange_id)
    budget = RateBudget(limit=quirks.weight_limit, used_weight_header=quirks.used_weight_header)
    hook_responses(_Meter(client, quirks, budget))
    return Pages(client, budget, quirks.weights)


@dataclass(slots=True)
class _Meter:
    """What ``hook_responses`` reads at each response."""

    client: Any
    quirks: VenueQuirks
    budget: RateBudget


def _store(path: Path, request: dict[str, Any], resumed: Resumed | None) -> PartStore:
    from gridmaker.cli.download_parts import CANDLE_SCHEMA, TRADE_SCHEMA, PartStore

    schema = TRADE_SCHEMA if request["kind"] == "trades" else CANDLE_SCHEMA
    return PartStore(path, schema, request, resumed)


async def _fill(
    pages: Pages,
    store: PartStore,
    request: dict[str, Any],
    resumed: Resumed | None,
    part_rows: int,
    page: int,
) -> None:
    """Page through the span into ``store``, with a progress bar on stderr."""
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

    from gridmaker.cli.download_walk import walk_candles, walk_trades

    since_ms, until_ms = int(request["since_ms"]), int(request["until_ms"])
    noun = "trades" if request["kind"] == "trades" else "candles"
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("up to {task.fields[covered]}  {task.fields[rows]} " + noun),
    )
    with Progress(*columns, console=err, transient=False) as progress:
        task = progress.add_task(
            request["symbol"], total=until_ms - since_ms, covered=_shown(since_ms), rows=store.rows
        )

        def advanced(ts_ms: int) -> None:
            progress.update(
                task, completed=ts_ms - since_ms, covered=_shown(ts_ms), rows=store.rows
            )

        cursor = resumed.cursor if resumed is not None else None
        if request["kind"] == "trades":
            market_id = pages.client.market(request["symbol"])["id"]
            await walk_trades(
                pages, market_id, store, cursor, since_ms, until_ms, part_rows, page, advanced
            )
        else:
            timeframe = request["kind"].removeprefix("candles-")
            await walk_candles(
                pages, request["symbol"], timeframe, store, cursor, since_ms, until_ms,
                part_rows, page, advanced,
            )  # fmt: skip
        progress.update(task, completed=until_ms - since_ms, rows=store.rows)
