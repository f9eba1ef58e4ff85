"""A book as canonical JSON, and the one checksum function both the write path and boot use.

Canonical: sorted keys, no whitespace, every ``Decimal`` as its string, every int as an int. The
checksum is SHA-256 over those exact bytes, so any change to a stored book — a flipped byte, a
hand edit — is detected before the book is used.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import fields
from decimal import Decimal
from typing import Any

from gridmaker.core.events import Side
from gridmaker.core.grid import GridKind, GridSpec
from gridmaker.core.risk import BreakerState, OnTrip, RiskParams, RiskState
from gridmaker.core.slots import OrderState, Phase, Slot
from gridmaker.core.state import Control, GridMode, GridState, StrategyParams
from gridmaker.core.units import Instrument

__all__ = ["STATE_FORMAT", "canonical_json", "checksum", "decode_state", "encode_state"]

STATE_FORMAT = 1

_INSTRUMENT_FIELDS = (
    "symbol",
    "base",
    "quote",
    "tick_size",
    "step_size",
    "min_qty",
    "min_notional",
    "maker_fee",
    "taker_fee",
)


def canonical_json(value: Mapping[str, Any]) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def checksum(text: str) -> str:
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def _plain(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Side | OrderState | Phase | GridKind | GridMode | BreakerState | OnTrip):
        return value.value
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


SLOT_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Slot))


def _encode_slot(slot: Slot) -> list[object]:
    # Slot fields are ints, strs, bools, None and StrEnums (which JSON writes as their value).
    return [getattr(slot, name) for name in SLOT_FIELDS]


def encode_state(state: GridState) -> dict[str, Any]:
    grid = state.grid
    return {
        "format": STATE_FORMAT,
        "symbol": state.symbol,
        "instrument": {k: _plain(getattr(state.instrument, k)) for k in _INSTRUMENT_FIELDS},
        "grid": {f.name: _plain(getattr(grid, f.name)) for f in fields(grid)},
        "params": {f.name: _plain(getattr(state.params, f.name)) for f in fields(state.params)},
        "slot_fields": list(SLOT_FIELDS),
        "slots": [_encode_slot(state.slots[t]) for t in sorted(state.slots)],
        "counters": {
            f.name: getattr(state, f.name) for f in fields(state) if f.name not in _STRUCTURED
        },
        "risk": {f.name: _plain(getattr(state.risk, f.name)) for f in fields(state.risk)},
        "risk_params": {
            f.name: _plain(getattr(state.risk_params, f.name)) for f in fields(state.risk_params)
        },
        "control": state.control.value,
    }


_STRUCTURED = (
    "symbol",
    "instrument",
    "grid",
    "params",
    "slots",
    "risk",
    "risk_params",
    "control",
)


def _decode_risk(raw: Mapping[str, Any]) -> RiskState:
    return RiskState(
        **{
            **raw,
            "breaker": BreakerState(raw["breaker"]),
            "window": tuple((int(t), int(p)) for t, p in raw["window"]),
            "candles": tuple((int(c), int(v)) for c, v in raw["candles"]),
        }
    )


def _decode_slot(names: list[str], values: list[Any]) -> Slot:
    raw = dict(zip(names, values, strict=True))
    side = raw["order_side"]
    return Slot(
        **{
            **raw,
            "phase": Phase(raw["phase"]),
            "order": OrderState(raw["order"]),
            "order_side": None if side is None else Side(side),
        }
    )


def decode_state(raw: Mapping[str, Any]) -> GridState:
    """The book back from ``encode_state``; raises ``KeyError``/``ValueError`` on bad input."""
    if raw.get("format") != STATE_FORMAT:
        raise ValueError(f"unsupported state format, was {raw.get('format')!r}")
    inst = raw["instrument"]
    instrument = Instrument(
        symbol=inst["symbol"],
        base=inst["base"],
        quote=inst["quote"],
        tick_size=Decimal(inst["tick_size"]),
        step_size=Decimal(inst["step_size"]),
        min_qty=Decimal(inst["min_qty"]),
        min_notional=Decimal(inst["min_notional"]),
        maker_fee=Decimal(inst["maker_fee"]),
        taker_fee=Decimal(inst["taker_fee"]),
    )
    g = raw["grid"]
    grid = GridSpec(**{**g, "kind": GridKind(g["kind"]), "ratio": Decimal(g["ratio"])})
    p = raw["params"]
    params = StrategyParams(**{**p, "mode": GridMode(p["mode"])})
    names = raw["slot_fields"]
    slots: dict[int, Slot] = {}
    for values in raw["slots"]:
        slot = _decode_slot(names, values)
        slots[slot.buy_ticks] = slot
    risk_params = raw["risk_params"]
    return GridState(
        symbol=raw["symbol"],
        instrument=instrument,
        grid=grid,
        params=params,
        slots=slots,
        risk=_decode_risk(raw["risk"]),
        risk_params=RiskParams(**{**risk_params, "on_trip": OnTrip(risk_params["on_trip"])}),
        control=Control(raw.get("control", Control.TRADING.value)),  # books saved before it
        **raw["counters"],
    )
