"""``evolve``: a copy of a frozen, slotted dataclass with some fields changed, made fast.

``dataclasses.replace`` re-runs ``__init__`` through a generic field loop and costs several
microseconds per call on the book; ``decide`` makes a handful per event, so on the hot path it
dominated. Only for dataclasses without ``__post_init__`` (nothing to re-validate).
"""

from __future__ import annotations

from typing import Any, TypeVar

__all__ = ["evolve"]

T = TypeVar("T")


def evolve(obj: T, **changes: Any) -> T:
    cls = type(obj)
    names: tuple[str, ...] = cls.__slots__  # type: ignore[attr-defined]
    for name in changes:
        if name not in names:
            raise TypeError(f"{cls.__name__} has no field {name!r}")
    new = object.__new__(cls)
    for name in names:
        object.__setattr__(new, name, changes[name] if name in changes else getattr(obj, name))
    return new
