"""Benchmarks run by hand against a real local swarm; each writes its own section of BENCHMARKS.md."""
