"""The ccxt client and what we change in it: endpoints, limiter and retries off, a response hook.

``build_ccxt_client`` makes the client (``ccxt.pro`` when streams are wanted and the venue has
them), exact (``number = str``), with ccxt's own limiter and retries off: the shared
``RateBudget`` paces requests and the engine's retry policy is the only one (ccxt's would
resend a ``POST order`` and hide an UNKNOWN outcome). ``hook_responses`` shows every response
to the budget and checks raw bodies before ccxt parses them (ccxt reads a ``200 {}`` on
``openOrders`` as "no orders" and an HTML 200 on a ticker as a ticker of ``None``s).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import urlparse

import ccxt.async_support as accxt  # type: ignore[import-untyped]

from gridmaker.exchange.ccxt.errors import JunkBody, Throttled
from gridmaker.exchange.ccxt.quirks import VenueQuirks, quirks_of
from gridmaker.exchange.ccxt.rate_budget import RateBudget, parse_retry_after

__all__ = ["Metered", "build_ccxt_client", "hook_responses"]


def build_ccxt_client(
    exchange_id: str,
    *,
    api_key: str,
    api_secret: str,
    sandbox: bool = False,
    base_url: str | None = None,
    streams: bool = True,
) -> Any:
    """A ccxt client for ``exchange_id`` (``ccxt.pro`` when ``streams`` and it has one).

    ``base_url`` points every REST endpoint (and the streams) at another host, e.g. the local
    simulator; ``sandbox`` selects the venue's testnet. ccxt's own limiter is off (the shared
    ``RateBudget`` paces requests) and it never retries. Raises ``ValueError`` for an unknown id.
    """
    import ccxt.pro as ccxtpro  # type: ignore[import-untyped]

    if exchange_id not in accxt.exchanges:
        raise ValueError(f"unknown ccxt exchange id {exchange_id!r}")
    module = ccxtpro if streams and hasattr(ccxtpro, exchange_id) else accxt
    quirks = quirks_of(exchange_id)
    # adjustForTimeDifference: load_markets measures the venue's clock, so signed requests
    # carry the venue's time (else a drifting host clock gets every request refused, -1021).
    options: dict[str, Any] = {"maxRetriesOnFailure": 0, "adjustForTimeDifference": True}
    if base_url is not None:
        options.update(quirks.local_options)
    client = getattr(module, exchange_id)(
        {"apiKey": api_key, "secret": api_secret, "enableRateLimit": False, "options": options}
    )
    client.number = str
    if sandbox:
        client.set_sandbox_mode(True)
    if base_url is not None:
        _localize(client, base_url.rstrip("/"))
    return client


def _localize(client: Any, base_url: str) -> None:
    """Rewrite every REST base URL (keeping its path) and the stream URLs to ``base_url``."""
    api = client.urls["api"]
    for name, url in list(api.items()):
        if isinstance(url, str):
            api[name] = base_url + urlparse(url).path
    ws = api.get("ws")
    if isinstance(ws, dict):
        ws_base = "ws" + base_url.removeprefix("http")
        if isinstance(ws.get("spot"), str):
            ws["spot"] = ws_base + "/ws"
        if isinstance(ws.get("ws-api"), dict):
            ws["ws-api"]["spot"] = ws_base + "/ws-api/v3"
    local_api = base_url + "/api/"
    vendor = client.get_exceptions_by_url

    def exceptions_by_url(url: str, exact_or_broad: str) -> Any:
        # ccxt picks the per-market error table by the production host; a local URL gets the
        # spot table, so error codes map as they would against the real venue.
        if url and url.startswith(local_api) and "spot" in client.exceptions:
            return client.exceptions["spot"].get(exact_or_broad, {})
        return vendor(url, exact_or_broad)

    if hasattr(client, "get_exceptions_by_url"):
        client.get_exceptions_by_url = exceptions_by_url


class Metered(Protocol):
    """The adapter as the hook reads it, at each response: the budget may be replaced."""

    client: Any
    quirks: VenueQuirks
    budget: RateBudget


def hook_responses(owner: Metered) -> None:
    """Put ``_ResponseHook`` in front of the client's own response handling; retries off."""
    client = owner.client
    client.handle_errors = _ResponseHook(owner, client.handle_errors)
    client.options["maxRetriesOnFailure"] = 0


class _ResponseHook:
    """ccxt's per-response hook: feed the budget, classify 429/418, check the raw shape."""

    def __init__(self, owner: Metered, vendor: Any) -> None:
        self.owner = owner
        self.vendor = vendor

    def __call__(
        self,
        code: int,
        reason: str,
        url: str,
        method: str,
        headers: Mapping[str, str],
        body: str,
        response: Any,
        request_headers: Any,
        request_body: Any,
    ) -> Any:
        self.owner.budget.observe(int(code or 0), headers or {})
        if code in (418, 429):
            raise Throttled(
                f"{self.owner.client.id} {code} {method} {url.split('?')[0]}: {str(body)[:200]}",
                status=int(code),
                retry_after_s=parse_retry_after(headers or {}),
            )
        result = self.vendor(
            code, reason, url, method, headers, body, response, request_headers, request_body
        )
        if code is not None and 200 <= int(code) < 300:
            self._check_shape(method, url, response, body)
        return result

    def _check_shape(self, method: str, url: str, response: Any, body: str) -> None:
        quirks = self.owner.quirks
        path = urlparse(url).path
        if not quirks.api_prefix or quirks.api_prefix not in path:
            return
        endpoint = path.split(quirks.api_prefix, 1)[1].strip("/")
        want: type | None = None
        if endpoint in quirks.list_endpoints and not (method == "DELETE" and endpoint == "order"):
            want = list
        elif endpoint in quirks.object_endpoints:
            want = dict
        if want is not None and not isinstance(response, want):
            raise JunkBody(
                f"{self.owner.client.id} {method} {endpoint}: 200 with a "
                f"{type(response).__name__} body where a JSON {want.__name__} is due: "
                f"{str(body)[:120]!r}"
            )
