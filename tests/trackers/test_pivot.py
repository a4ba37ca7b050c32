"""pivot on constructed landmarks (pure, fast): a foot steps and comes to rest (the plant), the knee
bends, the body turns away on it while the other foot is carried round, then turns back; pivots
counted per planted leg with the plant at the scripted touch-down and the trunk turn at the
scripted yaw, the planted knee's valgus flagged (and cued live) on the caving plants only, and the
turn back toward the camera not counted."""

from __future__ import annotations

import numpy as np
import pytest

from formcheck.config import Config
from formcheck.core.landmarks import PoseLandmark as P, Side
from tests.builders import LegPose, pose_frame
from tests.trackers.test_trackers_exercises import BLANK, FPS, INFO

L, R = Side.LEFT, Side.RIGHT
FOOT = {L: (P.LEFT_ANKLE, P.LEFT_HEEL, P.LEFT_FOOT_INDEX), R: (P.RIGHT_ANKLE, P.RIGHT_HEEL, P.RIGHT_FOOT_INDEX)}
KNEE = {L: P.LEFT_KNEE, R: P.RIGHT_KNEE}
IMAGE_SIGN = {L: 1.0, R: -1.0}  # the person faces the camera: their left is the image's right


def _ramp(n: int) -> np.ndarray:
    s = np.linspace(0.0, 1.0, n)
    return s * s * s * (10 - 15 * s + 6 * s * s)


def pivots(planted: list[Side], turn_deg: float = 60.0, caving: tuple[int, ...] = ()):
    """Frames of pivots, one per entry of `planted`, and each one's (plant frame, turn): the
    planted foot steps 25 px sideways and comes to rest (the plant), its knee bends to 30 degrees,
    0.35 s after the plant the body turns `turn_deg` away from it in 0.5 s, holds, turns back and
    the foot steps home; `caving` plants have the planted knee 25 px toward the midline from 0.1 s
    before the plant to 0.3 s after."""
    step, bend, turn, hold, back, rest = (int(x * FPS) for x in (0.3, 0.3, 0.5, 0.8, 0.6, 2.0))
    n = int(1.5 * FPS) + len(planted) * (step + int(0.35 * FPS) + turn + hold + back + step + rest) + int(FPS)
    yaw, flex = np.zeros(n), {L: np.full(n, 5.0), R: np.full(n, 5.0)}
    foot = {L: np.zeros(n), R: np.zeros(n)}
    shift = {L: np.zeros(n), R: np.zeros(n)}
    f, truth = int(1.5 * FPS), []
    for k, leg in enumerate(planted):
        away = turn_deg if leg is R else -turn_deg  # turning to the person's left, away from the right foot
        foot[leg][f:] += 25.0 * np.concatenate([_ramp(step), np.ones(n - f - step)])
        plant = f + step - 1
        flex[leg][plant:] = 5.0 + 25.0 * np.concatenate([_ramp(bend), np.ones(n - plant - bend)])
        if k in caving:
            shift[leg][plant - int(0.1 * FPS) : plant + int(0.3 * FPS)] = 25.0
        f = plant + int(0.35 * FPS)
        yaw[f:] = -away * np.concatenate([_ramp(turn), np.ones(n - f - turn)])  # builder yaw: + turns to the right
        truth.append((plant, turn_deg))
        f += turn + hold
        yaw[f:] += away * np.concatenate([_ramp(back), np.ones(n - f - back)])
        flex[leg][f:] = 30.0 - 25.0 * np.concatenate([_ramp(back), np.ones(n - f - back)])
        f += back
        foot[leg][f:] -= 25.0 * np.concatenate([_ramp(step), np.ones(n - f - step)])
        f += step + rest
    return yaw, flex, foot, shift, truth


def _frames(yaw, flex, foot, shift):
    """The builder's body turned by `yaw`, each foot moved by `foot` pixels (image x), its knee half
    as far, and kept where it stands while the body turns over it (only the free foot is carried
    round); knees `shift` pixels toward the midline."""
    rng = np.random.default_rng(1)
    for i in range(len(yaw)):
        f = pose_frame(i / FPS, LegPose(flex[L][i]), LegPose(flex[R][i]), yaw_deg=yaw[i], noise_px=0.5, rng=rng)
        square = pose_frame(i / FPS, LegPose(flex[L][i]), LegPose(flex[R][i]))
        for leg in (L, R):
            planted = foot[leg][i] != 0.0
            if planted:
                for lm in FOOT[leg]:
                    f.image_xy[lm] = square.image_xy[lm] + [IMAGE_SIGN[leg] * foot[leg][i], 0.0]
                f.image_xy[KNEE[leg]] = square.image_xy[KNEE[leg]] + [IMAGE_SIGN[leg] * foot[leg][i] / 2, 0.0]
            f.image_xy[KNEE[leg], 0] -= IMAGE_SIGN[leg] * shift[leg][i]
        yield i, f


def _run(planted, side=None, **kw):
    from formcheck.media.sources import Frame
    from formcheck.pipeline.session import summarize
    from formcheck.pipeline.stages import Pipeline
    from formcheck.trackers import tracker_class

    yaw, flex, foot, shift, truth = pivots(planted, **kw)
    pipe = Pipeline(None, tracker_class("pivot")(side), Config())  # type: ignore[arg-type]
    for i, f in _frames(yaw, flex, foot, shift):
        pipe.process_pose(Frame(i, i / FPS, BLANK), f)
    return pipe, summarize(pipe.recording, "pivot", Config(), INFO, side=side), truth


def test_pivots_counted_per_planted_leg_with_plant_frame_and_trunk_turn():
    planted = [R, R, L, R]
    _, result, truth = _run(planted)
    reps = [s.rep for s in result.reps]
    assert [r.plant.leg for r in reps] == planted  # the turn back toward the camera is no pivot
    for rep, (plant, turn) in zip(reps, truth):
        assert rep.legs == (rep.plant.leg,)
        assert abs(rep.start_i - plant) <= 3, (rep.start_i, plant)
        assert rep.plant.turn_deg == pytest.approx(turn, abs=3.0)
        assert rep.plant.window_frames == int(0.2 * FPS)
    assert result.view.value == "frontal"


def test_the_planted_knee_caving_is_flagged_and_cued_on_its_plants_only():
    from formcheck.judging.cues import Cue

    pipe, result, truth = _run([R, R, R, R], caving=(1, 3))
    assert len(result.reps) == 4
    for k, score in enumerate(result.reps):
        v = score.verdict[R]
        assert v.measure.value == "fppa", v
        assert v.valgus is (k in (1, 3)), (k, score.fppa_deg, score.peak_fppa_deg)
    cues = [c for c in pipe.recording.cue_events if isinstance(c, Cue)]
    assert [c.leg for c in cues] == [R, R], cues
    for c, k in zip(cues, (1, 3)):
        plant = truth[k][0] / FPS
        assert plant - 0.1 <= c.raised_s <= plant + 0.3, (c.raised_s, plant)
