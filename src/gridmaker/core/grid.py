"""Grid levels: integer level indices and their prices in ticks.

Level 0 sits at ``anchor_ticks``; level ``n`` is ``anchor + n * spacing`` (arithmetic) or
``anchor * ratio**n`` rounded half-even to the tick (geometric). A bounded grid allows only the
levels in ``[min_level, max_level]``; an unbounded one (trailing mode) allows any level whose
price stays positive and strictly above the level below it.
"""

from __future__ import annotations

import decimal
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from typing import Final

from gridmaker.core.errors import InvalidGrid
from gridmaker.core.units import Ticks

__all__ = ["GridKind", "GridSpec", "GridTemplate"]

_CTX: Final = decimal.Context(prec=40, rounding=decimal.ROUND_HALF_EVEN)


class GridKind(StrEnum):
    ARITHMETIC = "arithmetic"
    GEOMETRIC = "geometric"


@lru_cache(maxsize=65536)
def _geometric_price(anchor: int, ratio: Decimal, level: int) -> int:
    value = _CTX.multiply(Decimal(anchor), _CTX.power(ratio, level))
    return int(value.to_integral_value(rounding=decimal.ROUND_HALF_EVEN, context=_CTX))


@dataclass(frozen=True, slots=True, kw_only=True)
class GridSpec:
    kind: GridKind
    anchor_ticks: int
    spacing_ticks: int = 0
    ratio: Decimal = Decimal(0)
    min_level: int | None = None
    max_level: int | None = None

    def __post_init__(self) -> None:
        if self.anchor_ticks <= 0:
            raise InvalidGrid(f"anchor price must be > 0 ticks, was {self.anchor_ticks}")
        if self.kind is GridKind.ARITHMETIC and self.spacing_ticks < 1:
            raise InvalidGrid(f"spacing must be >= 1 tick, was {self.spacing_ticks}")
        if self.kind is GridKind.GEOMETRIC and not self.ratio > 1:
            raise InvalidGrid(f"geometric ratio must be > 1, was {self.ratio}")
        if (self.min_level is None) != (self.max_level is None):
            raise InvalidGrid("a bounded grid needs both min_level and max_level")
        if self.min_level is not None and self.max_level is not None:
            if self.min_level > self.max_level:
                raise InvalidGrid(
                    f"min_level must be <= max_level, was {self.min_level} > {self.max_level}"
                )
            # Validate every level of a bounded grid once, up front.
            for level in (self.min_level, self.max_level):
                self.price_ticks(level)

    @property
    def is_bounded(self) -> bool:
        return self.min_level is not None

    def has_level(self, level: int) -> bool:
        """True when ``level`` belongs to the grid (in range and with a valid price)."""
        if self.min_level is not None and self.max_level is not None:
            return self.min_level <= level <= self.max_level
        try:
            self.price_ticks(level)
        except InvalidGrid:
            return False
        return True

    def price_ticks(self, level: int) -> Ticks:
        """The price of ``level``; raises ``InvalidGrid`` when the level has no valid price."""
        if self.kind is GridKind.ARITHMETIC:
            price = self.anchor_ticks + level * self.spacing_ticks
            if price <= 0:
                raise InvalidGrid(f"level {level} has a price of {price} ticks; must be > 0")
            return Ticks(price)
        price = _geometric_price(self.anchor_ticks, self.ratio, level)
        below = _geometric_price(self.anchor_ticks, self.ratio, level - 1)
        if below <= 0 or price <= below:
            raise InvalidGrid(
                f"level {level} is not above level {level - 1} at this tick size "
                f"({below} -> {price} ticks); widen the ratio or narrow the range"
            )
        return Ticks(price)

    def level_at_or_below(self, price_ticks: int) -> int:
        """The highest level whose price is <= ``price_ticks`` (bounds not applied)."""
        if self.kind is GridKind.ARITHMETIC:
            return (price_ticks - self.anchor_ticks) // self.spacing_ticks
        if price_ticks <= 0:
            raise InvalidGrid(f"price must be > 0 ticks, was {price_ticks}")
        estimate = _CTX.divide(
            _CTX.ln(_CTX.divide(Decimal(price_ticks), Decimal(self.anchor_ticks))),
            _CTX.ln(self.ratio),
        )
        level = int(estimate.to_integral_value(rounding=decimal.ROUND_FLOOR))
        while _geometric_price(self.anchor_ticks, self.ratio, level + 1) <= price_ticks:
            level += 1
        while _geometric_price(self.anchor_ticks, self.ratio, level) > price_ticks:
            level -= 1
        return level


