"""Many grids on many machines: a fleet of workers sharing one PostgreSQL.

Grids are declared in the database (``registry``), assigned to workers by DBOS (``worker``),
and fenced by an epoch per grid (``leases``; the store checks it in every write,
``store/pg_fence.py``). ``docs/adr/0009-fleet-ownership-by-epoch.md`` gives the reasoning.
"""
