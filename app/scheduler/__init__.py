"""The one scheduler process: job registry, runner with catch-up, and the database lease
that keeps a second scheduler waiting as a standby (SPEC §12)."""
