"""Real supine heel slides filmed from the side (`heelslide_side_jurisimo_01.mp4` of
benchmarks/real_clips/manifest.json, restored into the user cache by benchmarks/real_clips/restore.py;
skipped when absent), with the real pose model: knee range of motion counts the one complete
slide on the near (right) leg, the knee drawn well past 90 degrees and straight again, with no
"face the camera" advice; `--exercise auto` sees him lying on his back, not on his side (it used
to name a clamshell), and with one knee bend asks which exercise."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import cached_real_clip, load_summary


@pytest.fixture(scope="module")
def heel_slides() -> Path:
    return cached_real_clip("heelslide_side_jurisimo_01.mp4")


def test_knee_rom_on_real_heel_slides(analyzed, heel_slides):
    s = load_summary(analyzed(heel_slides, "knee-rom"))
    assert s["rep_count"] == 1 and s["reps"][0]["legs"] == ["right"]
    rom = s["reps"][0]["knee_rom"]["right"]
    assert rom["max_flexion_deg"] > 110 and rom["fullest_extension_deg"] < 15, rom
    assert not [w for w in s["warnings"] if "camera" in w], s["warnings"]


def test_auto_tells_lying_on_the_back_from_lying_on_the_side(analyzed, heel_slides):
    detected = load_summary(analyzed(heel_slides, "auto"))["exercise_detected"]
    assert detected["name"] not in ("clamshell", "side-lying-leg-raise"), detected
    assert "lying on the back" in detected["reasons"][0], detected
