"""Measurement: KPI figures per region and the monthly snapshots behind trend charts."""
