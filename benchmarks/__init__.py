"""Benchmarks: figures for BENCHMARKS.md, never pass/fail tests."""
