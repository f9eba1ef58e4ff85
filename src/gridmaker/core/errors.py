"""Errors raised by the pure core.

Every one of them means either bad input at the boundary (``OffTick``, ``InvalidGrid``) or a bug
in our own logic (``IllegalTransition``, ``InvariantViolation``): the shell stops loudly, it never
guesses a way around them.
"""

from __future__ import annotations

__all__ = ["CoreError", "IllegalTransition", "InvalidGrid", "InvariantViolation", "OffTick"]


class CoreError(Exception):
    """Base of every error raised by ``gridmaker.core``."""


class OffTick(CoreError):
    """A price or size is not an exact multiple of the instrument's tick or step."""


class InvalidGrid(CoreError):
    """A grid specification cannot produce distinct, positive, increasing levels."""


class IllegalTransition(CoreError):
    """A slot was asked to make a transition its state machine does not allow (our bug)."""


class InvariantViolation(CoreError):
    """The book broke one of its own invariants (our bug): stop trading."""
