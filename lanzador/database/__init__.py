"""The Lanzador's own SQL: inventory sync, robots, the selection (both dialects side by side)."""
