"""``ConfigError``, the one exception a config mistake raises, and how its problems are listed.

Every message names the field, the value and what is allowed; a config full of junk shows its
first ``MAX_SHOWN`` problems and counts the rest, so the terminal is never flooded.
"""

from __future__ import annotations

from typing import Final

__all__ = ["MAX_SHOWN", "ConfigError", "Problems", "problem_text"]

MAX_SHOWN: Final = 10
"""Problems listed in one error; the rest are counted (junk must not flood the terminal)."""
MAX_LINE: Final = 600


class ConfigError(Exception):
    """The configuration is invalid; the message names the field and what is allowed."""


class Problems(ConfigError):
    """Several problems found after the fields were valid (the config's rules do not agree)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def problem_text(source: str, problems: list[str]) -> str:
    """``invalid config in SOURCE:`` and the first ``MAX_SHOWN`` problems, the rest counted."""
    lines = [f"invalid config in {source}:"]
    for problem in problems[:MAX_SHOWN]:
        lines.append("  " + (problem if len(problem) <= MAX_LINE else problem[:MAX_LINE] + "..."))
    if len(problems) > MAX_SHOWN:
        lines.append(f"  ... and {len(problems) - MAX_SHOWN} more problems")
    return "\n".join(lines)
