"""``evolve``: a copy of a frozen, slotted dataclass with some fields changed, made fast.

``dataclasses.replace`` re-runs ``__init__`` through a generic field loop; ``decide`` makes a
handful of copies per event, so on the hot path it dominated. Per class we build, once, a
function that copies every slot straight through the slot descriptors. Only for dataclasses
without ``__post_init__`` (there is nothing to re-validate).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["evolve"]

T = TypeVar("T")
_COPIERS: dict[type, Callable[[Any, dict[str, Any]], Any]] = {}


def _copier(cls: type) -> Callable[[Any, dict[str, Any]], Any]:
    names: tuple[str, ...] = cls.__slots__  # type: ignore[attr-defined]
    namespace: dict[str, Any] = {"new": object.__new__, "cls": cls, "names": frozenset(names)}
    lines = ["def copy(obj, changes):"]
    lines.append("    if not names.issuperset(changes):")
    lines.append("        raise TypeError(f'{cls.__name__} has no field {set(changes) - names}')")
    lines.append("    out = new(cls)")
    for i, name in enumerate(names):
        namespace[f"d{i}"] = getattr(cls, name).__set__
        lines.append(f"    d{i}(out, changes[{name!r}] if {name!r} in changes else obj.{name})")
    lines.append("    return out")
    # Generated from the class's own slot names, as dataclasses itself generates __init__.
    exec("\n".join(lines), namespace)
    copier: Callable[[Any, dict[str, Any]], Any] = namespace["copy"]
    return copier


def evolve(obj: T, **changes: Any) -> T:
    cls = type(obj)
    copier = _COPIERS.get(cls)
    if copier is None:
        copier = _COPIERS[cls] = _copier(cls)
    result: T = copier(obj, changes)
    return result
