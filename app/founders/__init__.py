"""The real-name register of founders (SPEC §5)."""
