"""The two-level project resource library: curated projects founders can adopt (SPEC §7)."""
