"""Config mistakes: each answered with exit 2, the field (or file) named, nothing started."""

from __future__ import annotations

from tests.e2e.bad_inputs.kit import BadInput

RUN = ["run", "--config", "{tmp}/c.yaml", "--data-dir", "{data}", "--steps", "5"]


def _config(
    id_: str, text: str | bytes, culprit: str, *, argv: list[str] | None = None
) -> BadInput:
    """``run`` (or ``argv``) on a config file ``c.yaml`` holding ``text``."""
    return BadInput(
        id=f"config-{id_}", argv=argv or RUN, files={"c.yaml": text}, exit_code=2, culprit=culprit
    )


def _market(body: str) -> str:
    """One BTC/USDT market whose settings are ``body``."""
    return "markets:\n  - symbol: BTC/USDT\n" + "".join(
        f"    {line}\n" for line in body.splitlines()
    )


def _instrument(body: str) -> str:
    """The simulated BTC/USDT instrument with ``body`` changed."""
    return "sim:\n  instruments:\n    BTC/USDT:\n" + "".join(
        f"      {line}\n" for line in body.splitlines()
    )


CASES = [
    # Conversions to the core's integer units (a traceback, exit 1, before).
    _config(
        "order-size-off-step",
        _market("order_size: '0.000015'"),
        "markets[0].order_size: must be a multiple of sim.instruments.BTC/USDT.step_size 0.00001",
    ),
    _config("spacing-nan", _market("grid:\n  spacing: NaN"), "markets[0].grid.spacing"),
    _config("spacing-inf", _market("grid:\n  spacing: inf"), "markets[0].grid.spacing"),
    _config("spacing-minus-inf", _market("grid:\n  spacing: -inf"), "markets[0].grid.spacing"),
    _config("spacing-yaml-nan", _market("grid:\n  spacing: .nan"), "must be a finite decimal"),
    _config("spacing-negative", _market("grid:\n  spacing: '-50'"), "was '-50'"),
    _config("spacing-zero", _market("grid:\n  spacing: '0%'"), "markets[0].grid.spacing"),
    _config(
        "spacing-below-one-tick",
        _market("grid:\n  spacing: '0.000000000000000001'"),
        "grid.spacing: must be at least one tick",
    ),
    _config(
        "spacing-1e-30",
        _market("grid:\n  spacing: 1e-30"),
        "was 0.000000000000000000000000000001",
    ),
    _config(
        "spacing-percent-too-fine",
        _market("grid:\n  spacing: '0.00001%'"),
        "with at most 4 decimals",
    ),
    _config(
        "spacing-absolute-on-geometric",
        _market("grid:\n  kind: geometric\n  spacing: '50'"),
        "a geometric grid takes a percent",
    ),
    _config(
        "order-size-overflow",
        _market("order_size: 1e999999"),
        "markets[0].order_size: must be below 1000000000000000",
    ),
    _config("order-size-yaml-float", _market("order_size: 0.001"), "quoted text, e.g. '0.001'"),
    _config("order-size-negative", _market("order_size: '-1'"), "order_size: must be > 0"),
    _config(
        "tick-size-1e-30",
        _instrument("tick_size: 1E-30"),
        "tick_size: must have at most 18 decimal places; was 0.000000000000000000000000000001",
    ),
    _config(
        "tick-size-beyond-int64",
        _instrument("tick_size: '0.000000000000000001'"),
        "more than the book's 64-bit integers hold",
    ),
    _config(
        "levels-reach-price-zero",
        _market("grid:\n  spacing: '0.01%'\n  buy_levels: 10000\n  sell_levels: 10000"),
        "at most 9999 fit; was 10000",
    ),
    _config(
        "geometric-levels-reach-price-zero",
        _market("grid:\n  kind: geometric\n  spacing: '1%'\n  buy_levels: 10000"),
        "at most 1220 fit",
    ),
    _config(
        "geometric-levels-beyond-int64",
        _market("grid:\n  kind: geometric\n  spacing: '1%'\n  sell_levels: 10000"),
        "grid.sell_levels: an order of 0.001 on the highest",
    ),
    _config(
        "range-holds-one-level",
        _market("grid:\n  spacing: '100'\n  lower: '50000'\n  upper: '50050'"),
        "the range 50000 .. 50050 does not hold a grid",
    ),
    _config(
        "lower-below-one-tick",
        _market("grid:\n  spacing: '1'\n  lower: '0.001'\n  upper: '100'"),
        "grid.lower: must be at least one tick",
    ),
    _config(
        "stop-loss-below-one-tick",
        _market("risk:\n  stop_loss: '0.001'"),
        "risk.stop_loss: must be at least one tick",
    ),
    _config(
        "budget-quote-off-atom",
        _market("budget_quote: '5000.00000000000001'"),
        "markets[0].budget_quote: must be a multiple of 0.0000000000001",
    ),
    _config(
        "balance-off-atom",
        "sim:\n  balances:\n    BTC: '1'\n    USDT: '100000.00000000000001'\n",
        "sim.balances.USDT: must be a multiple of 0.0000000000001",
    ),
    _config(
        "balance-negative",
        "sim:\n  balances:\n    BTC: '-1'\n    USDT: '100000'\n",
        "sim.balances.BTC: must be >= 0; was -1",
    ),
    _config(
        "fee-seven-decimals",
        _instrument("maker_fee: '0.0000001'"),
        "maker_fee: must have at most 6 decimals",
    ),
    _config(
        "start-price-off-tick",
        "feed:\n  start_price: '50000.005'\n",
        "feed.start_price: must be a multiple of sim.instruments.BTC/USDT.tick_size 0.01",
    ),
    _config(
        "window-seconds-beyond-a-year",
        _market("risk:\n  fast_move_window_s: 100000000000000000000000"),
        "fast_move_window_s: must be <= 31622400",
    ),
    _config("levels-not-a-number", _market("grid:\n  buy_levels: ten"), "must be a whole number"),
    _config("engine-unknown", "engine: fast\n", "engine: must be one of 'simple' or 'durable'"),
    _config("symbol-malformed", "markets:\n  - symbol: btc-usdt\n", "markets[0].symbol"),
    # Seeds are non-negative (exit 4, boot refused, before).
    _config("seed-negative-in-file", "feed:\n  seed: -1\n", "feed.seed: must be >= 0; was -1"),
    _config("seed-negative-option", "{}\n", "--seed", argv=[*RUN, "--seed", "-1"]),
    # The file itself.
    _config("not-utf8", b"engine: simple\nexchange: \xff\n", "c.yaml must be UTF-8 YAML"),
    _config("empty-file", "", "c.yaml is empty"),
    _config("only-comments", "# nothing yet\n", "c.yaml is empty"),
    _config("top-level-list", "- engine: simple\n", "the top level must be a mapping"),
    _config("top-level-scalar", "simple\n", "the top level must be a mapping"),
    _config("scalar-for-mapping", "markets:\n  - grid: 5\n", "markets[0].grid: must be a mapping"),
    _config("scalar-for-list", "markets: BTC/USDT\n", "markets: must be a list"),
    _config("yaml-syntax", "engine: simple\nfeed: a: b\n", "at line 2, column 8"),
    _config("yaml-tab-indent", "markets:\n\t- symbol: BTC/USDT\n", "a tab"),
    _config("yaml-bad-date", "feed:\n  seed: 2020-13-45\n", "holds a value YAML cannot read"),
    _config(
        "duplicate-key",
        "markets:\n  - symbol: BTC/USDT\n    order_size: '0.001'\n    order_size: '0.002'\n",
        "key 'order_size' appears twice in one mapping (lines 3 and 4)",
    ),
    _config(
        "duplicate-top-level-key",
        "engine: simple\nreconcile_every: 10\nengine: durable\n",
        "key 'engine' appears twice in one mapping (lines 1 and 3)",
    ),
    _config(
        "api-key-under-venue",
        "exchange: binance\nvenue:\n  api_key: abc123\n",
        "venue.api_key: unknown key: API keys and secrets never go in the config",
    ),
    _config("api-secret-top-level", "api_secret: abc123\n", "GRIDMAKER_API_SECRET"),
    _config("password-in-market", "markets:\n  - password: abc\n", "GRIDMAKER_API_KEY"),
    _config(
        "unknown-key-suggestion",
        _market("grid:\n  spacng: '1%'"),
        "markets[0].grid.spacng: unknown key (did you mean 'spacing'?)",
    ),
    _config(
        "unknown-keys-flood",
        "".join(f"key{i}: {i}\n" for i in range(20_000)),
        "... and 19990 more problems",
    ),
    _config("markup-in-a-value", _market("grid:\n  spacing: '[/x] [bold]'"), "'[/x] [bold]'"),
    BadInput(
        id="config-path-missing",
        argv=["run", "--config", "{tmp}/nope.yaml", "--data-dir", "{data}", "--steps", "5"],
        exit_code=2,
        culprit="nope.yaml does not exist",
    ),
    BadInput(
        id="config-path-is-a-directory",
        argv=["run", "--config", "{tmp}/conf", "--data-dir", "{data}", "--steps", "5"],
        files={"conf/keep.txt": ""},
        exit_code=2,
        culprit="conf is a directory",
    ),
    # A bad config on a data dir that already trades: refused, the stored book untouched.
    BadInput(
        id="config-off-step-on-existing-data-dir",
        argv=RUN,
        files={"c.yaml": _market("order_size: '0.000015'")},
        exit_code=2,
        culprit="markets[0].order_size",
        template="sim_run",
    ),
    # The other commands that read a config.
    _config(
        "backtest-spacing-nan",
        _market("grid:\n  spacing: NaN"),
        "markets[0].grid.spacing",
        argv=["backtest", "--config", "{tmp}/c.yaml", "--ticks", "5"],
    ),
    _config(
        "shadow-duplicate-key",
        "engine: simple\nengine: durable\n",
        "key 'engine' appears twice",
        argv=["shadow", "--config", "{tmp}/c.yaml", "--steps", "5", "--work-dir", "{tmp}/w"],
    ),
]
