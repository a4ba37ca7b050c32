"""Real lateral lunges from a one-leg balance (`lateral_lunge_front_darebee_man_01.mp4` of
benchmarks/real_clips/manifest.json, restored into the user cache by benchmarks/real_clips/restore.py;
skipped when absent), with the real pose model: before each lunge the left knee is raised to hip
height, its foot off the floor, which shortens that leg in the image as much as the lunge. The
side-lunge tracker counts the two complete lunges only, on the left leg, at their bottoms."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import cached_real_clip, load_summary

# The manifest's bottoms, labelled by eye to +/- 5 frames (the middle of a held bottom); the
# tracker's is the deepest frame of its depth signal, measured 6-7 frames earlier.
LABELLED_BOTTOMS = (80, 188)


@pytest.fixture(scope="module")
def balance_side_lunges() -> Path:
    return cached_real_clip("lateral_lunge_front_darebee_man_01.mp4")


def test_side_lunge_counts_the_lunges_not_the_knee_raises(analyzed, balance_side_lunges):
    s = load_summary(analyzed(balance_side_lunges, "side-lunge"))
    assert s["rep_count"] == 2, [r["bottom_frame"] for r in s["reps"]]
    assert [r["legs"] for r in s["reps"]] == [["left"], ["left"]]
    for rep, bottom in zip(s["reps"], LABELLED_BOTTOMS):
        assert abs(rep["bottom_frame"] - bottom) <= 10, (rep["bottom_frame"], bottom)
