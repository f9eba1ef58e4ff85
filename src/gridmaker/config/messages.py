"""Pydantic's validation errors in the user's words: ``markets[0].grid.spacing: must be ...;
was '-5'``, an unknown key with the close one and the allowed ones, a secret never echoed."""

from __future__ import annotations

import difflib
import re
import types
import typing
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Final

from pydantic import BaseModel, ValidationError

from gridmaker.config.errors import MAX_SHOWN, problem_text
from gridmaker.config.models import Config
from gridmaker.config.values import plain, show

__all__ = ["format_error"]

_SECRET: Final = re.compile(r"api.?key|secret|password|passphrase|private.?key|token", re.I)
_KEYS_HINT: Final = (
    "API keys and secrets never go in the config (the value is not shown): set "
    "GRIDMAKER_API_KEY and GRIDMAKER_API_SECRET in the environment instead (e.g. exported from a "
    "file only you can read)"
)


def _where(loc: tuple[int | str, ...]) -> str:
    """``('markets', 0, 'grid', 'spacing')`` → ``markets[0].grid.spacing``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part == "[key]":
            text += " (the key)"
        else:
            text += f".{part}" if text else str(part)
    return text


def _unwrap(annotation: Any) -> Any:
    """The model or container inside ``X | None`` and ``Annotated[X, ...]``."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            inner = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(inner) != 1:
                return annotation
            annotation = inner[0]
        else:
            return annotation


def _keys_at(loc: tuple[int | str, ...]) -> list[str]:
    """The keys a mapping at ``loc`` takes (its model's fields), [] when not a model."""
    annotation: Any = Config
    for part in loc:
        annotation = _unwrap(annotation)
        origin = typing.get_origin(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(part) if isinstance(part, str) else None
            if field is None:
                return []
            annotation = field.annotation
        elif origin is list and isinstance(part, int):
            annotation = typing.get_args(annotation)[0]
        elif origin is dict:
            annotation = typing.get_args(annotation)[1]
        else:
            return []
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return list(annotation.model_fields)
    return []


_SAYS: Final = {
    "missing": "is required",
    "model_type": "must be a mapping (indented key: value lines)",
    "dict_type": "must be a mapping (indented key: value lines)",
    "model_attributes_type": "must be a mapping (indented key: value lines)",
    "list_type": "must be a list (lines starting with '- ')",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "int_parsing_size": "must be a whole number of at most 19 digits",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "string_type": "must be text",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "finite_number": "must be a finite number",
    "decimal_type": "must be a decimal number like '0.001'",
    "decimal_parsing": "must be a decimal number like '0.001'",
    "path_type": "must be a file path",
}


def _says(item: Any) -> str:
    """A pydantic error item as ``must be ...`` (pydantic's own words when we have none)."""
    kind, ctx = item["type"], item.get("ctx") or {}

    def shown(key: str) -> str:
        value = ctx.get(key)
        return plain(value) if isinstance(value, Decimal) else str(value)

    comparisons = {
        "greater_than": ">",
        "greater_than_equal": ">=",
        "less_than": "<",
        "less_than_equal": "<=",
    }
    if kind in comparisons:
        key = {"greater_than": "gt", "greater_than_equal": "ge"}.get(kind)
        key = key or {"less_than": "lt", "less_than_equal": "le"}[kind]
        return f"must be {comparisons[kind]} {shown(key)}"
    if kind in ("enum", "literal_error"):
        return f"must be one of {shown('expected')}"
    if kind == "string_pattern_mismatch":
        return f"must match the pattern {shown('pattern')}"
    if kind == "too_short":
        return f"must have at least {shown('min_length')} item(s)"
    if kind == "too_long":
        return f"must have at most {shown('max_length')} items"
    return _SAYS.get(kind) or str(item["msg"])


def _item_text(item: Any) -> str:
    loc = tuple(item["loc"])
    where = _where(loc)
    secret = any(isinstance(p, str) and _SECRET.search(p) for p in loc)
    if item["type"] == "extra_forbidden":
        if secret:
            message = f"unknown key: {_KEYS_HINT}"
        else:
            keys = _keys_at(loc[:-1])
            close = difflib.get_close_matches(str(loc[-1]), keys, n=1)
            message = "unknown key"
            if close:
                message += f" (did you mean {close[0]!r}?)"
            if keys:
                message += f"; allowed here: {', '.join(keys)}"
    elif item["type"] == "value_error":
        message = str(item["msg"]).removeprefix("Value error, ")
        if secret:
            message = message.split("; was ")[0] + "; was (not shown)"
    else:
        message = _says(item)
        if item["type"] != "missing":
            message += "; was (not shown)" if secret else f"; was {show(_typed(item))}"
    return f"{where}: {message}" if where else message


def _typed(item: Any) -> object:
    """The input of a failed comparison as the number it was read as (``-5``, not ``'-5'``)."""
    value = item.get("input")
    if isinstance(value, str) and item["type"] in _COMPARED:
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            return value
        return number if number.is_finite() else value
    return value


_COMPARED: Final = ("greater_than", "greater_than_equal", "less_than", "less_than_equal")


def format_error(error: ValidationError, source: str) -> str:
    """Pydantic's errors as ours: each names the field, what is allowed and the value typed."""
    items = error.errors(include_url=False)
    shown = [_item_text(item) for item in items[:MAX_SHOWN]]
    return problem_text(source, shown + ["(not shown)"] * (len(items) - len(shown)))
