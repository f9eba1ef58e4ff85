"""The dashboard in a real browser: Debian's Chromium (Playwright) on ``gridmaker run --api``
trading ``gridmaker sim-exchange``, every process on 127.0.0.1.

The market walks slowly on its own (one print every 500 ms); a test that needs a fill prints
its own trade through the simulator's control endpoint, stamped with a time of its own so that
the fill it caused is told apart from the walk's. What happened at the venue is read from the
simulator's records (``/__sim/dump``), never from the bot or the page.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.e2e.test_http_venue import sim_exchange
from tests.kit.browser import DashboardBot, artifacts_dir
from tests.kit.http_venue import control
from tests.kit.waiting import eventually

pytestmark = pytest.mark.e2e

TOKEN = "dashboard-e2e-token-0123456789"
SYMBOL = "BTC/USDT"
URL_SYMBOL = "BTC-USDT"
WAIT_MS = 30_000
"""``expect`` deadline: a slow, shared 2-core machine."""
LOOPBACK = {"127.0.0.1"}
OTHER = "ETH/USDT"
TWO_MARKETS = """
sim:
  balances: {BTC: "1", ETH: "1", USDT: "200000"}
  instruments: {BTC/USDT: {}, ETH/USDT: {}}
markets:
  - symbol: BTC/USDT
  - symbol: ETH/USDT
