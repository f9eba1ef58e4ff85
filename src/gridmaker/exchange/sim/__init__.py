"""The simulated spot venue: ``SimExchange`` in process, and the same venue over HTTP.

- ``matching``: ``SimExchange``, the deterministic maker-only matching engine; ``rules``: what
  it accepts, what a resting order holds, which orders a trade fills.
- ``persistence``: its SQLite file (one transaction per operation) and the file check.
- ``tape``: every print it matched, the public trade history the market-data endpoints serve.
- ``http``: the Binance-shaped REST and websocket server around a ``SimExchange``, with chaos.
- ``walk``: the server's market printing a feed by itself.
- ``client``: ``HttpSimVenue``, the ccxt venue at that server that also moves its market.

Only the in-process venue is named here: the server and the client pull in aiohttp and ccxt,
which a backtest never needs.
"""

from gridmaker.exchange.sim.matching import SimExchange, SimUpdate
from gridmaker.exchange.sim.persistence import SCHEMA_VERSION, SimFileError, check_state_file

__all__ = ["SCHEMA_VERSION", "SimExchange", "SimFileError", "SimUpdate", "check_state_file"]
