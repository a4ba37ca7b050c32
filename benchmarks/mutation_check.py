"""Shows that tests/e2e/test_accuracy_baseline.py is not a smoke test: it fails on real regressions.

    python benchmarks/mutation_check.py [no-smoothing|fppa-sign|none]

Patches one deliberate regression into the running process, then runs the golden-baseline test
in-process (the clips go through the pipeline in this same process, so the patch applies):

- `no-smoothing`: the report pass's zero-phase filter becomes the identity;
- `fppa-sign`: formcheck.core.geometry.fppa_deg returns the opposite sign;
- `none`: no patch (the test should pass).

Exit code: pytest's (0 = passed, 1 = some test failed). A mutation that leaves the test passing
would mean the baseline test has gone blind to it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def patch(which: str) -> None:
    if which == "no-smoothing":
        import formcheck.pipeline.report_frames as report_frames

        report_frames.zero_phase_lowpass = lambda t, x, *a, **k: x
    elif which == "fppa-sign":
        import formcheck.core.geometry as geometry

        original = geometry.fppa_deg
        geometry.fppa_deg = lambda *a, **k: -original(*a, **k)
    elif which != "none":
        raise SystemExit(f"unknown mutation {which!r}: no-smoothing, fppa-sign or none")


if __name__ == "__main__":
    which = sys.argv[1] if len(sys.argv) > 1 else "none"
    patch(which)
    sys.exit(pytest.main(["-q", "-p", "no:cacheprovider", "--rootdir", str(REPO), str(REPO / "tests" / "test_accuracy_baseline.py")]))
