"""Benchmarks (speed, memory, accuracy); the accuracy evaluation is shared with tests/e2e/test_accuracy_baseline.py."""
