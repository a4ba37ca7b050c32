"""`--exercise auto` on sideways steps built from constructed landmarks (pure, fast; the rendered
clips with the real pose model are in tests/e2e/test_auto_steps_synth.py): steps one way then
the other are a band walk, steps that change direction every time side pushes, a mix of the two
is neither, and steps up onto something (a foot well above the other, the pelvis rising) are not
sideways steps at all; single-leg bends are lateral bounds (side pushes) when the body travels
side to side between them, landing on the leading leg."""

from __future__ import annotations

import numpy as np
import pytest

from formcheck.core.landmarks import PoseLandmark as P, Side
from formcheck.core.metrics import compute_metrics
from formcheck.pipeline.exercise_detect import STEP_LIFT
from tests.builders import LegPose, pose_frame
from tests.trackers.test_side_step import FOOT, _editor, _run, walk
from tests.trackers.test_trackers_exercises import run_legs

L, R = Side.LEFT, Side.RIGHT


@pytest.mark.parametrize(("directions", "named"), [
    ([R, R, R, R, L, L, L, L], "band-walk"),
    ([L, L, R, R, L, L, R, R], "band-walk"),
    ([L, R, L, R, L, R], "side-push"),
    ([R, L, R, L, R, L, R, L], "side-push"),
    ([R, R, L, R, L, L, R], "unsure"),  # 4 changes of direction in 6: neither pattern
    ([R, R, R], "unsure"),  # too few steps to tell
])  # fmt: skip
def test_auto_names_sideways_steps_by_their_directions(directions, named):
    dx, flex, _ = walk(directions)
    result = _run("auto", dx, flex)
    assert result.detection is not None and result.detection.name == named, result.detection


def _stepping_up(truth, lift_px: float, edit):
    """Each step's leading foot `lift_px` higher from push-off to the trailing foot's arrival and
    the pelvis and trunk half of it: a foot put on a box as the body moves over."""
    upper = [P.LEFT_HIP, P.RIGHT_HIP, P.LEFT_SHOULDER, P.RIGHT_SHOULDER, P.NOSE]

    def up(i, f):
        edit(i, f)
        for push, end, d in truth:
            if push <= i <= end:
                for lm in FOOT[d]:
                    f.image_xy[lm, 1] -= lift_px
                f.image_xy[upper, 1] -= lift_px / 2

    return up


def test_auto_does_not_take_steps_up_for_sideways_steps():
    """The same steps with the leading foot 0.2 body lengths up (on a box) and the pelvis rising:
    the feet are not on one floor, so no band walk (the synthetic step-ups read as travelling
    steps of 0.11-0.18 body lengths, the foot on the box 0.21-0.26 above the other)."""
    dx, flex, truth = walk([R, R, R, R, L, L, L, L])
    bent = pose_frame(0.0, LegPose(35.0), LegPose(35.0))
    body_px = float(compute_metrics(np.zeros(1), bent.image_xy[None], bent.world_xyz[None]).body_px[0])
    assert 0.2 > STEP_LIFT
    flat = run_legs("auto", flex, flex, edit=_editor(dx, None, truth, len(flex)))
    assert flat.detection is not None and flat.detection.name == "band-walk"
    raised = run_legs("auto", flex, flex, edit=_stepping_up(truth, 0.2 * body_px, _editor(dx, None, truth, len(flex))))
    assert raised.detection is not None and raised.detection.name == "unsure", raised.detection


def _single_leg_bends(travel_px: float, change_legs: bool, n_bends: int = 4):
    """Single-leg bends (the free foot 60 px up, 0.23 body lengths) on alternating legs or all on
    the left, the whole body `travel_px` sideways at each next bend, there and back."""
    from tests.trackers.test_trackers_exercises import FPS, bumps

    t = np.arange(0, 1.5 + n_bends * 3.0 + 1.0, 1 / FPS)
    bend = bumps(t, n_bends, 5.0, 70.0)
    left, right = np.full_like(t, 5.0), np.full_like(t, 5.0)
    up = {L: np.zeros_like(t), R: np.zeros_like(t)}
    shift = np.zeros_like(t)
    for k in range(n_bends):
        rep = (t >= (1.0 + 3.0 * k if k else 0.0)) & (t < 1.0 + 3.0 * (k + 1))  # 0.5 s either side of the bend
        stand = R if change_legs and k % 2 else L
        (left if stand is L else right)[rep] = bend[rep]
        up[stand.other][rep] = 60.0
        shift[rep] = travel_px * (k % 2)  # there and back: alternating directions
    up[R][t >= 1.0 + 3.0 * n_bends] = 60.0

    def edit(i, f):
        f.image_xy[:, 0] += shift[i]

    return run_legs("auto", left, right, lift=(up[L], up[R]), edit=edit)


@pytest.mark.parametrize(("travel_px", "change_legs", "named"), [
    (150.0, True, "side-push"),
    (25.0, True, "single-leg-squat"),
    (150.0, False, "unsure"),
])  # fmt: skip
def test_auto_tells_lateral_bounds_from_single_leg_squats_by_the_travel(travel_px, change_legs, named):
    """Four single-leg bends on alternating legs with the body 150 px (0.57 body lengths) sideways
    between them, there and back, are lateral bounds landing on the leading leg: side pushes. The
    hip shifting 25 px (0.09, as real single-leg squats changing legs in place do) is no travel.
    Travelling on one leg is neither."""
    result = _single_leg_bends(travel_px, change_legs)
    assert result.detection is not None and result.detection.name == named, result.detection


def _squats_with_flights(flights: list[tuple[float, float]]):
    """Four squats (bends of both knees, feet planted) and, at each (time s, height px), the whole
    body thrown up that high and back down over 0.25 s: a jump squat's flight after its bend."""
    from tests.trackers.test_trackers_exercises import FPS, bumps

    t = np.arange(0, 1.5 + 4 * 3.0 + 1.0, 1 / FPS)
    bend = bumps(t, 4, 5.0, 80.0)

    def fly(i: int, f) -> None:
        for at, height in flights:
            phase = (i / FPS - at) / 0.25
            if 0 < phase < 1:
                f.image_xy[:, 1] -= height * 4 * phase * (1 - phase)

    return run_legs("auto", bend, bend, edit=fly)


def test_auto_names_squats_but_not_squats_with_jumps():
    """A jump squat's low flights (a few cm) are too few to call it hopping, but its bends look
    like squats: one or two landings after the whole body left the floor make it unsure."""
    plain = _squats_with_flights([])
    assert plain.detection is not None and plain.detection.name == "squat", plain.detection
    body_px = float(np.nanmedian(plain.frames.metrics(0, 30).body_px))
    for flights in ([(3.6, 0.05 * body_px)], [(3.6, 0.05 * body_px), (6.6, 0.05 * body_px)]):
        jumped = _squats_with_flights(flights)
        assert jumped.detection is not None and jumped.detection.name == "unsure", jumped.detection
        assert "jumps among the reps" in jumped.detection.reasons[-1], jumped.detection
    # a flight of a third of that (a misread, not a jump of 3.5 cm or more) names the squats
    low = _squats_with_flights([(3.6, 0.015 * body_px)])
    assert low.detection is not None and low.detection.name == "squat", low.detection
