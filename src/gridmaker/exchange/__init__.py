"""Venues behind one protocol: the simulated exchange, real ones through ccxt, fault wrappers."""
