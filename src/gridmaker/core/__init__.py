"""The pure core: integer ticks, grid levels, slots, ids, decisions. Stdlib only, no I/O."""