"""
"""Two markets on one simulated account (ETH trades on BTC's rules and price walk: all the
page needs is a second market)."""


@dataclass
class Session:
    page: Any
    bot: DashboardBot
    requested: list[str] = field(default_factory=list)
    script_errors: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def two_markets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("config") / "gridmaker.yaml"
    path.write_text(TWO_MARKETS)
    return path


@pytest.fixture(scope="module")
def venue(tmp_path_factory: pytest.TempPathFactory, two_markets: Path) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("venue")
    with sim_exchange(tmp, "--walk-ms", "500", "--config", str(two_markets)) as url:
        yield url


@pytest.fixture(scope="module")
def bot(
    venue: str, two_markets: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DashboardBot]:
    tmp = tmp_path_factory.mktemp("bot")
    running = DashboardBot(venue, tmp / "data", tmp, TOKEN, two_markets)
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def session(chromium: Any, bot: DashboardBot) -> Iterator[Session]:
    """A fresh tab at 1280x800 recording every request and websocket it opens (anything not
    aimed at loopback is also aborted, so a leak is reported instead of sent) and every
    uncaught script error (none allowed)."""
    if bot.process is None:
        bot.start()
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    watched = Session(page, bot)
    page.on("request", lambda r: watched.requested.append(r.url))
    page.on("websocket", lambda ws: watched.requested.append(ws.url))
    page.on("pageerror", lambda error: watched.script_errors.append(str(error)))

    def guard(route: Any) -> None:
        if urlsplit(route.request.url).hostname in LOOPBACK:
            route.continue_()
        else:
            route.abort()

    page.route("**/*", guard)
    try:
        yield watched
    finally:
        context.close()
    assert watched.script_errors == [], "the page's script failed"


def expect(locator: Any) -> Any:
    """Playwright's ``expect`` with ``WAIT_MS`` as every assertion's deadline (its own default,
    5 s, is short for this machine); calls that pass ``timeout=`` say so again."""
    from playwright.sync_api import expect as playwright_expect

    playwright_expect.set_options(timeout=WAIT_MS)
    return playwright_expect(locator)


def _connect(session: Session, token: str = TOKEN) -> None:
    page = session.page
    page.goto(session.bot.url + "/")
    page.fill("#token", token)
    page.press("#token", "Enter")


def _connected(session: Session) -> Any:
    _connect(session)
    page = session.page
    expect(page.locator("#conn")).to_have_text("live", timeout=WAIT_MS)
    expect(page.locator(f'#markets tr[data-symbol="{SYMBOL}"]')).to_be_visible(timeout=WAIT_MS)
    return page


def _api(bot: DashboardBot) -> httpx.Client:
    return httpx.Client(base_url=bot.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)


def _venue_orders(url: str) -> int:
    """Orders ever placed at the venue for ``SYMBOL`` (the other market trades meanwhile)."""
    return sum(1 for o in control(url, "/__sim/dump")["orders"] if o["symbol"] == SYMBOL)


def _print_fill(bot: DashboardBot) -> str:
    """Print a trade just under the best resting buy: that buy fills. Returns its trade id."""
    with _api(bot) as api:
        levels = api.get(f"/api/markets/{URL_SYMBOL}/ladder").json()["levels"]
    best_buy = max(Decimal(r["order_price"]) for r in levels if r["side"] == "buy")
    stamp = int(time.time() * 1000)
    trade = {"symbol": SYMBOL, "price": str(best_buy - 1), "amount": "1", "ts_event": stamp}
    assert control(bot.venue_url, "/__sim/trade", trade)["fills"] >= 1
    fills = control(bot.venue_url, "/__sim/dump")["fills"]
    ours = [f["trade_id"] for f in fills if f["ts_event"] == stamp and f["symbol"] == SYMBOL]
    assert len(ours) == 1, ours
    return str(ours[0])


def _screenshot(page: Any, name: str) -> Path:
    path = artifacts_dir() / f"dashboard-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def _hosts(urls: list[str]) -> set[str | None]:
    return {urlsplit(u).hostname for u in urls}


def test_dashboard_page_lists_the_markets_and_asks_only_the_bot(session: Session) -> None:
    page = _connected(session)
    for symbol in (SYMBOL, OTHER):
        row = page.locator(f'#markets tr[data-symbol="{symbol}"]')
        expect(row).to_contain_text("trading", timeout=WAIT_MS)
        orders = re.compile(r"[1-9]\d* \(\d+ buy / \d+ sell\)")  # its open orders
        expect(row.locator("td").nth(4)).to_have_text(orders, timeout=WAIT_MS)
    expect(page.locator("#market-h")).to_have_text(SYMBOL)
    page.get_by_role("button", name=f"show {OTHER}").click()  # the overview leads in
    expect(page.locator("#market-h")).to_have_text(OTHER, timeout=WAIT_MS)
    expect(page.locator("#ladder")).to_contain_text("gmethusdt", timeout=WAIT_MS)
    page.get_by_role("button", name=f"show {SYMBOL}").click()
    expect(page.locator("#market-h")).to_have_text(SYMBOL, timeout=WAIT_MS)
    expect(page.locator("#ladder tbody tr").first).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("#consistency")).to_contain_text("Orders the book expects")
    expect(page.locator("#watchdog")).to_contain_text("Verdict")
    expect(page.locator("#bootsync")).to_contain_text("matched")
    _screenshot(page, "1280x800")
    page.set_viewport_size({"width": 390, "height": 844})
    fits = "document.documentElement.scrollWidth <= window.innerWidth"
    assert page.evaluate(fits), "the page scrolls sideways at a phone's width"
    _screenshot(page, "phone")
    assert _hosts(session.requested) <= LOOPBACK, session.requested
    assert any(u.endswith("/api/events/stream") for u in session.requested)


def test_dashboard_wrong_token_is_refused_with_a_visible_message(session: Session) -> None:
    _connect(session, token="not-the-token-0123456789")
    page = session.page
    expect(page.locator("#refused")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("#refused")).to_contain_text("Token refused")
    expect(page.locator("#conn")).to_have_text("token refused")
    expect(page.locator("#login")).to_be_visible()
    expect(page.locator("#overview")).to_be_hidden()
    assert page.evaluate("sessionStorage.getItem('gridmaker.token')") is None
    _screenshot(page, "refused")


def test_dashboard_printed_trade_fill_shows_on_chart_and_in_fills(session: Session) -> None:
    page = _connected(session)
    trade_id = _print_fill(session.bot)
    expect(page.locator(f'#fills tr[data-trade-id="{trade_id}"]')).to_be_visible(timeout=WAIT_MS)
    marker = re.compile(rf"(^| ){re.escape(trade_id)}( |$)")
    expect(page.locator("#price-chart")).to_have_attribute("data-fill-ids", marker, timeout=WAIT_MS)
    expect(page.locator("#events")).to_contain_text(f"(trade {trade_id})", timeout=WAIT_MS)
    _screenshot(page, "fill")


def _later_price(api: httpx.Client) -> None:
    """Wait until the bot took a price after now (the walk prints every 500 ms): the loop
    handles one event at a time, so whatever it did on the events before is done."""
    now_ms = int(time.time() * 1000)

    def later() -> bool:
        stamp = api.get(f"/api/markets/{URL_SYMBOL}").json()["last_price_at"]["ms"]
        return bool(stamp) and stamp > now_ms

    eventually(later, timeout_s=30, what="a price taken after the fill")


def _command(page: Any, name: str, applied: str) -> None:
    """Ask for ``name`` with the keyboard alone: focus, Enter, Tab past Cancel and the reason
    to Send, Enter; then wait for the page to say the bot applied it."""
    page.get_by_role("button", name=name, exact=True).focus()
    page.keyboard.press("Enter")
    dialog = page.locator("#confirm")
    expect(dialog).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("#confirm-no")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.locator("#confirm-yes")).to_be_focused()
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    expect(page.locator("#outcome")).to_contain_text(f"{applied}: applied at", timeout=WAIT_MS)


def test_dashboard_pause_places_nothing_and_resume_places_again(session: Session) -> None:
    page = _connected(session)
    with _api(session.bot) as api:
        asked = len(api.get("/api/commands").json()["commands"])
        # Escape closes the confirmation and sends nothing.
        page.get_by_role("button", name="Pause", exact=True).click()
        expect(page.locator("#confirm")).to_be_visible(timeout=WAIT_MS)
        page.keyboard.press("Escape")
        expect(page.locator("#confirm")).to_be_hidden()
        expect(page.get_by_role("button", name="Pause", exact=True)).to_be_focused()
        assert len(api.get("/api/commands").json()["commands"]) == asked

        _command(page, "Pause", f"pause {SYMBOL}")
        expect(page.locator("#facts")).to_contain_text("paused", timeout=WAIT_MS)
        placed = _venue_orders(session.bot.venue_url)
        trade_id = _print_fill(session.bot)
        expect(page.locator(f'#fills tr[data-trade-id="{trade_id}"]')).to_be_visible(
            timeout=WAIT_MS
        )
        _later_price(api)  # the loop is past the fill: a counter-order would be out by now
        assert _venue_orders(session.bot.venue_url) == placed  # paused: no counter-order
        assert api.get(f"/api/markets/{URL_SYMBOL}").json()["control"] == "paused"

        _command(page, "Resume", f"resume {SYMBOL}")
        expect(page.locator("#facts")).to_contain_text("trading", timeout=WAIT_MS)
        eventually(
            lambda: _venue_orders(session.bot.venue_url) > placed,
            timeout_s=60,
            what="an order placed after resume",
        )


def test_dashboard_stop_leaving_orders_stops_the_bot_and_says_down(session: Session) -> None:
    page = _connected(session)
    process = session.bot.process
    assert process is not None
    open_before = _at_venue(session.bot.venue_url, "open")
    _command(page, "Stop, leave orders", "stop leave (every market)")
    assert process.wait(timeout=60) == 0
    expect(page.locator("#down")).to_be_visible(timeout=WAIT_MS)
    # Left working: none of them canceled (the walk may still fill one meanwhile).
    assert _at_venue(session.bot.venue_url, "canceled") & open_before == set()
    assert _at_venue(session.bot.venue_url, "open")
    session.bot.process = None  # the next test's session starts it again


def _at_venue(url: str, status: str) -> set[str]:
    orders = control(url, "/__sim/dump")["orders"]
    return {o["client_order_id"] for o in orders if o["status"] == status}


def test_dashboard_bot_down_then_back_without_a_reload(session: Session) -> None:
    page = _connected(session)
    page.evaluate("window.sameDocument = 42")
    session.bot.stop()
    down = page.locator("#down")
    expect(down).to_be_visible(timeout=WAIT_MS)
    expect(down).to_have_text(re.compile(r"Bot down since \d\d:\d\d:\d\d UTC"))
    expect(page.locator("#conn")).to_have_text(re.compile(r"bot down since \d\d:\d\d:\d\d"))
    expect(page.locator(f'#markets tr[data-symbol="{SYMBOL}"]')).to_be_visible()  # kept
    _screenshot(page, "down")

    session.bot.start()
    expect(page.locator("#conn")).to_have_text("live", timeout=WAIT_MS)
    expect(down).to_be_hidden()
    assert page.evaluate("window.sameDocument") == 42  # the same page, never reloaded
    assert _hosts(session.requested) <= LOOPBACK, session.requested
