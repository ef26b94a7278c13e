"""Helpers shared by the pipeline benchmarks; not benchmarks themselves (`make bench` runs
only the files directly under bench/)."""
