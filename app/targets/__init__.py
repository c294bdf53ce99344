"""Annual targets per region, split from a province to its cities, and progress (SPEC §13)."""
