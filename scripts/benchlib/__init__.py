"""The pieces of `scripts/bench`: database preparation, the measurements (each run in its own
process), the hand-written SQL the app is compared with, and the results table."""
