"""Lifecycle controls: ``trigger_price``/``compound`` in a config, ``capital`` and ``stop``."""

from __future__ import annotations

from tests.e2e.bad_inputs.kit import BadInput

RUN = ["run", "--config", "{tmp}/c.yaml", "--data-dir", "{data}", "--steps", "5"]
CAPITAL = ["capital", "--data-dir", "{data}"]
STOP = ["stop", "--data-dir", "{data}"]


def _market(id_: str, body: str, culprit: str) -> BadInput:
    text = "markets:\n  - symbol: BTC/USDT\n" + "".join(f"    {x}\n" for x in body.splitlines())
    return BadInput(id=id_, argv=RUN, files={"c.yaml": text}, exit_code=2, culprit=culprit)


def _capital(id_: str, args: list[str], culprit: str, exit_code: int = 2) -> BadInput:
    return BadInput(
        id=id_, argv=[*CAPITAL, *args], template="sim_run", exit_code=exit_code, culprit=culprit
    )


def _stop(id_: str, args: list[str], culprit: str) -> BadInput:
    return BadInput(id=id_, argv=[*STOP, *args], template="sim_run", exit_code=2, culprit=culprit)


CASES = [
    # config: the trigger on the tick, inside a bounded range, a price; compound a boolean
    _market(
        "life-trigger-outside-range",
        'trigger_price: "70000"\ngrid: {lower: "40000", upper: "60000"}',
        "trigger_price must be within",
    ),
    _market("life-trigger-off-tick", 'trigger_price: "49000.001"', "trigger_price"),
    _market("life-trigger-zero", 'trigger_price: "0"', "trigger_price"),
    _market("life-trigger-text", "trigger_price: soon", "trigger_price"),
    _market("life-compound-text", "compound: sometimes", "compound"),
    # capital: one amount, a positive quote amount on the atom, a withdrawal the book can spare
    _capital("life-capital-no-amount", [], "--add AMOUNT or --withdraw AMOUNT"),
    _capital("life-capital-both", ["--add", "5", "--withdraw", "5"], "was both"),
    _capital("life-capital-negative", ["--add", "-5"], "'-5'"),
    _capital("life-capital-nan", ["--add", "NaN"], "'NaN'"),
    _capital("life-capital-off-atom", ["--add", "0.00000000000001"], "0.0000000000001"),
    _capital("life-capital-huge", ["--add", "99999999"], "more than BTC/USDT's book can count"),
    _capital("life-capital-withdraw-beyond-free", ["--withdraw", "99990"], "USDT are free"),
    _capital("life-capital-unknown-symbol", ["--add", "5", "--symbol", "ETH/USDT"], "ETH/USDT"),
    BadInput(
        id="life-capital-no-state",
        argv=["capital", "--data-dir", "{tmp}/none", "--add", "5"],
        exit_code=3,
        culprit="no gridmaker state",
    ),
    # stop: one way, a limit with --sell only, a bot to stop
    _stop("life-stop-no-way", [], "--cancel, --leave or --sell"),
    _stop("life-stop-two-ways", ["--cancel", "--leave"], "--cancel, --leave"),
    _stop("life-stop-sell-no-limit", ["--sell"], "--sell needs --limit"),
    _stop("life-stop-limit-100", ["--sell", "--limit", "100%"], "'100%'"),
    _stop("life-stop-limit-text", ["--sell", "--limit", "lots"], "'lots'"),
    _stop("life-stop-limit-without-sell", ["--cancel", "--limit", "1%"], "--limit goes with"),
    _stop("life-stop-no-bot", ["--cancel"], "no bot runs on"),
]
