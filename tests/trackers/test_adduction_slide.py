"""adduction-slide on constructed landmarks (pure, fast): from the side-lunge position the straight
leg's foot slides in and back out; slides counted for the bent leg with their range in straight-leg
lengths against the constructed one, the bent knee's valgus flagged on the caving slides only (and
cued live on that knee only), and the feet closed to stand up, or closed and opened while standing
straight, not counted."""

from __future__ import annotations

import math

import numpy as np
import pytest

from formcheck.config import Config
from formcheck.core.landmarks import PoseLandmark as P, Side
from tests.builders import LegPose, pose_frame
from tests.trackers.test_trackers_exercises import FPS, run_legs

L, R = Side.LEFT, Side.RIGHT
FOOT = {L: (P.LEFT_ANKLE, P.LEFT_HEEL, P.LEFT_FOOT_INDEX), R: (P.RIGHT_ANKLE, P.RIGHT_HEEL, P.RIGHT_FOOT_INDEX)}
HIP = {L: P.LEFT_HIP, R: P.RIGHT_HIP}
KNEE = {L: P.LEFT_KNEE, R: P.RIGHT_KNEE}
IMAGE_SIGN = {L: 1.0, R: -1.0}  # the person faces the camera: their left is the image's right
STAND = pose_frame(0.0, LegPose(5.0), LegPose(5.0)).image_xy
LEG_PX = float(np.linalg.norm(STAND[P.LEFT_ANKLE] - STAND[P.LEFT_HIP]))  # standing hip-to-ankle length
A0 = math.asin((STAND[P.LEFT_ANKLE, 0] - STAND[P.LEFT_HIP, 0]) / LEG_PX)  # the standing leg's outward angle


def _ramp(n: int) -> np.ndarray:
    s = np.linspace(0.0, 1.0, n)
    return s * s * s * (10 - 15 * s + 6 * s * s)


def _move(x: np.ndarray, f: int, to: float, n: int) -> int:
    """Ease x from its value at frame f to `to` over n frames (held after); returns f + n."""
    x[f:] = x[f] + (to - x[f]) * np.concatenate([_ramp(n), np.ones(len(x) - f - n)])
    return f + n


def slides(n: int, wide_deg: float = 35.0, in_deg: float = 15.0, depth: float = 55.0, stand_up: bool = True):
    """Per frame: the bent knee's flexion, the straight leg's outward angle from vertical (radians)
    and each slide's scripted (start, closest, end) frames: into the side-lunge position, `n`
    slides of the straight foot from `wide_deg` to `in_deg` and back, then (`stand_up`) the feet
    closed and both knees straightened."""
    move, pause = int(0.8 * FPS), int(0.6 * FPS)
    frames = int((1.5 + 1.3 + n * (2 * 0.8 + 0.2 + 0.6) + 1.0 + 3.0) * FPS)
    flex, angle = np.full(frames, 5.0), np.full(frames, A0)
    f = int(1.5 * FPS)
    _move(flex, f, depth, move)
    f = _move(angle, f, math.radians(wide_deg), move) + int(0.5 * FPS)
    truth = []
    for _ in range(n):
        start = f - 1
        f = _move(angle, f, math.radians(in_deg), move)
        low = f - 1
        f = _move(angle, f + int(0.2 * FPS), math.radians(wide_deg), move)
        truth.append((start, low, f - 1))
        f += pause
    if stand_up:
        _move(flex, f, 5.0, move)
        _move(angle, f, A0, move)
    return flex, angle, truth


def _editor(bent: Side, angle: np.ndarray, caving: dict[int, float] | None = None, truth=None):
    """The straight leg kept at the standing length, turned out by `angle`, its knee on the line;
    `caving[k]` pixels of the bent knee toward the midline over slide k."""
    straight = bent.other
    shift = np.zeros(len(angle))
    for k, px in (caving or {}).items():
        start, _, end = truth[k]
        shift[start : end + 1] = px

    def edit(i, f):
        hip = f.image_xy[HIP[straight]]
        ankle = hip + LEG_PX * np.array([IMAGE_SIGN[straight] * math.sin(angle[i]), math.cos(angle[i])])
        move = ankle - f.image_xy[FOOT[straight][0]]
        for lm in FOOT[straight]:
            f.image_xy[lm] += move
        f.image_xy[KNEE[straight]] = (hip + ankle) / 2
        f.image_xy[KNEE[bent], 0] -= IMAGE_SIGN[bent] * shift[i]

    return edit


