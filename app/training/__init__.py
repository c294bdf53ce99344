"""Entrepreneurship and skills training: institutions, courses, cohorts, results (SPEC §6)."""
