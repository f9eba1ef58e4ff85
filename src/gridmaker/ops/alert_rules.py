"""Which notices an operator must hear about, and what each alert says.

Pure: a notice goes in, zero or more ``Signal`` come out (``fire`` a condition, ``recover``
it, or a one-off ``note``). De-duplication, rate limits and delivery are the ``Alerter``'s;
the only memory here is what a rule needs to see a condition last (audits in a row that
diverge). Every alert says what happened *and what to do*, since it may be read at 3 am on a
phone with nothing else at hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from gridmaker.engine.notices import (
    Audited,
    BootSynced,
    BreakerChanged,
    Halted,
    Lifecycle,
    Notice,
)

__all__ = ["SEVERITIES", "AlertRules", "Signal", "severity_rank"]

SEVERITIES = ("info", "warning", "critical")

Kind = Literal["fire", "recover", "note"]


def severity_rank(severity: str) -> int:
    """info < warning < critical (an unknown word ranks as critical: fail loud)."""
    return SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES) - 1


@dataclass(frozen=True, slots=True, kw_only=True)
class Signal:
    """One thing to tell the operator: fire or recover the condition ``key``, or a note."""

    kind: Kind
    key: str
    severity: str
    title: str
    body: str


_AWAY = (
    ("ghost_fills", "fills applied that happened while the bot was down"),
    ("zombies", "orders the book held that the venue no longer had"),
    ("resolved", "orders whose fate was looked up and settled"),
    ("unknown_ours", "orders of ours found at the venue and adopted"),
)
"""The boot sync's counts worth a word, and what each means."""


_WATCHED: frozenset[type] = frozenset({BreakerChanged, Halted, BootSynced, Audited, Lifecycle})
"""The notices any rule reads; every other kind is passed over at once."""


class AlertRules:
    """Notices → signals. Keeps only the count of diverging audits in a row per symbol."""

    def __init__(self) -> None:
        self._diverging: dict[str, int] = {}

    def signals(self, notice: Notice) -> list[Signal]:
        kind = type(notice)
        if kind not in _WATCHED:
            return []  # the common case (a decision, an order's answer): one set lookup
        if isinstance(notice, BreakerChanged):
            return [_breaker(notice)]
        if isinstance(notice, Halted):
            return [_halted(notice)]
        if isinstance(notice, BootSynced):
            return _away(notice)
        if isinstance(notice, Audited):
            return self._audited(notice)
        if isinstance(notice, Lifecycle):
            return _lifecycle(notice)
        return []

    def _audited(self, audit: Audited) -> list[Signal]:
        symbol = audit.symbol
        out: list[Signal] = []
        vanished = f"vanished:{symbol}"
        if audit.missing:
            out.append(
                Signal(
                    kind="fire",
                    key=vanished,
                    severity="warning",
                    title=f"{symbol}: {audit.missing} order(s) vanished at the venue",
                    body=(
                        f"An audit found {audit.missing} of the {audit.expected} orders the "
                        f"book works missing at the venue (cancelled outside the bot?). The "
                        "bot re-places them when the price next moves a level. Nothing to do "
                        "unless it repeats: then look for another program or person using the "
                        "same account."
                    ),
                )
            )
        else:
            out.append(_resolved(vanished, f"{symbol}: the venue has every order again"))
        rounds = self._diverging.get(symbol, 0) + 1 if audit.diverges else 0
        self._diverging[symbol] = rounds
        divergence = f"divergence:{symbol}"
        if rounds >= 2:
            out.append(
                Signal(
                    kind="fire",
                    key=divergence,
                    severity="critical",
                    title=f"{symbol}: the book and the venue disagree for {rounds} audits",
                    body=(
                        f"Audit after audit the venue's open orders differ from the book's: "
                        f"missing {audit.missing}, unexpected {audit.unexpected} (expected "
                        f"{audit.expected}, open at the venue {audit.open_at_venue}). The bot "
                        "could not repair it. Pause the market (API or `gridmaker breaker "
                        f"trip --symbol {symbol}`), compare the venue's open orders with "
                        "`gridmaker status`, and look for another client on the account."
                    ),
                )
            )
        elif not audit.diverges:
            out.append(_resolved(divergence, f"{symbol}: the book and the venue agree again"))
        return out


def _resolved(key: str, title: str) -> Signal:
    return Signal(kind="recover", key=key, severity="info", title=title, body="")


def _breaker(change: BreakerChanged) -> Signal:
    symbol, key = change.symbol, f"breaker:{change.symbol}"
    if change.breaker == "active":
        body = "The grid trades normally again."
        if change.reason:
            body = f"Cleared by: {change.reason}. {body}"
        return Signal(
            kind="recover",
            key=key,
            severity="info",
            title=f"{symbol}: breaker cleared",
            body=body,
        )
    halted = change.breaker == "halted"
    what = (
        "Every order of this market was cancelled and nothing new is placed."
        if halted
        else "No new buys are placed; the inventory is only sold down."
    )
    return Signal(
        kind="fire",
        key=key,
        severity="critical" if halted else "warning",
        title=f"{symbol}: breaker {change.breaker} ({change.trigger or 'tripped'})",
        body=(
            f"{what} Reason: {change.reason or change.trigger}. Check the market and the "
            "bot's log; when it is safe again, reset it: "
            f"`gridmaker breaker reset --symbol {symbol}` (or the API's reset)."
        ),
    )


def _halted(halt: Halted) -> Signal:
    if "banned" in halt.reason.lower():
        # A ban halts every market at once: one alert for the account, not one per symbol.
        return Signal(
            kind="fire",
            key="ban",
            severity="critical",
            title="The venue banned the bot: every market stopped trading",
            body=(
                f"{halt.reason}. Nothing is sent until the bot is restarted. Wait for the ban "
                "to expire (the venue's message says how long), lower the request rate if it "
                "was too high, then start `gridmaker run` again."
            ),
        )
    return Signal(
        kind="fire",
        key=f"halted:{halt.symbol}",
        severity="critical",
        title=f"{halt.symbol} stopped trading",
        body=(
            f"Why: {halt.reason}. The bot will not trade {halt.symbol} again before a restart. "
            "Fix the cause the reason names (see the log), then restart `gridmaker run`."
        ),
    )


def _away(sync: BootSynced) -> list[Signal]:
    found = [(sync.counts.get(name, 0), words) for name, words in _AWAY]
    lines = [f"- {count} {words}" for count, words in found if count]
    if not lines:
        return []
    return [
        Signal(
            kind="note",
            key=f"away:{sync.symbol}",
            severity="info",
            title=f"{sync.symbol}: while you were away",
            body=(
                "The boot sync brought the book level with the venue:\n"
                + "\n".join(lines)
                + "\nNothing to do: the book now matches the venue. Read the boot report in "
                "the log or `gridmaker status` for the details."
            ),
        )
    ]


def _lifecycle(stage: Lifecycle) -> list[Signal]:
    titles = {
        "started": "gridmaker started trading",
        "stopping": "gridmaker is stopping",
        "stopped": "gridmaker stopped cleanly",
    }
    title = titles.get(stage.stage, f"gridmaker: {stage.stage}")
    return [
        Signal(
            kind="note",
            key=f"lifecycle:{stage.stage}",
            severity="info",
            title=title,
            body=stage.detail or title + ".",
        )
    ]
