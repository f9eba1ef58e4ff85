"""``backtest``, ``shadow``, ``breaker`` and feed files: each mistake named, nothing changed."""

from __future__ import annotations

import gzip

from tests.e2e.bad_inputs.kit import BadInput

HEADER = "timestamp,price,amount\n"
GOOD = "1700000000000,50000.00,0.5\n"
BACKTEST = ["backtest", "--feed", "{tmp}/t.csv"]
SHADOW = ["shadow", "--work-dir", "{data}", "--feed", "{tmp}/t.csv"]
RUN = ["run", "--data-dir", "{data}", "--steps", "5", "--feed", "{tmp}/t.csv"]
TOO_POOR = 'markets:\n  - order_size: "1"\n'
"""20 buys of 1 BTC near 50000 need far more than the simulated account's 100000 USDT."""
BLOCK_MATPLOTLIB = (
    "import sys\n"
    "class _Blocked:\n"
    "    def find_spec(self, name, path=None, target=None):\n"
    "        if name.split('.')[0] == 'matplotlib':\n"
    "            raise ImportError(name)\n"
    "sys.meta_path.insert(0, _Blocked())\n"
)


def _feed(
    id_: str, argv: list[str], rows: str | bytes, culprit: str, name: str = "t.csv"
) -> BadInput:
    return BadInput(
        id=id_,
        argv=[a.replace("t.csv", name) for a in argv],
        files={name: rows},
        exit_code=2,
        culprit=culprit,
    )


