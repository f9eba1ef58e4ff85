"""The control API a running bot serves: reads, operator commands and an event stream."""

from gridmaker.ops.api.app import create_app
from gridmaker.ops.api.stream import EventStream

__all__ = ["EventStream", "create_app"]
