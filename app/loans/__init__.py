"""Guaranteed microloans: policies, applications, schedules, repayments, the fund (SPEC §9)."""
