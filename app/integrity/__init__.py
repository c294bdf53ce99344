"""Integrity (credit) records of borrowers (SPEC §10)."""
