"""The circuit breaker: a pure state machine fed by the strategy's own events.

States, named for what trading may still do:

- ACTIVE    the grid trades normally
- REDUCING  tripped with ``on_trip=reduce``: open buys are cancelled, nothing new is opened,
            take-profit sells keep working so inventory can only shrink
- HALTED    tripped with ``on_trip=halt`` (or a hard trigger: ban, stop-loss, take-profit bound):
            every open order is cancelled, nothing is sent

Rules:

1. Every trigger is off unless configured, except the ban (always on) and manual trips.
2. A trip records its trigger, reason and ``ts_event``; so does a clearance. Nothing clears
   silently: a clearance is a manual reset, or — for triggers that allow it, when a cooldown is
   configured — the cooldown has passed *and* the condition is back inside its hysteresis band.
3. The breaker lives in the book, so it is saved with the book's checksum on every change and
   restored with it before the exchange sync: a tripped bot is still tripped after a restart.
4. Pure: time comes from the events, never from a clock.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Final

from gridmaker.core.evolve import evolve

__all__ = [
    "PPM",
    "BreakerState",
    "Candle",
    "OnTrip",
    "RiskParams",
    "RiskState",
    "Trigger",
    "check_candle",
    "check_equity",
    "check_price",
    "clear",
    "drawdown_of",
    "move_ppm",
    "trip",
]

PPM: Final = 1_000_000


class BreakerState(StrEnum):
    ACTIVE = "active"
    REDUCING = "reducing"
    HALTED = "halted"


class OnTrip(StrEnum):
    REDUCE = "reduce"
    HALT = "halt"


class Trigger(StrEnum):
    FAST_MOVE = "fast_move"
    CRASH = "crash"
    DRAWDOWN = "drawdown"
    INVENTORY = "inventory"
    REALIZED_LOSS = "realized_loss"
    BAN = "ban"
    DIVERGENCE = "divergence"
    MANUAL = "manual"
    STOP_LOSS = "stop_loss"
    TAKE_PROFIT = "take_profit"


HARD_TRIGGERS: Final = frozenset({Trigger.BAN, Trigger.STOP_LOSS, Trigger.TAKE_PROFIT})
"""Always HALT, never clear by themselves."""
AUTO_CLEARABLE: Final = frozenset({Trigger.FAST_MOVE, Trigger.CRASH, Trigger.DRAWDOWN})


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskParams:
    """Limits in the book's integer units; a 0 means "off" (ppm = parts per million)."""

    fast_move_ppm: int = 0
    fast_move_window_ms: int = 0
    crash_volume_multiple_ppm: int = 0
    crash_ma_candles: int = 0
    drawdown_ppm: int = 0
    inventory_limit_steps: int = 0
    realized_loss_limit_atoms: int = 0
    divergence_limit: int = 0
    stop_loss_ticks: int = 0
    stop_loss_sell_ppm: int = 0
    """On a stop-loss, sell the inventory at most this far below the price (0: keep it)."""
    take_profit_ticks: int = 0
    on_trip: OnTrip = OnTrip.REDUCE
    cooldown_ms: int = 0
    """0: only a manual reset clears. Otherwise soft triggers clear themselves after this long,
    once their condition is back below half its threshold (the hysteresis band)."""


@dataclass(frozen=True, slots=True)
class Candle:
    """A closed candle from the shell's aggregator: close price and traded volume."""

    close_ticks: int
    volume_steps: int
    ts_event: int


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskState:
    breaker: BreakerState = BreakerState.ACTIVE
    trigger: str = ""
    reason: str = ""
    tripped_at: int = 0
    cleared_by: str = ""
    cleared_at: int = 0
    trips: int = 0
    high_water_atoms: int = 0
    window: tuple[tuple[int, int], ...] = ()
    """(ts_event, price_ticks) samples inside the fast-move window, oldest first."""
    candles: tuple[tuple[int, int], ...] = ()
    """(close_ticks, volume_steps) of the last candles, oldest first."""

    @property
    def is_active(self) -> bool:
        return self.breaker is BreakerState.ACTIVE


def trip(
    risk: RiskState, params: RiskParams, trigger: Trigger, reason: str, ts_event: int
) -> RiskState:
    """Trip (or re-trip) the breaker; a hard trigger escalates REDUCING to HALTED."""
    halt = trigger in HARD_TRIGGERS or params.on_trip is OnTrip.HALT
    target = BreakerState.HALTED if halt else BreakerState.REDUCING
    if risk.breaker is BreakerState.HALTED or risk.breaker is target:
        return risk  # already as tripped as this trigger asks: keep the first reason
    return replace(
        risk,
        breaker=target,
        trigger=trigger.value,
        reason=reason,
        tripped_at=ts_event,
        trips=risk.trips + 1,
    )


def clear(risk: RiskState, by: str, ts_event: int) -> RiskState:
    """Back to ACTIVE; ``by`` says who or what cleared it (recorded, never silent)."""
    if risk.is_active:
        return risk
    return replace(
        risk,
        breaker=BreakerState.ACTIVE,
        cleared_by=by,
        cleared_at=ts_event,
        window=(),
        candles=(),
    )


