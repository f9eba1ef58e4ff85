"""What ``gridmaker fleet`` reads before it opens the database: names, grid configs, and
fleet files (``fleet apply FILE``).

A fleet file is YAML::

    grids:
      - name: g01
        account: main        # optional, default "default"
        config: grids/g01.yaml   # relative to the fleet file

Every entry (its name, account and config, checked as ``fleet add`` checks them) is read
before the database is opened, and every name is checked against the fleet before anything
is written; then the new grids are added (and, with ``--prune``, the grids the file no longer
names are removed) in one transaction. A grid the fleet has with another config or account
is reported, not changed: a running grid's config changes by ``gridmaker reconfigure``, or
by removing it and adding it under a new name.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from gridmaker.cli.common import EXIT_CONFIG, fail

if TYPE_CHECKING:
    from gridmaker.config import Config

__all__ = ["FleetEntry", "check_fleet_config", "check_name", "config_text", "read_fleet_file"]

_KEYS: Final = ("name", "account", "config")


@dataclass(frozen=True, slots=True)
class FleetEntry:
    name: str
    account: str
    config_path: Path
    config: str
    """The config file's text, as given (what the fleet stores)."""


def check_name(value: str, what: str) -> str:
    """A grid or account name as a store namespace takes it; exit 2 otherwise."""
    from gridmaker.fleet.registry import NAME_RULE

    if not NAME_RULE.match(value):
        raise fail(
            EXIT_CONFIG,
            f"{what} must be 1 to 63 letters, digits, '_', '.' or '-' (first a letter or "
            f"digit); was {value!r}",
        )
    return value


def check_fleet_config(config: Config, path: Path) -> str | None:
    """Why ``config`` cannot be a fleet grid's (``None``: it can): it must trade on a venue
    outside the worker, which every worker reaches and which outlives them."""
    if config.exchange == "sim":
        return (
            f"{path}: a fleet grid must trade on a venue outside the worker, not the built-in "
            "exchange (exchange: sim); run `gridmaker sim-exchange` and point the config at "
            "it (exchange: binance, venue: base_url: http://127.0.0.1:PORT), or name a real venue"
        )
    if config.engine != "simple":
        return (
            f"{path}: engine must be simple for a fleet grid (the fleet's DBOS assigns grids; "
            f"each runs the simple engine on the PostgreSQL journal); was {config.engine!r}"
        )
    return None


def config_text(path: Path) -> str:
    """``path``'s config, checked by the normal loader and as a fleet grid's; its text."""
    from gridmaker.cli.common import load_config

    config = load_config(path)
    if (why := check_fleet_config(config, path)) is not None:
        raise fail(EXIT_CONFIG, why)
    return path.read_text(encoding="utf-8")


def _load(path: Path) -> Any:
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise fail(EXIT_CONFIG, f"fleet file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as e:
        raise fail(EXIT_CONFIG, f"cannot read fleet file {path}: {e}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise fail(EXIT_CONFIG, f"fleet file {path} is not valid YAML: {e}") from None


def _entry(raw: Any, where: str, base: Path) -> FleetEntry:
    """One ``grids:`` item, checked as ``fleet add`` checks its arguments and config."""
    from gridmaker.config import ConfigError, load_config

    if not isinstance(raw, dict):
        raise fail(EXIT_CONFIG, f"{where} must be a mapping with name: and config:; was {raw!r}")
    if unknown := sorted(str(k) for k in raw if k not in _KEYS):
        raise fail(EXIT_CONFIG, f"{where}: unknown key {', '.join(unknown)} (allowed: {_KEYS})")
    name, account, config = raw.get("name"), raw.get("account", "default"), raw.get("config")
    for key, value in (("name", name), ("account", account), ("config", config)):
        if not isinstance(value, str) or not value.strip():
            raise fail(EXIT_CONFIG, f"{where}.{key} must be a non-empty string; was {value!r}")
    assert isinstance(name, str) and isinstance(account, str) and isinstance(config, str)
    check_name(name, f"{where}.name")
    check_name(account, f"{where}.account")
    path = Path(config).expanduser()
    path = path if path.is_absolute() else base / path
    try:
        loaded = load_config(path)
    except ConfigError as e:
        raise fail(EXIT_CONFIG, f"{where} ({name}): {e}") from None
    if (why := check_fleet_config(loaded, path)) is not None:
        raise fail(EXIT_CONFIG, f"{where} ({name}): {why}")
    return FleetEntry(name, account, path, path.read_text(encoding="utf-8"))


def read_fleet_file(path: Path) -> list[FleetEntry]:
    """Every entry of the fleet file at ``path``, checked; exit 2 at the first mistake."""
    raw = _load(path)
    if not isinstance(raw, dict) or set(raw) != {"grids"} or not isinstance(raw["grids"], list):
        raise fail(
            EXIT_CONFIG,
            f"fleet file {path} must be a mapping with one key, grids: a list of "
            "{name, account?, config}",
        )
    entries: list[FleetEntry] = []
    seen: set[str] = set()
    for i, item in enumerate(raw["grids"]):
        entry = _entry(item, f"{path}: grids[{i}]", path.parent)
        if entry.name in seen:
            raise fail(EXIT_CONFIG, f"{path}: grids[{i}]: the name {entry.name!r} is given twice")
        seen.add(entry.name)
        entries.append(entry)
    return entries
