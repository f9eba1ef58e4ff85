"""Reading a config: the YAML file (UTF-8, each key once, errors with line and column), the
command-line options over it, and one ``Config`` checked from the result, or a ``ConfigError``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from gridmaker.config.errors import ConfigError, Problems, problem_text
from gridmaker.config.messages import format_error
from gridmaker.config.models import Config
from gridmaker.config.values import show

__all__ = ["load_config", "parse_config"]


def parse_config(raw: Any, source: str = "config") -> Config:
    """``raw`` (what a YAML file holds) checked as a ``Config``; raises ``ConfigError``."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(
            f"invalid config in {source}: the top level must be a mapping of settings "
            f"(engine:, markets:, ...); was {show(raw)}"
        )
    try:
        return Config.model_validate(raw)
    except Problems as e:
        raise ConfigError(problem_text(source, e.problems)) from None
    except ValidationError as e:
        raise ConfigError(format_error(e, source)) from None


def load_config(path: Path | None, overrides: Mapping[str, Any] | None = None) -> Config:
    """The config in ``path`` (YAML), or the defaults, with ``overrides`` (command-line
    options: a top-level key, or a section's keys merged into that section) applied before
    it is checked; raises ``ConfigError``."""
    raw = {} if path is None else _read_yaml(path)
    for key, value in (overrides or {}).items():
        section = raw.get(key)
        if isinstance(value, Mapping) and isinstance(section, dict):
            raw[key] = {**section, **value}
        elif isinstance(value, Mapping) and section is not None:
            continue  # the file's section is not a mapping: that is the error to report
        else:
            raw[key] = dict(value) if isinstance(value, Mapping) else value
    if path is None:
        source = "the command-line options" if overrides else "the defaults"
    else:
        source = f"{path} and options" if overrides else str(path)
    return parse_config(raw, source)


class _DuplicateKey(Exception):
    def __init__(self, key: object, first: int, second: int) -> None:
        super().__init__(key, first, second)
        self.key, self.first, self.second = key, first, second


class _StrictLoader(yaml.CSafeLoader):
    """PyYAML's safe loader, refusing a key given twice in one mapping (PyYAML keeps the last:
    a run once doubled its order size that way)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # '<<: *defaults' is overridden by the keys beside it, by design
            key: Any = (
                (key_node.tag, key_node.value)  # a plain key, as written: no need to build it
                if isinstance(key_node, yaml.ScalarNode)
                else self.construct_object(key_node, deep=True)
            )
            line = key_node.start_mark.line + 1
            try:
                first = seen.get(key)
            except TypeError:
                continue  # an unhashable key: the constructor refuses it below
            if first is not None:
                raise _DuplicateKey(key, first, line)
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def _read_yaml(path: Path) -> dict[str, Any]:
    raw = _parse_yaml(_read_text(path), path)
    if raw is None:
        raise ConfigError(
            f"config {path} is empty (or only comments); write '{{}}' for all the defaults, or "
            "leave out --config"
        )
    if not isinstance(raw, dict):
        raise ConfigError(
            f"invalid config in {path}: the top level must be a mapping of settings "
            f"(engine:, markets:, ...); was {show(raw)}"
        )
    return raw


def _read_text(path: Path) -> str:
    try:
        if path.is_dir():
            raise ConfigError(f"config {path} is a directory; --config takes a YAML file")
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except (OSError, ValueError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        raise ConfigError(f"cannot read config {path}: {reason}") from None
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as e:
        raise ConfigError(
            f"config {path} must be UTF-8 YAML text: byte 0x{data[e.start]:02x} at offset "
            f"{e.start} is not UTF-8"
        ) from None


def _parse_yaml(text: str, path: Path) -> Any:
    try:
        return yaml.load(text, Loader=_StrictLoader)  # a safe loader
    except _DuplicateKey as e:
        key = e.key[1] if isinstance(e.key, tuple) else e.key
        raise ConfigError(
            f"config {path}: key {show(key)} appears twice in one mapping (lines {e.first} and "
            f"{e.second}); each key may be given once: remove one"
        ) from None
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        at = "" if mark is None else f" at line {mark.line + 1}, column {mark.column + 1}"
        what = " ".join(p for p in (e.context, e.problem) if p) or "syntax error"
        if mark is not None and text[mark.index : mark.index + 1] == "\t":
            at += " (a tab: YAML indents with spaces only)"
        raise ConfigError(f"config {path} is not valid YAML: {what}{at}") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"config {path} is not valid YAML: {e}") from None
    except RecursionError:
        raise ConfigError(f"config {path} is not valid YAML: nested too deeply") from None
    except ValueError as e:  # a number or date PyYAML cannot build
        raise ConfigError(f"config {path} holds a value YAML cannot read: {e}") from None
