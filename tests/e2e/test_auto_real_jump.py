"""`--exercise auto` on real jumps (clips of benchmarks/real_clips/manifest.json, restored into the
user cache by benchmarks/real_clips/restore.py; skipped when absent), with the real pose model: one
or two landings after the whole body left the floor are too few to call it hopping, and "unsure",
not the squat the squat counter takes a jump's countermovement for."""

from __future__ import annotations

from tests.conftest import cached_real_clip, load_summary


def test_auto_does_not_call_a_single_jump_a_squat(analyzed):
    s = load_summary(analyzed(cached_real_clip("cmj_front_jhc_01.mp4"), "auto"))
    detected = s["exercise_detected"]
    assert detected["name"] == "unsure" and "a jump, not a squat" in detected["reasons"][0], detected


def test_auto_does_not_call_jump_squats_squats(analyzed):
    """Two jump squats filmed at 20 fps, flying low (the top of the flight falls between frames):
    their bends look like squats, and a landing among them makes it unsure."""
    s = load_summary(analyzed(cached_real_clip("jumpsquat_inout_front_spotter_01.mp4"), "auto"))
    detected = s["exercise_detected"]
    assert detected["name"] == "unsure" and "jumps among the reps" in detected["reasons"][-1], detected
