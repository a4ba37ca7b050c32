"""`--exercise auto` on the real countermovement jump (`cmj_front_jhc_01.mp4` of
benchmarks/real_clips/manifest.json, restored into the user cache by benchmarks/real_clips/restore.py;
skipped when absent), with the real pose model: one landing after the whole body flew 0.30 body
lengths is a jump, too few landings to call it hopping, so "unsure". Before, its countermovement
was counted as one squat."""

from __future__ import annotations

from tests.conftest import cached_real_clip, load_summary


def test_auto_does_not_call_a_single_jump_a_squat(analyzed):
    s = load_summary(analyzed(cached_real_clip("cmj_front_jhc_01.mp4"), "auto"))
    detected = s["exercise_detected"]
    assert detected["name"] == "unsure" and "a jump, not a squat" in detected["reasons"][0], detected
