"""Incubation bases and the businesses they host (SPEC §8)."""
