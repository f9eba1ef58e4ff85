"""gridmaker: a crash-safe grid-trading market maker."""

__all__ = ["__version__"]

__version__ = "0.1.0"
