"""Benchmarks of SPEC §7: `python -m bench` (see the README's Performance section)."""
