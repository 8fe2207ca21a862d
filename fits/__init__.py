"""Polynomial-fit training loops: pure numpy/torch code, imported by workers (and, via catalog, the API)."""
