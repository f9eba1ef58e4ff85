"""A config written to a file and loaded, as a user's would be, for the config tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from gridmaker.config import Config, ConfigError, load_config


def load(tmp_path: Path, text: str | bytes, **overrides: object) -> Config:
    path = tmp_path / "c.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return load_config(path, overrides or None)


def refusal(tmp_path: Path, text: str | bytes, **overrides: object) -> str:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text, **overrides)
    return " ".join(str(caught.value).split())


def market(body: str) -> str:
    """A config of one market whose settings are ``body`` (lines indented under ``- ``)."""
    return "markets:\n  - symbol: BTC/USDT\n" + "".join(
        f"    {line}\n" for line in body.splitlines()
    )
