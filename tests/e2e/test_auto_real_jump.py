"""`--exercise auto` on the real countermovement jump (`cmj_front_jhc_01.mp4` of
benchmarks/real_clips/manifest.json, restored into the user cache by benchmarks/real_clips/restore.py;
skipped when absent), with the real pose model: one landing after the whole body flew 0.30 body
lengths is a jump, too few landings to call it hopping, so "unsure". Before, its countermovement
was counted as one squat."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import load_summary


def test_auto_does_not_call_a_single_jump_a_squat(analyzed):
    from platformdirs import user_cache_dir

    clip = Path(user_cache_dir("formcheck")) / "real_clips" / "cmj_front_jhc_01.mp4"
    if not clip.is_file():
        pytest.skip(f"{clip.name} is not in the cache (benchmarks/real_clips/restore.py puts it there)")
    s = load_summary(analyzed(clip, "auto"))
    detected = s["exercise_detected"]
    assert detected["name"] == "unsure" and "a jump, not a squat" in detected["reasons"][0], detected
