"""Benchmarks behind `fieldkit bench`."""
