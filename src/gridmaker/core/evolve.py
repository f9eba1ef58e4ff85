"""``evolve``: a copy of a frozen, slotted dataclass with some fields changed, made fast.

``dataclasses.replace`` re-runs ``__init__`` through a generic field loop; ``decide`` makes a
handful of copies per event, so on the hot path it dominated. Per class and per set of changed
field names (a call site asks for the same names every time) we build, once, a function that
copies every slot straight through the slot descriptors, with no per-field test of whether it
changed. Only for dataclasses without ``__post_init__`` (there is nothing to re-validate).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["evolve"]

T = TypeVar("T")
_Copier = Callable[..., Any]
_COPIERS: dict[tuple[type, tuple[str, ...]], _Copier] = {}


def _copier(cls: type, changed: tuple[str, ...]) -> _Copier:
    names: tuple[str, ...] = cls.__slots__  # type: ignore[attr-defined]
    unknown = set(changed) - set(names)
    if unknown:
        raise TypeError(f"{cls.__name__} has no field {unknown}")
    namespace: dict[str, Any] = {"new": object.__new__, "cls": cls}
    params = [f"v{i}" for i in range(len(changed))]
    lines = [f"def copy(obj, {', '.join(params)}):", "    out = new(cls)"]
    for i, name in enumerate(names):
        namespace[f"d{i}"] = getattr(cls, name).__set__
        value = f"v{changed.index(name)}" if name in changed else f"obj.{name}"
        lines.append(f"    d{i}(out, {value})")
    lines.append("    return out")
    # Generated from the class's own slot names, as dataclasses itself generates __init__.
    exec("\n".join(lines), namespace)
    copier: _Copier = namespace["copy"]
    return copier


def evolve(obj: T, **changes: Any) -> T:
    key = (type(obj), tuple(changes))
    copier = _COPIERS.get(key)
    if copier is None:
        copier = _COPIERS[key] = _copier(*key)
    result: T = copier(obj, *changes.values())
    return result
