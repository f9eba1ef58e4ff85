"""The simulator over HTTP: Binance spot REST v3 and websockets around one ``SimExchange``.

- ``server``: ``BinanceSimServer`` (the aiohttp app, its guard and the ``/__sim/*`` control
  endpoints); ``listen``: ``listen_socket`` and ``serve``.
- ``binance_rest``: the ``/api/v3/*`` handlers, Binance's parameter rules and JSON shapes;
  ``binance_market`` (with ``binance_klines``): the public market data, from the sim's tape.
- ``chaos``: faults on the wire, drawn from a ``FaultPlan``.
- ``control``: who may call the control endpoints and how their bodies are read.
- ``streams``: the ticker and user-data websockets.
"""

from gridmaker.exchange.sim.http.control import ControlError
from gridmaker.exchange.sim.http.listen import listen_socket, serve
from gridmaker.exchange.sim.http.server import BinanceSimServer, venue_symbol

__all__ = ["BinanceSimServer", "ControlError", "listen_socket", "serve", "venue_symbol"]
