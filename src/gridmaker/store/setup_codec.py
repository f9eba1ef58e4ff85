"""A ``BookSetup`` as JSON: how a queued reconfiguration carries the new grid to the loop.

The journal keeps the setup the operator's config asked for, in the instrument's integer units
as ``book_setup`` made them, so the loop applies exactly what ``gridmaker plan`` showed, even
after a restart, without reading the config file again.
"""

from __future__ import annotations

import json
from dataclasses import fields
from decimal import Decimal
from typing import Any

from gridmaker.core.grid import GridKind, GridTemplate
from gridmaker.core.risk import OnTrip, RiskParams
from gridmaker.core.setup import BookSetup
from gridmaker.core.state import GridMode, StrategyParams
from gridmaker.store.codec import canonical_json

__all__ = ["decode_setup", "encode_setup"]


def _plain(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, GridKind | GridMode | OnTrip):
        return value.value
    return value


def _fields(obj: Any) -> dict[str, object]:
    return {f.name: _plain(getattr(obj, f.name)) for f in fields(obj)}


def encode_setup(setup: BookSetup) -> str:
    """Canonical JSON of ``setup`` (the same setup always gives the same text)."""
    return canonical_json(
        {
            "symbol": setup.symbol,
            "params": _fields(setup.params),
            "template": _fields(setup.template),
            "budget_base": _plain(setup.budget_base),
            "budget_quote": _plain(setup.budget_quote),
            "risk": _fields(setup.risk),
            "crash_candle_ms": setup.crash_candle_ms,
            "trigger_ticks": setup.trigger_ticks,
        }
    )


def _decimal(value: object) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def decode_setup(text: str) -> BookSetup:
    """The setup back from ``encode_setup``; raises ``ValueError``/``KeyError``/``TypeError``."""
    raw = json.loads(text)
    params = raw["params"]
    template = raw["template"]
    risk = raw["risk"]
    return BookSetup(
        symbol=raw["symbol"],
        params=StrategyParams(**{**params, "mode": GridMode(params["mode"])}),
        template=GridTemplate(
            **{**template, "kind": GridKind(template["kind"]), "ratio": Decimal(template["ratio"])}
        ),
        budget_base=_decimal(raw["budget_base"]),
        budget_quote=_decimal(raw["budget_quote"]),
        risk=RiskParams(**{**risk, "on_trip": OnTrip(risk["on_trip"])}),
        crash_candle_ms=int(raw["crash_candle_ms"]),
        trigger_ticks=int(raw.get("trigger_ticks", 0)),
    )
