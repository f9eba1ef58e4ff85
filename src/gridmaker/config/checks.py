"""Whether a market can become the core's integer grid on an instrument, tried before anything
starts, so the core's own errors stay programming errors.

For the built-in exchange, whose rules are in the config, every conversion the core will make
(prices to ticks, sizes to steps, quote amounts to atoms, the grid's levels) is tried at load
time (``sim_problems``); a real venue's rules are known only at boot, where ``book_setup`` runs
``market_problems`` against them.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from gridmaker.config.sections import FeedConfig, MarketConfig, SimExchangeConfig
from gridmaker.config.values import multiple, plain
from gridmaker.core.errors import InvalidGrid
from gridmaker.core.grid import GridKind, GridSpec, GridTemplate
from gridmaker.core.units import FEE_SCALE, MAX_STORED, Instrument

__all__ = ["market_problems", "sim_problems"]


def sim_problems(
    markets: Sequence[MarketConfig], sim: SimExchangeConfig, feed: FeedConfig
) -> list[str]:
    """Every conversion the built-in exchange's run will make, tried now (its rules are here).

    Every market's symbol must have rules in ``sim.instruments``: ``Config`` checks that first.
    """
    problems: list[str] = []
    walk = feed.kind == "random-walk"
    for index, market in enumerate(markets):
        inst = sim.instrument(market.symbol)
        rules = f"sim.instruments.{market.symbol}"
        start: int | None = None
        if walk:
            price = feed.start_price
            if not multiple(price, inst.tick_size):
                problems.append(
                    f"feed.start_price: must be a multiple of {rules}.tick_size "
                    f"{plain(inst.tick_size)}; was {plain(price)}"
                )
            else:
                start = inst.to_ticks(price)
                try:
                    feed.random_walk(inst)
                except (TypeError, ValueError) as e:
                    problems.append(f"feed: the random walk on {rules} cannot run: {e}")
        problems += market_problems(market, inst, f"markets[{index}]", rules, start)
        quote = sim.balances.get(inst.quote)
        if quote is not None and not multiple(quote, inst.atom):
            problems.append(
                f"sim.balances.{inst.quote}: must be a multiple of {plain(inst.atom)} (the "
                f"smallest amount {rules} counts: tick_size × step_size / {FEE_SCALE}); "
                f"was {plain(quote)}"
            )
    return list(dict.fromkeys(problems))


def market_problems(
    market: MarketConfig,
    inst: Instrument,
    where: str,
    rules: str,
    start_ticks: int | None = None,
) -> list[str]:
    """Why ``market`` cannot become the core's integer grid on ``inst`` ([] = it can).

    ``where`` names the market (``markets[0]``), ``rules`` the instrument's source; with the
    first price known (``start_ticks``) the grid's levels are built and bounded too.
    """
    problems: list[str] = []
    tick, step = plain(inst.tick_size), plain(inst.step_size)
    at_least_tick = f"must be at least one tick ({rules}.tick_size {tick})"
    qty_steps: int | None = None
    if not multiple(market.order_size, inst.step_size):
        problems.append(
            f"{where}.order_size: must be a multiple of {rules}.step_size {step}; "
            f"was {plain(market.order_size)}"
        )
    else:
        qty_steps = inst.to_steps(market.order_size)
    grid = market.grid
    absolute, ppm = grid.spacing_value()
    spacing_ticks = 0
    if absolute is not None:
        if grid.kind is GridKind.GEOMETRIC:
            problems.append(
                f"{where}.grid.spacing: a geometric grid takes a percent like '0.5%'; "
                f"was {grid.spacing!r}"
            )
        else:
            spacing_ticks = inst.to_ticks(absolute, "ROUND_FLOOR")
            if spacing_ticks < 1:
                problems.append(f"{where}.grid.spacing: {at_least_tick}; was {plain(absolute)}")
    lower = None if grid.lower is None else inst.buy_price_ticks(grid.lower)
    upper = None if grid.upper is None else inst.sell_price_ticks(grid.upper)
    problems += _price_problems(market, inst, where, rules)
    if qty_steps is not None and qty_steps > MAX_STORED:
        problems.append(
            _too_fine(
                f"{where}.order_size", market.order_size, qty_steps, "steps", rules, "step_size"
            )
        )
    if problems or qty_steps is None:
        return problems
    template = GridTemplate(
        kind=grid.kind,
        spacing_ticks=spacing_ticks,
        spacing_ppm=ppm,
        lower_ticks=lower,
        upper_ticks=upper,
        buy_levels=grid.buy_levels,
        sell_levels=grid.sell_levels,
        trailing=grid.trailing,
    )
    trigger = _trigger_ticks(market, inst)
    anchor = lower if lower is not None else (trigger or start_ticks)
    if anchor is None:
        return problems  # the first price is the venue's: the pre-flight checks at boot
    return _grid_problems(market, inst, where, rules, template, anchor, qty_steps)


def _price_problems(market: MarketConfig, inst: Instrument, where: str, rules: str) -> list[str]:
    """Each configured price as at least one tick within the store's integers; the inventory
    limit at least one step; the quote budget in whole atoms."""
    grid, risk = market.grid, market.risk
    prices = {
        f"{where}.grid.lower": (grid.lower, inst.buy_price_ticks),
        f"{where}.grid.upper": (grid.upper, inst.sell_price_ticks),
        f"{where}.risk.stop_loss": (risk.stop_loss, inst.buy_price_ticks),
        f"{where}.risk.take_profit": (risk.take_profit, inst.sell_price_ticks),
    }
    problems: list[str] = []
    for name, (price, convert) in prices.items():
        if price is None:
            continue
        ticks = convert(price)
        if ticks < 1:
            problems.append(
                f"{name}: must be at least one tick ({rules}.tick_size "
                f"{plain(inst.tick_size)}); was {plain(price)}"
            )
        elif ticks > MAX_STORED:
            problems.append(_too_fine(name, price, ticks, "ticks", rules, "tick_size"))
    trigger = market.trigger_price
    if trigger is not None and not multiple(trigger, inst.tick_size):
        problems.append(
            f"{where}.trigger_price: must be a multiple of {rules}.tick_size "
            f"{plain(inst.tick_size)}; was {plain(trigger)}"
        )
    elif trigger is not None and inst.to_ticks(trigger) > MAX_STORED:
        problems.append(
            _too_fine(
                f"{where}.trigger_price",
                trigger,
                inst.to_ticks(trigger),
                "ticks",
                rules,
                "tick_size",
            )
        )
    if risk.inventory_limit is not None and inst.size_steps(risk.inventory_limit) < 1:
        problems.append(
            f"{where}.risk.inventory_limit: must be at least one step ({rules}.step_size "
            f"{plain(inst.step_size)}); was {plain(risk.inventory_limit)}"
        )
    if market.budget_quote is not None and not multiple(market.budget_quote, inst.atom):
        problems.append(
            f"{where}.budget_quote: must be a multiple of {plain(inst.atom)} (the smallest "
            f"amount {rules} counts: tick_size × step_size / {FEE_SCALE}); "
            f"was {plain(market.budget_quote)}"
        )
    return problems


def _trigger_ticks(market: MarketConfig, inst: Instrument) -> int | None:
    """The trigger on the tick (``_price_problems`` checked it), or None without one: a
    triggered grid is built around its trigger, not its first price."""
    if market.trigger_price is None:
        return None
    return inst.to_ticks(market.trigger_price)


def _too_fine(name: str, value: Decimal, units: int, unit: str, rules: str, size: str) -> str:
    return (
        f"{name}: {plain(value)} is {units} {unit} of {rules}.{size}, more than the book's "
        f"64-bit integers hold ({MAX_STORED}); use a coarser {size} or a smaller value"
    )


def _grid_problems(
    market: MarketConfig,
    inst: Instrument,
    where: str,
    rules: str,
    template: GridTemplate,
    anchor: int,
    qty_steps: int,
) -> list[str]:
    """The grid built at its first price ``anchor``: every level > 0 and within the store."""
    grid = market.grid
    bounded = grid.lower is not None
    price = plain(inst.from_ticks(anchor))
    fee_ppm = max(inst.maker_fee_ppm, inst.taker_fee_ppm, 1)
    max_ticks = min(MAX_STORED, MAX_STORED // (qty_steps * fee_ppm))
    spec: GridSpec | None = None
    try:
        spec = template.build(anchor)
        if spec.min_level is None or spec.max_level is None:  # trailing: its first window
            spec = GridSpec(
                kind=spec.kind,
                anchor_ticks=spec.anchor_ticks,
                spacing_ticks=spec.spacing_ticks,
                ratio=spec.ratio,
                min_level=-grid.buy_levels,
                max_level=grid.sell_levels,
            )
    except InvalidGrid as e:
        if bounded:
            return [
                f"{where}.grid: the range {plain(grid.lower or Decimal(0))} .. "
                f"{plain(grid.upper or Decimal(0))} does not hold a grid at spacing "
                f"{grid.spacing!r} on {rules}.tick_size {plain(inst.tick_size)} ({e}); widen the "
                "range or change the spacing"
            ]
        fit, _ = template.levels_that_fit(
            anchor, below=grid.buy_levels, above=grid.sell_levels, max_ticks=max_ticks
        )
        return [
            f"{where}.grid.buy_levels: {grid.buy_levels} {grid.kind.value} levels "
            f"{grid.spacing!r} apart below the first price {price} reach price 0 or fall on "
            f"one tick; the lowest level must stay above zero: at most {fit} fit; "
            f"was {grid.buy_levels}"
        ]
    assert spec.max_level is not None
    if anchor > max_ticks:
        return [
            f"{where}: an order of {plain(market.order_size)} at the first price {price} is "
            f"{_beyond_int64(rules, inst)}; use a coarser tick_size or step_size"
        ]
    top = spec.price_ticks(spec.max_level)
    if top <= max_ticks:
        return []
    if bounded:
        return [
            f"{where}.grid.upper: an order of {plain(market.order_size)} at "
            f"{plain(inst.from_ticks(top))} is {_beyond_int64(rules, inst)}; lower the "
            "range, the order_size or use a coarser tick or step"
        ]
    _, fit = template.levels_that_fit(
        anchor, below=grid.buy_levels, above=grid.sell_levels, max_ticks=max_ticks
    )
    return [
        f"{where}.grid.sell_levels: an order of {plain(market.order_size)} on the highest of "
        f"{grid.sell_levels} levels above the first price {price} is "
        f"{_beyond_int64(rules, inst)}; at most {fit} levels fit; was {grid.sell_levels}"
    ]


def _beyond_int64(rules: str, inst: Instrument) -> str:
    """Why a value does not fit: one wording for every grid check that hits the 64-bit bound."""
    return (
        f"more than the book's 64-bit integers hold ({MAX_STORED} ticks, steps or fee atoms "
        f"at {rules}.tick_size {plain(inst.tick_size)} and step_size {plain(inst.step_size)})"
    )
