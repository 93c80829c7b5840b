"""Synthetic classes: the reference, blank, slipped and hostile students that `make demo`, the
tests and the benchmarks grade.
"""
