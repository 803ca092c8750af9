"""Benchmarks: `make bench` runs every stage and writes bench/results/latest.json."""