def gap_px(bent: Side, flex: np.ndarray, angle: np.ndarray, i: int) -> float:
    """The ankles' image distance of frame i without the landmark noise (the truth)."""
    legs = (LegPose(flex[i]), LegPose(5.0)) if bent is L else (LegPose(5.0), LegPose(flex[i]))
    f = pose_frame(i / FPS, *legs)
    _editor(bent, angle)(i, f)
    return float(np.linalg.norm(f.image_xy[P.LEFT_ANKLE] - f.image_xy[P.RIGHT_ANKLE]))


def _run(bent: Side, flex, angle, caving=None, truth=None, side=None):
    still = np.full_like(flex, 5.0)
    left, right = (flex, still) if bent is L else (still, flex)
    return run_legs("adduction-slide", left, right, edit=_editor(bent, angle, caving, truth), side=side)


@pytest.mark.parametrize("bent", [L, R])
def test_slides_counted_for_the_bent_leg_with_their_range_in_leg_lengths(bent):
    flex, angle, truth = slides(4)
    result = _run(bent, flex, angle)
    reps = [s.rep for s in result.reps]
    assert len(reps) == 4
    pause = int(0.2 * FPS)
    for rep, (start, low, end) in zip(reps, truth):
        assert rep.legs == (bent,) and rep.slide.bent is bent and rep.slide.straight is bent.other
        # a minimum-jerk slide stays within `onset` of the widest for its first few frames
        assert 0 <= rep.start_i - start <= 5, (rep.start_i, start)
        assert low - 2 <= rep.bottom_i <= low + pause + 2, (rep.bottom_i, low)  # anywhere in the pause in
        assert abs(rep.end_i - end) <= 4, (rep.end_i, end)
        want = (gap_px(bent, flex, angle, start) - gap_px(bent, flex, angle, low)) / LEG_PX
        assert rep.slide.range == pytest.approx(want, abs=0.01), (rep.slide, want)
        assert rep.slide.leg_px == pytest.approx(LEG_PX, abs=2.0)
    assert result.warnings == [] and result.view.value == "frontal"


def test_the_bent_knee_caving_is_flagged_on_its_slides_only():
    flex, angle, truth = slides(5)
    caving = {1: 25.0, 3: 25.0}
    result = _run(R, flex, angle, caving, truth)
    assert len(result.reps) == 5
    for k, score in enumerate(result.reps):
        v = score.verdict[R]
        assert v.measure.value == "fppa", v
        assert v.valgus is (k in caving), (k, score.peak_fppa_deg)
        assert L not in score.verdict  # the straight leg is not judged


def test_live_cues_the_bent_knee_on_the_caving_slides_only():
    from formcheck.judging.cues import Cue
    from formcheck.media.sources import Frame
    from formcheck.pipeline.stages import Pipeline
    from formcheck.trackers import tracker_class
    from tests.trackers.test_trackers_exercises import BLANK

    flex, angle, truth = slides(5)
    caving = {1: 25.0, 4: 25.0}
    edit = _editor(L, angle, caving, truth)
    pipe = Pipeline(None, tracker_class("adduction-slide")(), Config())  # type: ignore[arg-type]
    rng = np.random.default_rng(1)
    for i in range(len(flex)):
        f = pose_frame(i / FPS, LegPose(flex[i]), LegPose(5.0), noise_px=0.5, rng=rng)
        edit(i, f)
        pipe.process_pose(Frame(i, i / FPS, BLANK), f)
    cues = [c for c in pipe.recording.cue_events if isinstance(c, Cue)]
    assert [c.leg for c in cues] == [L, L], cues
    for c, k in zip(cues, sorted(caving)):
        start, _, end = truth[k]
        assert start / FPS <= c.raised_s <= start / FPS + 0.3, (c, truth[k])


def test_standing_up_or_moving_the_feet_while_straight_is_not_a_slide():
    # the person stands up at the end (the feet close and stay in): still 3 slides
    flex, angle, _ = slides(3, stand_up=True)
    assert len(_run(R, flex, angle).reps) == 3
    # both knees straight, one foot set wide and brought back twice: no side-lunge position
    n = int(9 * FPS)
    angle = np.full(n, A0)
    f = int(1.5 * FPS)
    for _ in range(2):
        f = _move(angle, f, math.radians(30.0), 24) + 15
        f = _move(angle, f, A0, 24) + 15
    result = _run(R, np.full(n, 5.0), angle)
    assert result.reps == []
    # the report says why the foot coming in and going out again was not counted (the last time
    # in, the recording ends with the feet together: no slide seen)
    assert "1 movement not counted: no knee bent, so not the side-lunge position" in result.warnings, result.warnings
