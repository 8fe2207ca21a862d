"""Benchmarks: scripts that print tables, run as `python -m bench.NAME`; they assert nothing."""
