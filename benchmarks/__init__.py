"""Benchmarks (speed, memory, accuracy); the accuracy evaluation is shared with tests/test_accuracy_baseline.py."""
