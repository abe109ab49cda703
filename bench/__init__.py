"""Benchmarks of SPEC §7: `python -m bench` (see docs/performance.md)."""