def move_ppm(low: int, high: int, price_ticks: int) -> int:
    """The largest relative move of ``price_ticks`` from a window whose prices span
    ``[low, high]``, in ppm (the fast-move trigger's measure; the backtester's watch uses it
    too, so both compare the same integers)."""
    return max((high - price_ticks) * PPM // high, (price_ticks - low) * PPM // low)


def _move_ppm(window: tuple[tuple[int, int], ...], price_ticks: int) -> int:
    """The largest relative move of ``price_ticks`` from any price in the window, in ppm."""
    if not window:
        return 0
    low = min(p for _, p in window)
    high = max(p for _, p in window)
    return move_ppm(low, high, price_ticks)


def check_price(risk: RiskState, params: RiskParams, price_ticks: int, ts_event: int) -> RiskState:
    """Fast move, stop-loss and take-profit bounds; and the cooldown of a fast-move trip."""
    if params.stop_loss_ticks and price_ticks <= params.stop_loss_ticks:
        risk = trip(
            risk,
            params,
            Trigger.STOP_LOSS,
            f"price {price_ticks} <= stop-loss {params.stop_loss_ticks} ticks",
            ts_event,
        )
    if params.take_profit_ticks and price_ticks >= params.take_profit_ticks:
        risk = trip(
            risk,
            params,
            Trigger.TAKE_PROFIT,
            f"price {price_ticks} >= take-profit {params.take_profit_ticks} ticks",
            ts_event,
        )
    if not params.fast_move_ppm or not params.fast_move_window_ms:
        return risk
    horizon = ts_event - params.fast_move_window_ms
    window = tuple(s for s in risk.window if s[0] >= horizon)
    move = _move_ppm(window, price_ticks)
    risk = evolve(risk, window=(*window, (ts_event, price_ticks)))  # per price: the fast copy
    if move >= params.fast_move_ppm:
        return trip(
            risk,
            params,
            Trigger.FAST_MOVE,
            f"price moved {move / 10_000:.2f}% within {params.fast_move_window_ms} ms "
            f"(limit {params.fast_move_ppm / 10_000:.2f}%)",
            ts_event,
        )
    if risk.trigger == Trigger.FAST_MOVE and move * 2 < params.fast_move_ppm:
        return _cooled(risk, params, ts_event, f"price move back to {move / 10_000:.2f}%")
    return risk


def check_equity(
    risk: RiskState,
    params: RiskParams,
    *,
    equity_atoms: int,
    inventory_steps: int,
    realized_pnl_atoms: int,
    ts_event: int,
) -> RiskState:
    """Drawdown from the high-water mark, inventory limit, realized loss limit.

    The high-water mark is tracked only while the drawdown trigger is configured: a book
    without risk limits carries no risk bookkeeping at all.
    """
    drawdown = 0
    if params.drawdown_ppm:
        high = max(risk.high_water_atoms, equity_atoms)
        if high != risk.high_water_atoms:
            risk = evolve(risk, high_water_atoms=high)  # per fill and price: the fast copy
        drawdown = drawdown_of(high, equity_atoms)
    if params.drawdown_ppm and drawdown >= params.drawdown_ppm:
        risk = trip(
            risk,
            params,
            Trigger.DRAWDOWN,
            f"equity {drawdown / 10_000:.2f}% below its high-water mark "
            f"(limit {params.drawdown_ppm / 10_000:.2f}%)",
            ts_event,
        )
    elif risk.trigger == Trigger.DRAWDOWN and drawdown * 2 < params.drawdown_ppm:
        risk = _cooled(risk, params, ts_event, f"drawdown back to {drawdown / 10_000:.2f}%")
    if params.inventory_limit_steps and inventory_steps > params.inventory_limit_steps:
        risk = trip(
            risk,
            params,
            Trigger.INVENTORY,
            f"inventory {inventory_steps} steps above the limit {params.inventory_limit_steps}",
            ts_event,
        )
    if params.realized_loss_limit_atoms and -realized_pnl_atoms >= params.realized_loss_limit_atoms:
        risk = trip(
            risk,
            params,
            Trigger.REALIZED_LOSS,
            f"realized loss {-realized_pnl_atoms} atoms reached the limit "
            f"{params.realized_loss_limit_atoms}",
            ts_event,
        )
    return risk


def drawdown_of(high_water_atoms: int, equity_atoms: int) -> int:
    """How far ``equity_atoms`` is below the high-water mark, in ppm (0 without a mark)."""
    if high_water_atoms <= 0:
        return 0
    return (high_water_atoms - equity_atoms) * PPM // high_water_atoms


def check_candle(risk: RiskState, params: RiskParams, candle: Candle) -> RiskState:
    """Crash detector: volume far above its average while the close is below its average."""
    n = params.crash_ma_candles
    if not n or not params.crash_volume_multiple_ppm:
        return risk
    history = risk.candles[-n:]
    risk = replace(risk, candles=(*history, (candle.close_ticks, candle.volume_steps))[-n:])
    if len(history) < n:
        return risk
    volume_sum = sum(v for _, v in history)
    close_sum = sum(c for c, _ in history)
    # volume > multiple × average  and  close < average close, in integers
    is_heavy = candle.volume_steps * PPM * n > params.crash_volume_multiple_ppm * volume_sum
    if is_heavy and candle.close_ticks * n < close_sum:
        return trip(
            risk,
            params,
            Trigger.CRASH,
            f"volume {candle.volume_steps} steps > {params.crash_volume_multiple_ppm / PPM:g}x "
            f"its {n}-candle average while the close is below the average close",
            candle.ts_event,
        )
    if risk.trigger == Trigger.CRASH and candle.close_ticks * n >= close_sum:
        return _cooled(risk, params, candle.ts_event, "close back above its average")
    return risk


def _cooled(risk: RiskState, params: RiskParams, ts_event: int, why: str) -> RiskState:
    """Auto-clear a soft trip once the cooldown passed and the condition is back in band."""
    if (
        risk.is_active
        or not params.cooldown_ms
        or risk.trigger not in AUTO_CLEARABLE
        or ts_event - risk.tripped_at < params.cooldown_ms
    ):
        return risk
    return clear(risk, f"auto after {params.cooldown_ms} ms cooldown: {why}", ts_event)
