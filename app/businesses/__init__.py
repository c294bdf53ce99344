"""Businesses founders open and their status history (SPEC §8)."""
