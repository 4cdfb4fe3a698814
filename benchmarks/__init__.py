"""Reproducible performance measurements (not part of the test run): `python -m benchmarks.NAME`."""
