"""A real Prometheus scrapes a bot's ``Metrics`` (bearer token) and sees the audit's
consistency numbers follow an order cancelled behind the bot's back; every dashboard query
is valid PromQL to that server.

The exposition is served from the bot's own event loop by a minimal HTTP responder (the
bot's API server is the lead's; ``tests/e2e/test_metrics_prometheus.py`` goes through it).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from gridmaker.core.slots import OrderState
from gridmaker.ops.metrics import Metrics
from tests.kit.grafana import DASHBOARD, exprs
from tests.kit.metrics_bot import metrics_bot
from tests.kit.prometheus import NO_PROMETHEUS, PROMETHEUS, PrometheusServer
from tests.kit.world import SYMBOL

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(PROMETHEUS is None, reason=NO_PROMETHEUS),
]

TOKEN = "scrape-token-for-tests"


@asynccontextmanager
async def serve_metrics(metrics: Metrics, token: str) -> AsyncIterator[int]:
    """``GET /metrics`` with ``Authorization: Bearer <token>`` on 127.0.0.1; yields the port."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in head[1:])}
            if headers.get("authorization") != f"Bearer {token}":
                status, body, kind = "401 Unauthorized", b"no", "text/plain"
            else:
                body, kind = metrics.render()
                status = "200 OK"
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        server.close()
        await server.wait_closed()


def test_prometheus_scrape_sees_missing_order_then_zero_after_repair(tmp_path: Path) -> None:
    async def main() -> None:
        async with metrics_bot(tmp_path / "bot") as bot:
            orch = bot.world.orchestrator
            await bot.trade()
            await orch.audit_orders(SYMBOL)
            async with serve_metrics(bot.metrics, TOKEN) as port:
                server = PrometheusServer(tmp_path / "prom", f"127.0.0.1:{port}", TOKEN)
                await asyncio.to_thread(server.start)
                try:
                    missing = f'gridmaker_orders_missing{{symbol="{SYMBOL}"}}'
                    await asyncio.to_thread(server.wait_value, missing, lambda v: v == 0)

                    # Act: an order cancelled by hand at the venue; the audit finds it
                    state = orch.state(SYMBOL)
                    assert state is not None
                    cid = next(
                        s.order_cid for s in state.slots.values() if s.order is OrderState.OPEN
                    )
                    await bot.world.sim.cancel_order(SYMBOL, cid)
                    await orch.audit_orders(SYMBOL)

                    # Assert: Prometheus sees it, then sees it repaired by the next audit
                    await asyncio.to_thread(server.wait_value, missing, lambda v: v == 1)
                    await orch.audit_orders(SYMBOL)
                    await asyncio.to_thread(server.wait_value, missing, lambda v: v == 0)

                    # Every dashboard query parses and runs on a real Prometheus
                    dashboard = json.loads(DASHBOARD.read_text())
                    for expr in exprs(dashboard):
                        concrete = expr.replace("$__rate_interval", "1m").replace("$symbol", ".*")
                        await asyncio.to_thread(server.query, concrete)
                finally:
                    await asyncio.to_thread(server.stop)

    asyncio.run(main())
