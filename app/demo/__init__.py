"""Synthetic demonstration data for `flask demo seed` (SPEC §14).

`names` draws Chinese names, `founders` draws founder rows (valid ID numbers, phones, target
groups), `training` lays out institutions, cohorts and results, and `seed` writes them with
batched inserts and creates the demo accounts. Nothing here runs in production.
"""