@dataclass(frozen=True, slots=True, kw_only=True)
class GridTemplate:
    """A grid before its anchor is known: built at the first price (``build``).

    Either an explicit range (``lower_ticks``/``upper_ticks``, level 0 at ``lower_ticks``) or
    ``buy_levels`` below and ``sell_levels`` above the first price (level 0 at that price). With
    ``trailing`` the grid is unbounded and the strategy keeps a window around the price engaged.
    """

    kind: GridKind
    spacing_ticks: int = 0
    ratio: Decimal = Decimal(0)
    spacing_ppm: int = 0
    """Spacing relative to the anchor (parts per million) when no absolute spacing is given."""
    lower_ticks: int | None = None
    upper_ticks: int | None = None
    buy_levels: int = 0
    sell_levels: int = 0
    trailing: bool = False

    def _spacing(self, anchor_ticks: int) -> tuple[int, Decimal]:
        if self.kind is GridKind.ARITHMETIC:
            if self.spacing_ticks:
                return self.spacing_ticks, Decimal(0)
            return max(1, anchor_ticks * self.spacing_ppm // 1_000_000), Decimal(0)
        if self.ratio:
            return 0, self.ratio
        return 0, 1 + Decimal(self.spacing_ppm) / 1_000_000

    def levels_that_fit(
        self, price_ticks: int, *, below: int, above: int, max_ticks: int
    ) -> tuple[int, int]:
        """How many of ``below`` levels under a first price of ``price_ticks`` have a valid price
        (> 0, above the level under it), and how many of ``above`` levels over it stay at or below
        ``max_ticks``: so a refusal can say how many levels would fit, not only that some do not.
        """
        spacing, ratio = self._spacing(price_ticks)
        spec = GridSpec(
            kind=self.kind, anchor_ticks=price_ticks, spacing_ticks=spacing, ratio=ratio
        )
        fit_below = _most(below, lambda n: spec.has_level(-n))
        fit_above = _most(above, lambda n: _price_or_zero(spec, n) <= max_ticks)
        return fit_below, fit_above

    def build(self, price_ticks: int) -> GridSpec:
        """The grid for a first price of ``price_ticks``; raises ``InvalidGrid``."""
        if self.trailing:
            spacing, ratio = self._spacing(price_ticks)
            return GridSpec(
                kind=self.kind, anchor_ticks=price_ticks, spacing_ticks=spacing, ratio=ratio
            )
        if self.lower_ticks is not None and self.upper_ticks is not None:
            spacing, ratio = self._spacing(self.lower_ticks)
            unbounded = GridSpec(
                kind=self.kind, anchor_ticks=self.lower_ticks, spacing_ticks=spacing, ratio=ratio
            )
            top = unbounded.level_at_or_below(self.upper_ticks)
            if top < 1:
                raise InvalidGrid(
                    f"range {self.lower_ticks}..{self.upper_ticks} ticks holds fewer than two "
                    "levels at this spacing"
                )
            return replace(unbounded, min_level=0, max_level=top)
        spacing, ratio = self._spacing(price_ticks)
        return GridSpec(
            kind=self.kind,
            anchor_ticks=price_ticks,
            spacing_ticks=spacing,
            ratio=ratio,
            min_level=-self.buy_levels,
            max_level=self.sell_levels,
        )


def _price_or_zero(spec: GridSpec, level: int) -> int:
    """The raw price of ``level`` (0 when it has none), for counting levels under a cap."""
    if spec.kind is GridKind.ARITHMETIC:
        return max(0, spec.anchor_ticks + level * spec.spacing_ticks)
    return max(0, _geometric_price(spec.anchor_ticks, spec.ratio, level))


def _most(limit: int, holds: Callable[[int], bool]) -> int:
    """The largest ``n`` in ``[0, limit]`` for which ``holds`` (true up to some n, false after)."""
    if not holds(0):
        return 0
    low, high = 0, limit
    while low < high:
        middle = (low + high + 1) // 2
        if holds(middle):
            low = middle
        else:
            high = middle - 1
    return low
