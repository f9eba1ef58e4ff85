/* gridmaker dashboard: reads the bot's control API with the operator's token, follows its
   event stream (fetch() streaming, because EventSource cannot send the Authorization header),
   keeps the last state when the bot goes away and reconnects by itself.
   Money and sizes are shown exactly as the API's decimal strings; Number() is used only to
   place a point on a chart. */
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const TOKEN_KEY = "gridmaker.token";
  const NOISE = new Set(["decided", "quiet"]);
  const BAD = new Set(["halted", "breaker_changed", "dropped"]);
  const POLL_MS = 5000;
  const WINDOW_BEFORE_MS = 3600 * 1000;
  const FILLS_PAGE = 200;
  const PRICE_EVERY_MS = 1000;
  const BACKOFF_MIN_MS = 500;
  const BACKOFF_MAX_MS = 4000;
  const COMMAND_TEXT = {
    pause: "Pause {m}: keep its orders, place no new ones",
    resume: "Resume trading {m}",
    take_profit_only: "Take-profit only on {m}: only sells that close held levels",
    trip: "Trip the breaker of {m}",
    reset: "Reset the breaker of {m}",
    stop_cancel: "Stop the bot (every market) and CANCEL its orders at the venue",
    stop_leave: "Stop the bot (every market) and LEAVE its orders working at the venue",
  };

  class Refused extends Error {}
  class Down extends Error {}

  const S = {
    token: sessionStorage.getItem(TOKEN_KEY) || "",
    status: null,
    health: null,
    selected: null,
    ladders: {},
    fills: {},
    events: [],
    prices: {},
    pnl: {},
    openedMs: Date.now(),
    downSince: null,
    refused: false,
    abort: null,
    backoff: BACKOFF_MIN_MS,
    retryTimer: null,
    lastPriceRefresh: 0,
    refreshTimer: null,
    generation: 0,
  };

  /* ---------- talking to the bot ---------- */

  async function api(path, options = {}) {
    let response;
    try {
      response = await fetch(path, {
        ...options,
        headers: { Authorization: "Bearer " + S.token, ...(options.headers || {}) },
        cache: "no-store",
      });
    } catch (e) {
      if (e.name === "AbortError") throw e;
      throw new Down(String(e));
    }
    if (response.status === 401) throw new Refused("token refused");
    return response;
  }

  async function json(path, options) {
    const response = await api(path, options);
    if (response.status >= 500 && path !== "/health") throw new Down("HTTP " + response.status);
    const body = await response.json().catch(() => ({}));
    if (!response.ok && path !== "/health") {
      const detail = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail);
      throw new Error(`HTTP ${response.status}: ${detail}`);
    }
    return body;
  }

  const urlSymbol = (symbol) => symbol.replace("/", "-");

  async function loadStatus() {
    const [status, health] = await Promise.all([json("/api/status"), json("/health")]);
    S.status = status;
    S.health = health;
    const now = Date.now();
    for (const [symbol, m] of Object.entries(status.markets)) sample(symbol, m, now);
    if (!S.selected || !status.markets[S.selected]) S.selected = pickFromHash() || Object.keys(status.markets)[0] || null;
  }

  async function loadMarket(symbol) {
    const u = urlSymbol(symbol);
    const [ladder, fills] = await Promise.all([
      json(`/api/markets/${u}/ladder`),
      json(`/api/markets/${u}/fills?limit=${FILLS_PAGE}`),
    ]);
    S.ladders[symbol] = ladder.levels;
    /* The API's page is newest first (by the store's sequence); a fill the stream brought
       that the page does not hold yet stays on top; a live fill keeps its plotting time. */
    const before = new Map((S.fills[symbol] || []).map((f) => [f.trade_id, f]));
    const paged = fills.fills.map((f) => {
      const seen = before.get(f.trade_id);
      return { ...f, plotMs: seen ? seen.plotMs : f.ms };
    });
    const inPage = new Set(paged.map((f) => f.trade_id));
    const newer = (S.fills[symbol] || []).filter((f) => !f.seq && !inPage.has(f.trade_id));
    S.fills[symbol] = newer.concat(paged);
  }

  async function loadEvents() {
    const body = await json("/api/events?limit=500");
    S.events = body.events.filter((e) => !NOISE.has(e.type)).slice(-200);
  }

  async function loadAll() {
    await loadStatus();
    const work = [loadEvents()];
    if (S.selected) work.push(loadMarket(S.selected));
    await Promise.all(work);
  }

  /* ---------- connection: stream, down, reconnect, refused ---------- */

  function start() {
    if (!S.token) { showLogin(); return; }
    $("login").hidden = true;
    $("forget").hidden = false;
    connect();
  }

  async function connect() {
    clearTimeout(S.retryTimer);
    if (S.abort) S.abort.abort();
    const generation = ++S.generation;
    const abort = new AbortController();
    S.abort = abort;
    setBadge("connecting", "connecting…");
    try {
      const response = await api("/api/events/stream", { signal: abort.signal });
      if (!response.ok) throw new Down("HTTP " + response.status);
      await loadAll();
      up();
      render();
      await readStream(response, generation);
      if (generation === S.generation) fail(new Down("the event stream ended"));
    } catch (e) {
      if (generation === S.generation) fail(e);
    }
  }

  async function readStream(response, generation) {
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done || generation !== S.generation) return;
      buffer += value;
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const frame = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        let data = "";
        for (const line of frame.split("\n")) if (line.startsWith("data:")) data += line.slice(5).trim();
        if (data) onNotice(JSON.parse(data));
      }
    }
  }

  function fail(error) {
    if (error && error.name === "AbortError") return;
    if (error instanceof Refused) { refused(); return; }
    if (!(error instanceof Down)) console.warn("gridmaker:", error);
    if (S.downSince === null) S.downSince = Date.now();
    const since = clock(S.downSince);
    $("down").textContent = `Bot down since ${since} UTC. Showing the last state it reported; reconnecting by itself…`;
    $("down").hidden = false;
    setBadge("down", `bot down since ${since}`);
    S.retryTimer = setTimeout(connect, S.backoff);
    S.backoff = Math.min(S.backoff * 2, BACKOFF_MAX_MS);
  }

  function up() {
    S.downSince = null;
    S.backoff = BACKOFF_MIN_MS;
    S.refused = false;
    $("down").hidden = true;
    $("refused").hidden = true;
    setBadge("live", "live");
  }

  function refused() {
    S.refused = true;
    S.generation++;
    if (S.abort) S.abort.abort();
    clearTimeout(S.retryTimer);
    sessionStorage.removeItem(TOKEN_KEY);
    S.token = "";
    $("refused").hidden = false;
    setBadge("refused", "token refused");
    showLogin();
  }

  function showLogin() {
    $("login").hidden = false;
    $("forget").hidden = true;
    $("token").value = "";
    $("token").focus();
  }

  function setBadge(kind, text) {
    const badge = $("conn");
    badge.className = "badge " + kind;
    badge.textContent = text;
  }

  async function poll() {
    if (!S.token || S.refused || S.downSince !== null || !S.status) return;
    try {
      await loadStatus();
      if (S.selected) await loadMarket(S.selected);
      render();
    } catch (e) {
      if (e instanceof Refused) refused();
      /* a bot that went away is noticed by the stream, which reconnects */
    }
  }

  /* ---------- live notices ---------- */

  function onNotice(n) {
    if (n.type === "dropped") { scheduleRefresh(true); return; }
    if (n.type === "fill_applied") {
      const list = S.fills[n.symbol] || (S.fills[n.symbol] = []);
      if (!list.some((f) => f.trade_id === n.trade_id)) {
        list.unshift({ trade_id: n.trade_id, client_order_id: n.client_order_id, side: n.side,
          price: n.price, qty: n.qty, fee: n.fee, at: n.at, ms: n.at_ms, plotMs: n.at_ms });
      }
    }
    if (n.type === "command_applied") commandApplied(n.command_id, n.at_ms);
    if (n.type === "decided") {
      if (n.event === "PriceTick" && Date.now() - S.lastPriceRefresh > PRICE_EVERY_MS) {
        S.lastPriceRefresh = Date.now();
        scheduleRefresh(false);
      }
      return;
    }
    if (NOISE.has(n.type)) return;
    S.events.push(n);
    if (S.events.length > 200) S.events.shift();
    scheduleRefresh(true);
    renderEvents();
    if (n.type === "fill_applied" && n.symbol === S.selected) renderFills();
  }

  function scheduleRefresh(withMarket) {
    if (S.refreshTimer) return;
    S.refreshTimer = setTimeout(async () => {
      S.refreshTimer = null;
      try {
        await loadStatus();
        if (withMarket && S.selected) await loadMarket(S.selected);
        render();
      } catch (e) {
        if (e instanceof Refused) refused();
      }
    }, 150);
  }

  /* ---------- history kept by the page ---------- */

  function sample(symbol, m, now) {
    const prices = S.prices[symbol] || (S.prices[symbol] = []);
    const at = (m.last_price_at && m.last_price_at.ms) || now;
    if (m.last_price && Number(m.last_price) > 0 && (!prices.length || prices[prices.length - 1][0] < at)) {
      prices.push([at, Number(m.last_price)]);
      if (prices.length > 5000) prices.shift();
    }
    if (m.realized_pnl === undefined) return; /* no book yet (booting) */
    const pnl = S.pnl[symbol] || (S.pnl[symbol] = []);
    const realized = Number(m.realized_pnl);
    const equity = realized + Number(m.unrealized_pnl || 0);
    const last = pnl[pnl.length - 1];
    if (!last || last.realized !== realized || last.equity !== equity || now - last.t > 5000) {
      pnl.push({ t: now, realized, equity, inventory: Number(m.inventory) });
      if (pnl.length > 5000) pnl.shift();
    }
  }

  /* ---------- rendering ---------- */

  const clock = (ms) => new Date(ms).toISOString().slice(11, 19);
  const when = (iso) => (iso ? iso.slice(0, 19).replace("T", " ") : "never");
  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else node.setAttribute(k, v);
    }
    for (const c of children) node.append(c);
    return node;
  }
  function facts(dl, pairs) {
    dl.replaceChildren();
    for (const [k, v, cls] of pairs) {
      dl.append(el("dt", { text: k }));
      const dd = el("dd", { text: v === undefined || v === null || v === "" ? "–" : String(v) });
      if (cls) dd.className = cls;
      dl.append(dd);
    }
  }
  /* A decimal string from the API with its unit, as it came: never through a float. */
  const amount = (value, unit) => (value === undefined || value === null || value === "" ? "–" : `${value} ${unit || ""}`.trim());
  function age(ms) {
    if (!ms) return "never";
    const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
    return s < 120 ? `${s} s ago` : s < 7200 ? `${Math.round(s / 60)} min ago` : `${Math.round(s / 3600)} h ago`;
  }

  function render() {
    if (!S.status) return;
    const st = S.status;
    $("bot").textContent = `${st.engine} engine on ${st.venue}, started ${when(st.started.at)} UTC`;
    $("overview").hidden = false;
    $("events-card").hidden = false;
    renderOverview();
    renderMarket();
    renderEvents();
  }

  function healthOf(symbol) {
    return (S.health && S.health.markets && S.health.markets[symbol]) || { status: "unknown", reasons: [] };
  }

  function stateText(m) {
    const parts = [m.control || "–"];
    if (m.breaker && m.breaker !== "active") parts.push("breaker " + m.breaker);
    if (m.halted) parts.push("halted: " + m.halted);
    return parts.join(", ");
  }

  function renderOverview() {
    const body = $("markets").tBodies[0];
    body.replaceChildren();
    for (const [symbol, m] of Object.entries(S.status.markets)) {
      const open = el("button", { type: "button", class: "link", text: symbol, "aria-label": `show ${symbol}` });
      open.addEventListener("click", () => select(symbol));
      const h = healthOf(symbol);
      const row = el("tr", { "data-symbol": symbol },
        el("td", {}, open),
        el("td", { text: stateText(m) }),
        el("td", { class: "num", text: amount(m.realized_pnl, m.quote) }),
        el("td", { class: "num", text: amount(m.unrealized_pnl, m.quote) }),
        el("td", { class: "num", text: `${m.open_orders ?? 0} (${m.open_buys ?? 0} buy / ${m.open_sells ?? 0} sell)` }),
        el("td", { class: "num", text: String(m.fills ?? 0) }),
        el("td", { class: "status-" + h.status, text: h.status }));
      if (symbol === S.selected) row.className = "selected";
      body.append(row);
    }
    const all = S.health ? S.health.status : "unknown";
    $("health-all").textContent = `Watchdog: the bot is ${all}.`;
  }

  function renderMarket() {
    const symbol = S.selected;
    const m = symbol && S.status.markets[symbol];
    $("market").hidden = !m;
    if (!m) return;
    $("market-h").textContent = symbol;
    const inQuote = (v) => amount(v, m.quote), inBase = (v) => amount(v, m.base);
    facts($("facts"), [
      ["State", stateText(m)],
      ["Last price", inQuote(m.last_price)],
      ["Realized PnL", inQuote(m.realized_pnl)],
      ["Unrealized PnL", inQuote(m.unrealized_pnl)],
      ["Fees", inQuote(m.fees)],
      ["Inventory", inBase(m.inventory)],
      ["Balances", m.base_balance === undefined ? "–" : `${inBase(m.base_balance)}, ${inQuote(m.quote_balance)}`],
      ["Fills, cycles", m.fills === undefined ? "–"
        : `${m.fills} fills (${m.buy_fills} buys, ${m.sell_fills} sells), ${m.completed_cycles} cycles`],
      ["Price source", m.price_source],
    ]);
    renderConsistency(m);
    renderWatchdog(symbol);
    const b = m.breaker_details || {};
    facts($("breaker"), [
      ["State", b.state, b.state === "active" ? "status-ok" : "status-failing"],
      ["Trigger", b.trigger],
      ["Reason", b.reason],
      ["Last trip", b.tripped_at && b.tripped_at.at ? when(b.tripped_at.at) + " UTC" : "never"],
      ["Cleared by", b.cleared_by],
      ["Cleared at", b.cleared_at && b.cleared_at.at ? when(b.cleared_at.at) + " UTC" : ""],
      ["Trips", b.trips],
    ]);
    const boot = m.boot_sync_report || m.boot_sync || {};
    facts($("bootsync"), [
      ["Booted", m.last_boot ? when(m.last_boot) + " UTC" : "–"],
      ...Object.entries(boot).map(([k, v]) => [k.replaceAll("_", " "), v]),
      ["Not trading", m.not_trading || "no"],
    ]);
    renderLadder(symbol);
    renderFills();
    drawCharts(symbol, m);
  }

  function renderConsistency(m) {
    const a = m.last_audit;
    const pairs = [["Orders the book expects", m.open_orders]];
    if (a) {
      pairs.push(
        ["At the venue", a.open_at_venue],
        ["Missing at the venue", a.missing, a.missing ? "status-failing" : "status-ok"],
        ["Unexpected at the venue", a.unexpected, a.unexpected ? "status-failing" : "status-ok"],
        ["Not ours", a.foreign],
        ["UNKNOWN orders", a.unknown, a.unknown ? "status-degraded" : "status-ok"],
        ["Oldest UNKNOWN", a.unknown ? `${a.oldest_unknown_s} s` : "–"],
        ["Last audit", `${age(a.ms)} (${a.expected} expected then)`]);
    } else {
      pairs.push(["Last audit", "none yet (the bot audits the venue on a timer)"]);
    }
    pairs.push(["Last sync", m.last_sync && m.last_sync.ms ? age(m.last_sync.ms) : "never"]);
    facts($("consistency"), pairs);
  }

  function renderWatchdog(symbol) {
    const h = healthOf(symbol);
    facts($("watchdog"), [
      ["Verdict", h.status, "status-" + h.status],
      ["Reasons", (h.reasons || []).join("; ") || "none"],
      ["Whole bot", S.health ? S.health.status : "unknown"],
    ]);
  }

  function renderLadder(symbol) {
    const body = $("ladder").tBodies[0];
    body.replaceChildren();
    for (const r of S.ladders[symbol] || []) {
      const order = r.order_price ? `${r.order} ${r.side} ${r.size} @ ${r.order_price}` : r.order;
      body.append(el("tr", {},
        el("td", { class: "num", text: String(r.level) }),
        el("td", { class: "num", text: r.price }),
        el("td", { class: "num", text: r.sell_price }),
        el("td", { text: r.phase }),
        el("td", { class: "num", text: r.held }),
        el("td", { class: r.side, text: order }),
        el("td", { class: "num", text: String(r.cycle) }),
        el("td", { text: r.client_order_id || "" })));
    }
    centreLadder(symbol);
  }

  function centreLadder(symbol) {
    /* Once per market shown: scroll the ladder (highest price first) to the last price. */
    const box = $("ladder").parentElement;
    const m = S.status.markets[symbol];
    if (box.dataset.centred === symbol || !m || !m.last_price || !ladderRows()) return;
    const price = Number(m.last_price);
    const rows = [...$("ladder").tBodies[0].rows];
    const levels = S.ladders[symbol];
    const near = levels.findIndex((r) => Number(r.price) <= price);
    const row = rows[Math.max(0, near)];
    box.scrollTop = Math.max(0, row.offsetTop - box.clientHeight / 2);
    box.dataset.centred = symbol;
  }
  const ladderRows = () => $("ladder").tBodies[0].rows.length;

  function renderFills() {
    const body = $("fills").tBodies[0];
    body.replaceChildren();
    for (const f of (S.fills[S.selected] || []).slice(0, 100)) {
      body.append(el("tr", { "data-trade-id": f.trade_id },
        el("td", { text: when(f.at) }),
        el("td", { class: f.side, text: f.side }),
        el("td", { class: "num", text: f.price }),
        el("td", { class: "num", text: f.qty }),
        el("td", { class: "num", text: f.fee }),
        el("td", { text: f.trade_id }),
        el("td", { text: f.client_order_id })));
    }
    if (!body.children.length) body.append(el("tr", {}, el("td", { colspan: "7", class: "muted", text: "no fills yet" })));
  }

  function drawCharts(symbol, m) {
    /* One time axis: from an hour before the page opened. A fill plots at the time the bot
       applied it (live) or the venue's trade time (history): a simulator replaying an old
       feed prints old trade times, which fall outside the window and stay in the table. */
    const from = S.openedMs - WINDOW_BEFORE_MS;
    const allFills = S.fills[symbol] || [];
    const fills = allFills.filter((f) => f.plotMs >= from);
    const prices = S.prices[symbol] || [];
    const ladder = S.ladders[symbol] || [];
    const markers = fills.map((f) => ({ t: f.plotMs, v: Number(f.price), up: f.side === "buy",
      color: f.side === "buy" ? "#0a7d38" : "#c0262d" }));
    const buys = ladder.filter((r) => r.order_price && r.side === "buy").map((r) => Number(r.order_price));
    const sells = ladder.filter((r) => r.order_price && r.side === "sell").map((r) => Number(r.order_price));
    const seen = prices.map((p) => p[1]).concat(markers.map((x) => x.v));
    if (buys.length) seen.push(Math.max(...buys));
    if (sells.length) seen.push(Math.min(...sells));
    const lo = Math.min(...seen), hi = Math.max(...seen), pad = (hi - lo) * 0.08 || hi * 0.001 || 1;
    const hlines = ladder.map((r) => ({ value: Number(r.price), color: "#c3cad3" }))
      .concat(buys.map((v) => ({ value: v, color: "#0a7d38", dash: [6, 3], width: 1.5 })))
      .concat(sells.map((v) => ({ value: v, color: "#c0262d", dash: [6, 3], width: 1.5 })));
    const canvas = $("price-chart");
    GridChart.draw(canvas, {
      series: [{ points: prices, color: "#1b1f24", width: 1.5 }],
      hlines, markers, yRange: seen.length ? [lo - pad, hi + pad] : undefined,
      empty: "waiting for a price",
    });
    canvas.dataset.fillMarkers = String(markers.length);
    canvas.dataset.fillIds = fills.map((f) => f.trade_id).join(" ");
    canvas.dataset.restingOrders = String(buys.length + sells.length);
    $("price-cover").textContent = `Price line: sampled since this page opened (${clock(S.openedMs)} UTC); `
      + `fills: ${fills.length} since ${clock(from)} UTC (all ${allFills.length} loaded are in the table).`;

    const pnl = S.pnl[symbol] || [];
    const inventory = inventoryCurve(allFills, m).filter((p) => p[0] >= from).concat(pnl.map((p) => [p.t, p.inventory]))
      .sort((a, b) => a[0] - b[0]);
    GridChart.draw($("pnl-chart"), {
      series: [
        { points: pnl.map((p) => [p.t, p.realized]), color: "#1f5fbf", step: true },
        { points: pnl.map((p) => [p.t, p.equity]), color: "#7b3fbf" },
        { points: inventory, color: "#c07a00", axis: "right", step: true },
      ],
      empty: "waiting for the bot",
    });
    $("pnl-cover").textContent = `PnL: sampled since this page opened (${clock(S.openedMs)} UTC). `
      + `Inventory: rebuilt back from the holding now over the ${fills.length} fills since ${clock(from)} UTC, then live.`;
  }

  function inventoryCurve(fills, m) {
    /* Walk back from the holding now through the fills (newest first): before each fill the
       holding was smaller by a buy's quantity, larger by a sell's. Plot points only. */
    let held = Number(m.inventory);
    const points = [];
    for (const f of fills) {
      points.push([f.plotMs, held]);
      held -= (f.side === "buy" ? 1 : -1) * Number(f.qty);
    }
    return points;
  }

  function renderEvents() {
    const list = $("events");
    list.replaceChildren();
    const mine = (n) => !n.symbol || n.symbol === "*" || n.symbol === S.selected;
    $("events-h").textContent = S.selected ? `Recent alerts and events: ${S.selected} and the bot` : "Recent alerts and events";
    for (const n of S.events.filter(mine).slice(-100).reverse()) {
      const at = n.at_ms ? clock(n.at_ms) : "";
      const item = el("li", {}, el("time", { text: at }), describe(n));
      if (BAD.has(n.type) || (n.type === "order_answered" && ["rejected", "unknown"].includes(n.outcome))) item.className = "bad";
      list.append(item);
    }
    if (!list.children.length) list.append(el("li", { class: "muted", text: "nothing yet" }));
  }

  function describe(n) {
    const m = n.symbol ? n.symbol + ": " : "";
    switch (n.type) {
      case "fill_applied": return `${m}fill ${n.side} ${n.qty} @ ${n.price} (trade ${n.trade_id})`;
      case "order_answered": return `${m}order ${n.client_order_id} ${n.outcome}${n.reason ? " (" + n.reason + ")" : ""}`;
      case "breaker_changed": return `${m}breaker ${n.breaker}${n.trigger ? " by " + n.trigger : ""}${n.reason ? ": " + n.reason : ""}`;
      case "control_changed": return `${m}${n.previous} → ${n.control}`;
      case "boot_synced": return `${m}boot sync ${Object.entries(n.counts).map(([k, v]) => `${k.replaceAll("_", " ")} ${v}`).join(", ")}${n.halted ? "; not trading: " + n.halted : ""}`;
      case "audited": return `${m}audit: ${n.expected} expected, ${n.open_at_venue} at the venue, ${n.missing} missing, ${n.unexpected} unexpected, ${n.unknown} unknown`;
      case "command_applied": return `${n.symbol === "*" ? "every market: " : m}command ${n.command} applied (#${n.command_id})`;
      case "halted": return `${m}halted: ${n.reason}`;
      case "source_changed": return `${m}price source ${n.source}${n.reason ? ": " + n.reason : ""}`;
      case "lifecycle": return `bot ${n.stage}${n.detail ? ": " + n.detail : ""}`;
      default: return `${m}${n.type}`;
    }
  }

  /* ---------- market selection ---------- */

  function pickFromHash() {
    const wanted = decodeURIComponent(location.hash.replace(/^#market=/, ""));
    if (!S.status || !wanted) return null;
    return Object.keys(S.status.markets).find((s) => s === wanted || urlSymbol(s) === wanted) || null;
  }

  async function select(symbol) {
    S.selected = symbol;
    history.replaceState(null, "", "#market=" + urlSymbol(symbol));
    render();
    try { await loadMarket(symbol); render(); } catch (e) { if (e instanceof Refused) refused(); }
    $("market-h").setAttribute("tabindex", "-1");
    $("market-h").focus();
  }

  /* ---------- commands ---------- */

  const pending = new Map();

  function ask(command, opener) {
    const symbol = command.startsWith("stop_") ? "*" : S.selected;
    if (!symbol) return;
    const dialog = $("confirm");
    $("confirm-h").textContent = "Confirm: " + command.replaceAll("_", " ");
    $("confirm-text").textContent = COMMAND_TEXT[command].replace("{m}", symbol) + "?";
    $("confirm-reason").value = "";
    dialog.dataset.command = command;
    dialog.dataset.symbol = symbol;
    dialog.returnFocus = opener;
    dialog.showModal();
    $("confirm-no").focus();
  }

  function closeDialog() {
    const dialog = $("confirm");
    if (dialog.open) dialog.close();
  }

  async function send(command, symbol, reason) {
    const outcome = $("outcome");
    const label = `${command.replaceAll("_", " ")} ${symbol === "*" ? "(every market)" : symbol}`;
    outcome.textContent = `${label}: sent, waiting for the bot to apply it…`;
    const requestId = (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random()).slice(0, 64);
    try {
      const body = await json("/api/commands?wait=10", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ command, symbol, reason: reason || "dashboard", request_id: requestId }),
      });
      if (body.status === "applied") { shown(label, body.applied_at.ms); return; }
      pending.set(body.id, label);
      for (let i = 0; i < 60 && pending.has(body.id); i++) {
        await new Promise((r) => setTimeout(r, 1000));
        if (!pending.has(body.id)) return;
        const again = await json(`/api/commands/${body.id}`);
        if (again.status === "applied") { commandApplied(body.id, again.applied_at.ms); return; }
      }
      if (pending.delete(body.id)) outcome.textContent = `${label}: not applied yet (command #${body.id} is still pending).`;
    } catch (e) {
      if (e instanceof Refused) { refused(); return; }
      outcome.textContent = e instanceof Down
        ? `${label}: no answer from the bot (it is down or went away); the events say whether it was applied.`
        : `${label}: refused: ${e.message}`;
    }
  }

  function commandApplied(id, ms) {
    const label = pending.get(id);
    if (label === undefined) return;
    pending.delete(id);
    shown(label, ms);
  }

  function shown(label, ms) {
    $("outcome").textContent = `${label}: applied at ${clock(ms || Date.now())} UTC.`;
    scheduleRefresh(true);
  }

  /* ---------- wiring ---------- */

  function wire() {
    $("login").addEventListener("submit", (event) => {
      event.preventDefault();
      const token = $("token").value.trim();
      if (!token) return;
      S.token = token;
      sessionStorage.setItem(TOKEN_KEY, token);
      S.refused = false;
      $("refused").hidden = true;
      start();
    });
    $("forget").addEventListener("click", () => {
      S.generation++;
      if (S.abort) S.abort.abort();
      sessionStorage.removeItem(TOKEN_KEY);
      S.token = "";
      setBadge("", "not connected");
      showLogin();
    });
    for (const button of document.querySelectorAll("[data-command]")) {
      button.addEventListener("click", () => ask(button.dataset.command, button));
    }
    const dialog = $("confirm");
    $("confirm-no").addEventListener("click", closeDialog);
    $("confirm-yes").addEventListener("click", () => {
      const { command, symbol } = dialog.dataset;
      const reason = $("confirm-reason").value;
      closeDialog();
      send(command, symbol, reason);
    });
    dialog.addEventListener("close", () => { if (dialog.returnFocus) dialog.returnFocus.focus(); });
    dialog.addEventListener("keydown", (event) => {
      if (event.key !== "Tab") return;
      const stops = [...dialog.querySelectorAll("button, input")];
      const first = stops[0], last = stops[stops.length - 1];
      if (event.shiftKey && document.activeElement === first) { last.focus(); event.preventDefault(); }
      else if (!event.shiftKey && document.activeElement === last) { first.focus(); event.preventDefault(); }
    });
    window.addEventListener("hashchange", () => { const s = pickFromHash(); if (s && s !== S.selected) select(s); });
    window.addEventListener("resize", () => { if (S.status && S.selected) drawCharts(S.selected, S.status.markets[S.selected]); });
    setInterval(poll, POLL_MS);
    setInterval(() => { if (S.status && S.selected) renderConsistency(S.status.markets[S.selected]); }, 1000);
  }

  wire();
  start();
})();