CASES = [
    # a feed file's bad row: file, row (line) and value named, before anything runs
    _feed(
        "cmd-backtest-feed-huge-price",
        BACKTEST,
        HEADER + GOOD + "1700000001000,1e400,1\n",
        "row 2 (line 3)",
    ),
    _feed(
        "cmd-shadow-feed-huge-price", SHADOW, HEADER + GOOD + "1700000001000,1e400,1\n", "'1e400'"
    ),
    _feed("cmd-run-feed-huge-price", RUN, HEADER + GOOD + "1700000001000,1e400,1\n", "'1e400'"),
    _feed(
        "cmd-backtest-feed-nan-price", BACKTEST, HEADER + GOOD + "1700000001000,NaN,1\n", "'NaN'"
    ),
    _feed("cmd-shadow-feed-nan-price", SHADOW, HEADER + GOOD + "1700000001000,NaN,1\n", "'NaN'"),
    _feed("cmd-backtest-feed-negative-price", BACKTEST, HEADER + "1,-5,1\n", "'-5'"),
    _feed(
        "cmd-backtest-feed-zero-amount",
        BACKTEST,
        HEADER + GOOD + "1700000001000,50000,0\n",
        "amount",
    ),
    _feed("cmd-backtest-feed-huge-amount", BACKTEST, HEADER + "1,50000,1e30\n", "'1e30'"),
    _feed("cmd-backtest-feed-empty-file", BACKTEST, "", "empty file"),
    _feed("cmd-backtest-feed-header-only", BACKTEST, HEADER, "no trades"),
    _feed("cmd-backtest-feed-wrong-header", BACKTEST, "time,px,qty\n1,2,3\n", "'timestamp'"),
    _feed("cmd-backtest-feed-not-gzip", BACKTEST, HEADER + GOOD, "gzip", name="t.csv.gz"),
    _feed("cmd-backtest-feed-binary-junk", BACKTEST, bytes(range(256)) * 4, "UTF-8", name="t.bin"),
    _feed(
        "cmd-backtest-feed-time-backwards",
        BACKTEST,
        HEADER + "2000,50000,1\n1000,50000,1\n",
        "timestamp goes backwards",
    ),
    _feed(
        "cmd-backtest-feed-off-tick",
        BACKTEST,
        HEADER + GOOD + "1700000001000,50000.001,1\n",
        "50000.001",
    ),
    _feed(
        "cmd-shadow-feed-off-tick",
        SHADOW,
        HEADER + GOOD + "1700000001000,50000.001,1\n",
        "50000.001",
    ),
    _feed(
        "cmd-run-feed-off-tick",
        RUN,
        HEADER + GOOD + "1700000001000,50000.001,1\n",
        "row 2 (line 3)",
    ),
    _feed(
        "cmd-backtest-feed-far-timestamp",
        BACKTEST,
        HEADER + "99999999999999999999,50000,1\n",
        "timestamp",
    ),
    _feed(
        "cmd-backtest-candles-huge-high",
        BACKTEST,
        "timestamp,open,high,low,close,volume\n0,1,1,1,1,1\n60000,1,1e400,1,1,1\n",
        "candle 2 (line 3)",
    ),
    _feed(
        "cmd-backtest-feed-gzip-huge-price",
        BACKTEST,
        gzip.compress((HEADER + "1,1e400,1\n").encode()),
        "'1e400'",
        name="t.csv.gz",
    ),
    BadInput(
        id="cmd-backtest-config-feed-file-bad-row",
        argv=["backtest", "--config", "{tmp}/c.yaml"],
        files={"c.yaml": "feed:\n  kind: file\n  path: t.csv\n", "t.csv": HEADER + "1,NaN,1\n"},
        exit_code=2,
        culprit="'NaN'",
    ),
    BadInput(
        id="cmd-backtest-feed-missing-file",
        argv=["backtest", "--feed", "{tmp}/nope.csv"],
        exit_code=2,
        culprit="nope.csv",
    ),
    # backtest arguments
    BadInput(
        id="cmd-backtest-csv-without-sweep",
        argv=["backtest", "--ticks", "100", "--csv", "{tmp}/rows.csv"],
        exit_code=2,
        culprit="--sweep",
    ),
    BadInput(
        id="cmd-backtest-report-without-matplotlib",
        argv=["backtest", "--ticks", "100", "--report", "{tmp}/out"],
        files={"shim/sitecustomize.py": BLOCK_MATPLOTLIB},
        env={"PYTHONPATH": "shim", "PYTHONDONTWRITEBYTECODE": "1"},
        exit_code=2,
        culprit="pip install 'gridmaker[report]'",
    ),
    BadInput(
        id="cmd-backtest-workers-without-sweep",
        argv=["backtest", "--ticks", "100", "--workers", "2"],
        exit_code=2,
        culprit="--workers sets the processes of a sweep",
    ),
    BadInput(
        id="cmd-backtest-report-with-sweep",
        argv=["backtest", "--ticks", "100", "--sweep", "levels=5,10", "--report", "{tmp}/out"],
        exit_code=2,
        culprit="cannot be combined with --sweep",
    ),
    BadInput(
        id="cmd-backtest-report-is-a-file",
        argv=["backtest", "--ticks", "100", "--report", "{tmp}/out"],
        files={"out": "a file, not a folder"},
        exit_code=2,
        culprit="--report must be a folder",
    ),
    BadInput(
        id="cmd-backtest-report-under-a-file",
        argv=["backtest", "--ticks", "100", "--report", "{tmp}/out/sub"],
        files={"out": "a file, not a folder"},
        exit_code=2,
        culprit="cannot write the report",
    ),
    BadInput(
        id="cmd-backtest-csv-is-a-folder",
        argv=["backtest", "--ticks", "100", "--sweep", "levels=5,10", "--csv", "{tmp}/rows"],
        files={"rows/keep.txt": ""},
        exit_code=2,
        culprit="--csv must be a file",
    ),
    BadInput(
        id="cmd-backtest-sweep-unknown-setting",
        argv=["backtest", "--ticks", "100", "--sweep", "bogus=1,2"],
        exit_code=2,
        culprit="'bogus'",
    ),
    BadInput(
        id="cmd-backtest-sweep-bad-range",
        argv=["backtest", "--ticks", "100", "--sweep", "spacing=0.5%..0.1%:3"],
        exit_code=2,
        culprit="spacing=0.5%..0.1%:3",
    ),
    BadInput(
        id="cmd-backtest-ticks-zero",
        argv=["backtest", "--ticks", "0"],
        exit_code=2,
        culprit="--ticks",
    ),
    BadInput(
        id="cmd-backtest-preflight-fails",
        argv=["backtest", "--config", "{tmp}/c.yaml", "--ticks", "100"],
        files={"c.yaml": TOO_POOR},
        exit_code=4,
        culprit="refusing to start: balance too small",
    ),
    # shadow
    BadInput(
        id="cmd-shadow-preflight-fails",
        argv=["shadow", "--config", "{tmp}/c.yaml", "--steps", "50"],
        files={"c.yaml": TOO_POOR},
        exit_code=4,
        culprit="refusing to start: balance too small",
    ),
    BadInput(
        id="cmd-shadow-work-dir-is-a-file",
        argv=["shadow", "--work-dir", "{tmp}/w", "--steps", "10"],
        files={"w": "a file, not a folder"},
        exit_code=2,
        culprit="--work-dir must be a folder",
    ),
    BadInput(
        id="cmd-breaker-wait-negative",
        argv=["breaker", "trip", "--data-dir", "{data}", "--wait", "-1"],
        template="sim_run",
        exit_code=2,
        culprit="--wait",
    ),
    BadInput(
        id="cmd-shadow-steps-zero", argv=["shadow", "--steps", "0"], exit_code=2, culprit="--steps"
    ),
    # breaker: "applied" must mean a breaker changed
    BadInput(
        id="cmd-breaker-trip-unknown-symbol",
        argv=["breaker", "trip", "--data-dir", "{data}", "--symbol", "ETH/USDT"],
        template="sim_run",
        exit_code=2,
        culprit="BTC/USDT; was 'ETH/USDT'",
    ),
    BadInput(
        id="cmd-breaker-reset-unknown-symbol",
        argv=["breaker", "reset", "--data-dir", "{data}", "--symbol", "btc/usdt"],
        template="sim_run",
        exit_code=2,
        culprit="'btc/usdt'",
    ),
    BadInput(
        id="cmd-breaker-trip-without-store",
        argv=["breaker", "trip", "--data-dir", "{data}"],
        files={"data/notes.txt": "not a data dir"},
        exit_code=3,
        culprit="no gridmaker state",
    ),
    BadInput(
        id="cmd-breaker-verb-bogus",
        argv=["breaker", "explode", "--data-dir", "{data}"],
        template="sim_run",
        exit_code=2,
        culprit="explode",
    ),
]
