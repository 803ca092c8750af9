"""Orchestration: the plain CLI demo flow and the Dagster code location."""
