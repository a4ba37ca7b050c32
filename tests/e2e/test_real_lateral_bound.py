"""Real lateral bounds to a single-leg catch (`lateral_bound_front_myfitcal_man_01.mp4` of
benchmarks/real_clips/manifest.json, restored into the user cache by benchmarks/real_clips/restore.py;
skipped when absent), with the real pose model: four pushes from side to side, each landing on
the leading leg alone and held there, the free knee raised. `--exercise auto` names them side
pushes (the single-leg bends travel sideways, alternating), not single-leg squats, and the free
foot swung in and out during a catch is no push."""

from __future__ import annotations

from tests.conftest import cached_real_clip, load_summary

# The manifest's labels, by eye: the frame the leading foot leaves the floor, and the pushing
# (trailing) leg, the person's own side.
LEAD_FOOT_OFF = (41, 108, 151, 199)
PUSHING = (["left"], ["right"], ["left"], ["right"])


def test_auto_names_lateral_bounds_side_pushes_and_counts_each_push_once(analyzed):
    s = load_summary(analyzed(cached_real_clip("lateral_bound_front_myfitcal_man_01.mp4"), "auto"))
    assert s["exercise_detected"]["name"] == "side-push", s["exercise_detected"]
    reps = s["reps"]
    assert [r["legs"] for r in reps] == list(PUSHING), [(r["start_frame"], r["legs"]) for r in reps]
    for rep, off in zip(reps, LEAD_FOOT_OFF):
        # push-off: the last frame the feet were still before they opened, before the foot leaves
        assert off - 10 <= rep["start_frame"] <= off, (rep["start_frame"], off)
