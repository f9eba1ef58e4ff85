"""The seeded quote feed both sides of ``backtest_vs_nautilus.py`` replay.

A mean-reverting Gaussian walk in integer price ticks of BTCUSDT (tick 0.01): the bid starts at
50,000.00 and the ask is always one tick above it. Mean reversion keeps the price inside the
grid (stationary standard deviation 25,000 ticks = 5 grid levels), so both scenarios keep
trading for the whole run; ``calm`` moves σ = 100 ticks a quote, ``choppy`` σ = 1,000.

Both sides receive the same list of integers, so neither can see a quote the other does not.
With the default seed the walk equals the one behind the published NautilusTrader figures
(411 orders / 371 fills on ``calm``, 32,141 / 32,101 on ``choppy``, 1,000,000 quotes). Needs
numpy (``pip install -e '.[bench]'``) for its seeded Gaussian draws.
"""

from __future__ import annotations

N_QUOTES = 1_000_000
START_TICKS = 5_000_000
"""50,000.00 USDT in 0.01 ticks: the first bid and the grid's anchor."""
SPACING_TICKS = 5_000
"""0.1 % of the start price between grid levels."""
LEVELS = 20
"""Buy levels below and sell levels above the start."""
QTY_STEPS = 100
"""0.001 BTC per order in steps of 0.00001 BTC."""
SEED = 42
STATIONARY_STD_TICKS = 25_000.0
SIGMA_TICKS = {"calm": 100.0, "choppy": 1_000.0}
"""Standard deviation of one quote's Gaussian step, per scenario."""
_CHUNK = 65_536


def make_walk(scenario: str, n: int = N_QUOTES, seed: int = SEED) -> list[int]:
    """Return ``n`` bids in ticks: ``y ← (1 − θ)·y + ε`` with ``ε ~ N(0, σ²)``, rounded per quote.

    ``θ = σ² / (2·25,000²)`` makes the stationary spread 25,000 ticks. Rounding is half to even
    and only applied to the output; the walk itself carries the unrounded deviation.
    """
    import numpy as np  # only here: importing this module must not need numpy

    sigma = SIGMA_TICKS[scenario]
    if n < 1:
        raise ValueError(f"n must be a positive number of quotes; was {n}")
    keep = 1.0 - sigma * sigma / (2.0 * STATIONARY_STD_TICKS * STATIONARY_STD_TICKS)
    draws = np.random.default_rng(seed).standard_normal(n)
    bids: list[int] = []
    append = bids.append
    deviation = 0.0
    for begin in range(0, n, _CHUNK):  # a million Python floats at once would show in peak RSS
        steps: list[float] = (draws[begin : begin + _CHUNK] * sigma).tolist()
        for step in steps:
            deviation = keep * deviation + step
            append(START_TICKS + round(deviation))
    return bids
