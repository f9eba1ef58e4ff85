"""The venue's own trade history for ``gridmaker ledger --rebuild``, read only.

The venue is the one the config names, opened as ``run`` opens it (``cli/venue.py``): the
built-in exchange's file in the data dir, ``sim-exchange`` over HTTP, or ccxt. Its fills are
read from the empty cursor (the symbol's whole history), page by page through the retry
policy, and converted as the bot converts them (``engine/translate.py``), so a rebuild sees
exactly what the running bot saw. The data dir must belong to that venue (its binding).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gridmaker.cli.common import (
    EXIT_BOOT,
    EXIT_CONFIG,
    EXIT_EXCHANGE,
    EXIT_STATE,
    CannotStart,
    exchange_file,
    fail,
    store_file,
)

if TYPE_CHECKING:
    from gridmaker.config import Config
    from gridmaker.core.events import Fill
    from gridmaker.core.state import GridState
    from gridmaker.core.units import Instrument
    from gridmaker.exchange.api import Exchange

__all__ = ["read_venue_fills"]

_PAGE = 500


async def read_venue_fills(
    config: Config, data_dir: Path, books: Mapping[str, GridState]
) -> dict[str, list[Fill]]:
    """Every fill the venue lists for each book's symbol, from its first."""
    from gridmaker.cli.venue import open_run_venue, venue_choice, venue_identity
    from gridmaker.config import ConfigError
    from gridmaker.exchange.api import ExchangeError
    from gridmaker.exchange.sim import SimFileError

    remote = venue_choice(config)
    try:
        venue, instruments = await open_run_venue(remote, config)
    except ConfigError as e:
        raise fail(EXIT_CONFIG, str(e)) from None
    except CannotStart as e:
        raise fail(EXIT_EXCHANGE, str(e)) from None
    market: Any = venue
    try:
        _check_binding(data_dir, venue_identity(remote, venue).as_dict())
        if market is None:
            market = _builtin(config, instruments, data_dir)
        return {s: await _history(market, s, book.instrument) for s, book in books.items()}
    except SimFileError as e:
        raise fail(EXIT_BOOT if e.read_only else EXIT_STATE, str(e)) from None
    except ExchangeError as e:
        where = (remote.base_url or remote.exchange_id) if remote else "the built-in exchange"
        raise fail(EXIT_EXCHANGE, f"cannot read the fills at {where}: {e}") from None
    finally:
        if market is not None:
            await market.close()


def _check_binding(data_dir: Path, identity: dict[str, str]) -> None:
    """Refuse (exit 4) a data dir made on another venue: its fills are not there."""
    from contextlib import closing

    from gridmaker.cli.store_choice import open_sqlite_read_only
    from gridmaker.engine.venue_binding import VenueIdentity

    with closing(open_sqlite_read_only(store_file(data_dir), "ledger")) as store:
        stored = store.venue()
    if stored is None:
        return
    bound, named = VenueIdentity.from_dict(stored), VenueIdentity.from_dict(identity)
    if not bound.same_venue(named):
        raise fail(
            EXIT_BOOT,
            f"{data_dir} belongs to {bound.describe()}; the config names {named.describe()}: "
            "its fills are at the venue the data dir was made on (give that venue in --config)",
        )


def _builtin(config: Config, instruments: list[Instrument], data_dir: Path) -> Exchange:
    """The built-in exchange kept in the data dir; refused when the data dir has none."""
    from gridmaker.cli.wiring import sim_exchange_for
    from gridmaker.exchange.sim import check_state_file

    path = exchange_file(data_dir)
    check_state_file(path)
    if not path.exists() or not path.stat().st_size:
        raise fail(
            EXIT_STATE,
            f"no built-in exchange in {data_dir} (looked for {path}): its fills are where the "
            "bot traded; give that venue in --config",
        )
    return sim_exchange_for(config, instruments, path=path, seed=config.feed.seed)


async def _history(venue: Exchange, symbol: str, instrument: Instrument) -> list[Fill]:
    """The symbol's fills from the empty cursor, oldest first (a malformed page is retried)."""
    from gridmaker.engine.retry import Retrier
    from gridmaker.engine.translate import to_fill
    from gridmaker.exchange.api import MalformedResponse

    async def page(cursor: str) -> tuple[list[Fill], str, bool]:
        got = await venue.fetch_fills(symbol, cursor, _PAGE)
        if got.has_more and got.cursor == cursor:
            raise MalformedResponse("a page of fills with more to come did not move the cursor")
        return [to_fill(f, instrument) for f in got.fills], got.cursor, got.has_more

    retrier = Retrier()
    fills: list[Fill] = []
    cursor = ""
    while True:
        new, cursor, more = await retrier.read(f"fills {symbol}", partial(page, cursor))
        fills.extend(new)
        if not more:
            return fills
