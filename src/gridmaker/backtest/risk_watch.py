"""``RiskWatch``: the default risk triggers checked on integers, so a level change that trips
nothing is not decided.

With risk limits every level change used to go through ``decide``, only for the breaker to
read the price: ``check_price`` adds the price to the fast-move window and ``check_equity``
raises the high-water mark. On a quiet book (every slot has a live order, the breaker is
active) that decision changes nothing else. The watch does the same arithmetic in O(1) per
level change — a sliding minimum and maximum of the window, the equity at the price against the
high-water mark — and tells the backtester when a trigger fires; only then is the price decided.
The samples it kept aside are written into the breaker's state, exactly as the skipped
decisions would have written them, before the next decision (``catch_up``).

Which limits it can watch: fast move, drawdown and the stop-loss / take-profit bounds (those
reach the backtester's slow path by its thresholds and are decided). The inventory and realized
loss limits are not watched: with them, every level change is decided as before. The window is
kept exactly only while the prints' timestamps do not go back; the first one that does turns
the watch off for the rest of the run (every level change is decided from then on).
"""

from __future__ import annotations

from bisect import bisect_left
from collections import deque

from gridmaker.core.evolve import evolve
from gridmaker.core.risk import BreakerState, RiskParams, RiskState, drawdown_of, move_ppm
from gridmaker.core.state import GridState
from gridmaker.core.units import FEE_SCALE

__all__ = ["RiskWatch", "is_watchable"]

Sample = tuple[int, int]
"""(ts_event, price_ticks), as the breaker's window holds them."""


def is_watchable(params: RiskParams) -> bool:
    """True when every configured trigger is one the watch can check (see the module doc)."""
    return not (
        params.inventory_limit_steps
        or params.realized_loss_limit_atoms
        or params.crash_ma_candles
        or params.stop_loss_sell_ppm
    )


class RiskWatch:
    """The breaker's price triggers on integers, between the backtester's decisions."""

    def __init__(self, params: RiskParams) -> None:
        self.params = params
        self.is_on = True
        self._span = params.fast_move_window_ms if params.fast_move_ppm else 0
        """The fast-move window in ms; 0 when the trigger is off (no window is kept)."""
        self._highs: deque[Sample] = deque()
        """Window samples whose price no later sample reaches: prices falling, the max first."""
        self._lows: deque[Sample] = deque()
        """Window samples whose price no later sample undercuts: prices rising, the min first."""
        self._pending: deque[Sample] = deque()
        """Samples of skipped level changes not yet in the book's window, oldest first; only
        those a later window can still hold (fills never read the window, so it is caught up
        only before a price is decided, when the breaker leaves ACTIVE, and at the end)."""
        self._high_water = 0
        self._high_water_moved = False
        """The skipped checks raised the high-water mark: the book must hear of it."""
        self._last_ts: int | None = None
        self._stale = True
        """The sliding extremes must be rebuilt from the book's window before the next use."""

    def calm(self, state: GridState, price: int, ts: int) -> bool:
        """True when deciding this level change would change only the price, the level and the
        breaker's bookkeeping (no trip): the sample is kept aside. False: decide it."""
        if not self._in_order(ts):
            return False
        risk = state.risk
        if risk.breaker is not BreakerState.ACTIVE:
            self._stale = True  # a clearance empties the book's window: rebuild after it
            return False
        if self._stale:
            self._rebuild(risk)
        if self.params.drawdown_ppm and self._draws_down(state, price):
            return False
        return not self._span or self._window_calm(price, ts)

    def _draws_down(self, state: GridState, price: int) -> bool:
        """The drawdown trigger at ``price``; when it stays calm, the mark rises as it would."""
        equity = state.quote_atoms + state.base_steps * price * FEE_SCALE
        high_water = max(self._high_water, equity)
        if drawdown_of(high_water, equity) >= self.params.drawdown_ppm:
            return True
        if high_water != self._high_water:
            self._high_water, self._high_water_moved = high_water, True
        return False

    def _window_calm(self, price: int, ts: int) -> bool:
        """The fast-move trigger at ``price`` against the window; when it stays calm, the sample
        joins the sliding extremes (``_push``, written out: this runs per level change) and the
        pending list."""
        horizon = ts - self._span
        highs, lows, pending = self._highs, self._lows, self._pending
        while highs and highs[0][0] < horizon:
            highs.popleft()
        while lows and lows[0][0] < horizon:
            lows.popleft()
        if highs and move_ppm(lows[0][1], highs[0][1], price) >= self.params.fast_move_ppm:
            return False
        while highs and highs[-1][1] <= price:
            highs.pop()
        highs.append((ts, price))
        while lows and lows[-1][1] >= price:
            lows.pop()
        lows.append((ts, price))
        while pending and pending[0][0] < horizon:
            pending.popleft()  # outside this window, so outside every later one
        pending.append((ts, price))
        return True

    def decided(self, state: GridState, price_sample: Sample | None) -> GridState:
        """After a decision: the book's breaker is the truth again; returns the book to keep.

        ``price_sample`` is the decided level change's sample (the breaker added it to its
        window), if there was one. A decision that left the breaker tripped gets the window
        caught up at once: what comes next (a clearance empties it) must see it whole.
        """
        risk = state.risk
        self._high_water, self._high_water_moved = risk.high_water_atoms, False
        sample = price_sample
        if sample is not None and self._in_order(sample[0]) and self._span and not self._stale:
            self._push(*sample)
        if risk.breaker is not BreakerState.ACTIVE:
            self._stale = True
            if self._pending:
                state = evolve(state, risk=self.catch_up(risk, with_window=True))
        return state

    def catch_up(self, risk: RiskState, *, with_window: bool) -> RiskState:
        """``risk`` as the decisions skipped so far would have left it: the high-water mark
        always, the window ``with_window`` (before a price is decided, and at the end)."""
        changes: dict[str, object] = {}
        if self._high_water_moved:
            self._high_water_moved = False
            changes["high_water_atoms"] = self._high_water
        pending = self._pending
        if with_window and pending:
            # Each skipped check_price kept the samples inside its horizon and added its own;
            # with timestamps in order, the last horizon is the one that counts.
            key = (pending[-1][0] - self._span,)
            window = risk.window
            changes["window"] = window[bisect_left(window, key) :] + tuple(pending)
            pending.clear()
        return evolve(risk, **changes) if changes else risk

    def _in_order(self, ts: int) -> bool:
        """False from the first level change whose timestamp goes back: the watch is off."""
        if self.is_on:
            if self._last_ts is not None and ts < self._last_ts:
                self.is_on = False  # the window's order is no longer the prints' order
            else:
                self._last_ts = ts
        return self.is_on

    def _push(self, ts: int, price: int) -> None:
        highs, lows = self._highs, self._lows
        while highs and highs[-1][1] <= price:
            highs.pop()
        highs.append((ts, price))
        while lows and lows[-1][1] >= price:
            lows.pop()
        lows.append((ts, price))

    def _rebuild(self, risk: RiskState) -> None:
        self._stale = False
        self._highs.clear()
        self._lows.clear()
        if self._span:
            for ts, price in risk.window:
                self._push(ts, price)
        self._high_water = risk.high_water_atoms
