"""Exercise trackers beyond the squat: synthetic landmark sequences for every tracker and edge,
the committed synthetic clips and the labelled real clips (skipped with a reason when absent)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from formcheck.config import Config
from formcheck.core.landmarks import NUM_LANDMARKS, PoseLandmark as P, Side
from formcheck.core.metrics import compute_metrics
from formcheck.media.sources import Frame, SourceInfo
from formcheck.pipeline.session import summarize
from formcheck.pipeline.stages import Pipeline
from formcheck.trackers import tracker_class, tracker_names
from tests.builders import PX_PER_M, THIGH, LegPose, pose_frame
from tests.conftest import SAMPLES, load_summary

FPS = 30.0
BLANK = np.zeros((2, 2, 3), dtype=np.uint8)
INFO = SourceInfo(kind="file", name="synthetic", fps=FPS, frame_count=None, width=640, height=720, duration_s=None)


def bumps(t: np.ndarray, n: int, lo: float, hi: float, period: float = 2.0, lead: float = 1.5, rest: float = 1.0, hold: float = 0.0) -> np.ndarray:
    """`n` smooth excursions from lo to hi (optionally held at hi for `hold` s)."""
    x = np.full_like(t, lo)
    for k in range(n):
        s = lead + k * (period + rest + hold)
        up = (t >= s) & (t < s + period / 2)
        x[up] = lo + (hi - lo) * 0.5 * (1 - np.cos(math.pi * (t[up] - s) / (period / 2)))
        x[(t >= s + period / 2) & (t < s + period / 2 + hold)] = hi
        d0 = s + period / 2 + hold
        down = (t >= d0) & (t < d0 + period / 2)
        x[down] = hi - (hi - lo) * 0.5 * (1 - np.cos(math.pi * (t[down] - d0) / (period / 2)))
    return x


def run_legs(exercise: str, left: np.ndarray, right: np.ndarray, side: Side | None = None, lift: tuple[np.ndarray, np.ndarray] | None = None, straight: Side | None = None, edit=None):
    """Per-leg flexion sequences through the per-frame pipeline and the report pass. `straight`:
    that leg hangs at its standing length as the pelvis drops (the builder keeps both feet on the
    floor, which would bend it too): the free leg of a step-down. `edit(i, pose_frame)` changes a
    frame in place last (hidden or misplaced landmarks)."""
    pipe = Pipeline(None, tracker_class(exercise)(side), Config())  # type: ignore[arg-type]
    rng = np.random.default_rng(1)
    for i in range(len(left)):
        f = pose_frame(i / FPS, LegPose(left[i]), LegPose(right[i]), noise_px=0.5, rng=rng)
        if straight is not None:
            ref = pose_frame(0.0, LegPose(5.0), LegPose(5.0))
            hip = P.LEFT_HIP if straight is Side.LEFT else P.RIGHT_HIP
            drop = f.image_xy[hip, 1] - ref.image_xy[hip, 1]
            names = ("KNEE", "ANKLE", "HEEL", "FOOT_INDEX")
            for n in names:
                lm = P[("LEFT_" if straight is Side.LEFT else "RIGHT_") + n]
                f.image_xy[lm] = ref.image_xy[lm] + [0.0, drop]
        if lift is not None:  # raise an ankle (and its foot) by this many pixels
            for side_, up in zip((Side.LEFT, Side.RIGHT), lift):
                for lm in ((P.LEFT_ANKLE, P.LEFT_HEEL, P.LEFT_FOOT_INDEX) if side_ is Side.LEFT else (P.RIGHT_ANKLE, P.RIGHT_HEEL, P.RIGHT_FOOT_INDEX)):
                    f.image_xy[lm, 1] -= up[i]
        if edit is not None:
            edit(i, f)
        pipe.process_pose(Frame(i, i / FPS, BLANK), f)
    return summarize(pipe.recording, exercise, Config(), INFO, side=side)


def test_every_issue_exercise_is_registered():
    for name in ("squat", "lean-back-squat", "lunge", "step-down", "step-up", "single-leg-squat", "side-lunge",
                 "balance", "clamshell", "side-lying-leg-raise", "knee-extension", "hamstring-curl", "auto"):
        assert name in tracker_names()


@pytest.mark.parametrize("exercise", ["step-down", "single-leg-squat"])
@pytest.mark.parametrize("stance", [Side.LEFT, Side.RIGHT])
def test_single_leg_reps_count_for_the_bending_leg(exercise, stance):
    t = np.arange(0, 1.5 + 5 * 3.0 + 1.0, 1 / FPS)
    bend = bumps(t, 5, 5.0, 70.0)
    still = np.full_like(t, 5.0)
    left, right = (bend, still) if stance is Side.LEFT else (still, bend)
    lift = None
    if exercise == "single-leg-squat":  # the free foot held up the whole time
        up = np.full_like(t, 60.0)
        lift = (up, np.zeros_like(t)) if stance is Side.RIGHT else (np.zeros_like(t), up)
    free = None if exercise == "single-leg-squat" else stance.other
    result = run_legs(exercise, left, right, lift=lift, straight=free)
    assert len(result.reps) == 5
    assert all(s.rep.legs == (stance,) for s in result.reps)
    # --side overrides what the legs show
    forced = run_legs(exercise, left, right, side=stance.other, lift=lift, straight=free)
    assert all(s.rep.legs == (stance.other,) for s in forced.reps)


@pytest.mark.parametrize("stance", [Side.LEFT, Side.RIGHT])
def test_pistol_squat_reps_count_for_the_planted_leg_though_the_free_ankle_reads_lower(stance):
    """A pistol squat from the front: the free leg is held out toward the camera as the stance leg
    bends, so its ankle reads *lower* in the image than the planted one at every bottom (as in
    sls_front_02 and 05). The stance is the foot that stays put (asserted on the report pass,
    which runs the same tracker as live)."""
    t = np.arange(0, 1.5 + 5 * 3.0 + 1.0, 1 / FPS)
    bend = bumps(t, 5, 5.0, 70.0)
    still = np.full_like(t, 5.0)
    left, right = (bend, still) if stance is Side.LEFT else (still, bend)
    reach = -45.0 * (bend - 5.0) / 65.0  # the free foot comes 45 px lower in the image at each bottom
    lift = (np.zeros_like(t), reach) if stance is Side.LEFT else (reach, np.zeros_like(t))
    seen: list[Side | None] = []

    def bottom_ankles(i, f):
        if bend[i] == bend.max():
            seen.append(Side.LEFT if f.image_xy[P.LEFT_ANKLE, 1] > f.image_xy[P.RIGHT_ANKLE, 1] else Side.RIGHT)

    result = run_legs("single-leg-squat", left, right, lift=lift, edit=bottom_ankles)
    assert seen and all(s is stance.other for s in seen)  # the lower ankle at the bottoms: the free one
    assert len(result.reps) == 5
    assert all(s.rep.legs == (stance,) for s in result.reps)


@pytest.mark.parametrize("stance", [Side.LEFT, Side.RIGHT])
def test_step_down_stance_leg_is_not_taken_from_frames_without_its_foot(stance):
    """A caption hides the feet during the first rep (as on stepdown_oblique_01, frames 17-80):
    the stance foot goes unseen while the model draws the free leg's ankle high, so the free leg
    reads bent. The stance leg must not be decided by those frames (before: the free leg was
    taken as the stance leg for 7 s and reps 2-5 were lost), and the hidden rep is credited to
    the leg that did the others."""
    t = np.arange(0, 1.5 + 6 * 3.0 + 1.0, 1 / FPS)
    bend = bumps(t, 6, 5.0, 70.0)
    still = np.full_like(t, 5.0)
    left, right = (bend, still) if stance is Side.LEFT else (still, bend)
    caption = (t > 1.3) & (t < 3.9)  # the first rep (1.5-3.5 s)
    prefix, free = ("LEFT_", "RIGHT_") if stance is Side.LEFT else ("RIGHT_", "LEFT_")

    def hide(i: int, f) -> None:
        if caption[i]:
            for n in ("ANKLE", "HEEL", "FOOT_INDEX"):
                f.visibility[P[prefix + n]] = 0.2  # under the caption: the model is unsure
                f.image_xy[P[free + n], 1] -= 90.0  # and draws the free foot high up the leg
            f.visibility[P[free + "ANKLE"]] = 0.6

    result = run_legs("step-down", left, right, straight=stance.other, edit=hide)
    assert len(result.reps) == 6
    assert [s.rep.legs for s in result.reps] == [(stance,)] * 6
    # the rep after the caption starts on time: as late after its motion onset as the later reps
    onset = [s.rep.start_s - (1.5 + 3.0 * k) for k, s in enumerate(result.reps)]
    assert abs(onset[1] - onset[3]) <= 2 / FPS


@pytest.mark.parametrize("foot_drop_px", [0.0, 130.0])
def test_auto_names_a_squat_only_with_the_feet_planted(foot_drop_px):
    """Both legs shortening alike is a squat only if the feet stay put: on the synthetic
    step-down at yaw 15 the free foot lowering to the floor made every rep look like a squat,
    and `auto` named the wrong exercise. A foot that swings 0.3 body lengths out each rep: unsure."""
    t = np.arange(0, 1.5 + 4 * 3.0 + 1.0, 1 / FPS)
    bend = bumps(t, 4, 5.0, 80.0)
    swing = np.radians(foot_drop_px * (bend - 5.0) / 75.0 / 4.6)  # about the hip: the leg keeps its length
    lower_leg = [P.LEFT_KNEE, P.LEFT_ANKLE, P.LEFT_HEEL, P.LEFT_FOOT_INDEX]

    def swing_out(i: int, f) -> None:
        c, s = np.cos(swing[i]), np.sin(swing[i])
        hip = f.image_xy[P.LEFT_HIP]
        f.image_xy[lower_leg] = hip + (f.image_xy[lower_leg] - hip) @ np.array([[c, s], [-s, c]])

    result = run_legs("auto", bend, bend, edit=swing_out)
    assert result.detection is not None
    assert result.detection.name == ("squat" if foot_drop_px == 0 else "unsure")


def test_single_leg_fidgets_and_half_reps_are_not_counted():
    t = np.arange(0, 20, 1 / FPS)
    bend = bumps(t, 3, 5.0, 70.0)
    bend += np.where((t > 11) & (t < 12), 8 * np.sin(10 * np.pi * t), 0)  # fidget
    half = (t > 13) & (t < 15)
    bend[half] = 5 + 25 * 0.5 * (1 - np.cos(np.pi * (t[half] - 13)))  # a third of the range
    result = run_legs("step-down", bend, np.full_like(t, 5.0), straight=Side.RIGHT)
    assert len(result.reps) == 3


def test_a_rep_under_way_when_the_recording_ends_is_listed_as_not_counted():
    t = np.arange(0, 1.5 + 3 * 3.0 + 1.0, 1 / FPS)
    bend = bumps(t, 3, 5.0, 80.0)
    cut = t < 1.5 + 2 * 3.0 + 1.0  # the third rep stops at its bottom
    result = run_legs("squat", bend[cut], bend[cut])
    assert len(result.reps) == 2
    assert result.warnings[-1] == "1 movement not counted: the recording ended before the movement finished", result.warnings
    whole = run_legs("squat", bend, bend)
    assert len(whole.reps) == 3 and not any("not counted" in w for w in whole.warnings), whole.warnings


@pytest.mark.parametrize("case", ["front view", "straight foot nearer the camera", "standing ankle unseen"])
@pytest.mark.parametrize("lunging", [Side.LEFT, Side.RIGHT])
def test_side_lunge_from_a_raised_knee_counts_the_lunges_only(lunging, case):
    """A side lunge from a one-leg balance (as on lateral_lunge_front_darebee_man_01): before each
    lunge the lunging leg's knee is raised to hip height, which shortens that leg in the image as
    much as the lunge does, its foot off the floor; then the foot lands out to the side and the
    knee bends over it while the other leg slants out straight. Only the lunges are reps, also
    when the straight leg's foot steps out nearer the camera and reads 60 px (0.15 body lengths)
    lower at the bottom, so the bent foot stands higher in the image than the other though on its
    own floor (lateral_lunge_front_02's bottom), and when the standing ankle goes unseen while the
    knee is up."""
    t = np.arange(0, 1.5 + 3 * 4.5 + 1.0, 1 / FPS)
    raised = bumps(t, 3, 0.0, 1.0, period=1.2, lead=1.5, rest=3.3)  # 0 standing, 1 knee at hip height
    lunge = bumps(t, 3, 5.0, 90.0, period=2.0, lead=3.0, rest=2.5)  # both legs posed bent: the pelvis drops
    bent, straight = ("LEFT_", "RIGHT_") if lunging is Side.LEFT else ("RIGHT_", "LEFT_")
    outward = -1.0 if lunging is Side.LEFT else 1.0  # the person's left is on the image's right
    names = ("KNEE", "ANKLE", "HEEL", "FOOT_INDEX")
    standing = pose_frame(0.0, LegPose(5.0), LegPose(5.0)).image_xy
    length = float(np.linalg.norm(standing[P[straight + "ANKLE"]] - standing[P[straight + "HIP"]]))
    nearer = 60.0 * (lunge - 5.0) / 85.0 if case == "straight foot nearer the camera" else np.zeros_like(t)

    def lunge_sideways(i, f):
        # The straight leg keeps its length and its foot on the floor: it slants out to the side.
        hip, ankle = f.image_xy[P[straight + "HIP"]], standing[P[straight + "ANKLE"]] + [0.0, nearer[i]]
        reach = math.sqrt(max(length**2 - (ankle[1] - hip[1]) ** 2, 0.0))
        move = np.array([hip[0] + outward * reach, ankle[1]]) - f.image_xy[P[straight + "ANKLE"]]
        for n in ("ANKLE", "HEEL", "FOOT_INDEX"):
            f.image_xy[P[straight + n]] += move
        f.image_xy[P[straight + "KNEE"]] = (hip + f.image_xy[P[straight + "ANKLE"]]) / 2
        for n in names:  # before it: the lunging knee comes up to the hip, the shank hangs below
            f.image_xy[P[bent + n], 1] -= raised[i] * THIGH * PX_PER_M
        if case == "standing ankle unseen" and raised[i] > 0:
            for n in ("ANKLE", "HEEL", "FOOT_INDEX"):
                f.visibility[P[straight + n]] = 0.1

    assert raised.max() == 1.0 and not (raised * (lunge > 5.0)).any()  # raises and lunges apart
    result = run_legs("side-lunge", lunge, lunge, edit=lunge_sideways)
    assert [s.rep.bottom_s for s in result.reps] == pytest.approx([4.0, 8.5, 13.0], abs=0.15)  # the lunges'
    assert all(s.rep.legs == (lunging,) for s in result.reps)


def test_balance_hold_touchdowns_and_stance_leg():
    t = np.arange(0, 16, 1 / FPS)
    up = np.where((t > 2) & (t < 11), 90.0, 0.0)
    up[(t > 6) & (t < 6.5)] = 0.0  # a touch-down
    up[(t > 13.0) & (t < 13.4)] = 90.0  # a brief step, not a hold
    flat = np.full_like(t, 5.0)
    result = run_legs("balance", flat, flat, lift=(up, np.zeros_like(t)))
    assert len(result.holds) == 1
    h = result.holds[0]
    assert h.hold.leg is Side.RIGHT
    assert abs(h.hold.start_s - 2.0) < 0.1 and abs(h.hold.end_s - 11.0) < 0.1
    assert len(h.hold.touchdowns) == 1 and abs(h.hold.touchdowns[0] - 6.0) < 0.1
    assert h.sway is not None and h.sway < 0.01  # a still synthetic body barely sways


def _frame(points: dict[P, tuple[float, float]], world: dict[P, tuple[float, float, float]] | None = None):
    xy = np.full((NUM_LANDMARKS, 2), np.nan)
    w = np.zeros((NUM_LANDMARKS, 3))
    for k, v in points.items():
        xy[k] = v
    for k, v in (world or {}).items():
        w[k] = v
    return xy, w


def _side_lying(opening_deg: float, straight: bool) -> tuple[np.ndarray, np.ndarray]:
    """Lying on the left side, head to the image left: the right (top) thigh or leg opens upward."""
    a = math.radians(opening_deg)
    hip_l, hip_r = (300.0, 400.0), (300.0, 380.0)
    pts = {P.LEFT_HIP: hip_l, P.RIGHT_HIP: hip_r, P.LEFT_SHOULDER: (100.0, 400.0), P.RIGHT_SHOULDER: (100.0, 370.0)}
    if straight:  # legs straight along the floor
        pts[P.LEFT_KNEE], pts[P.LEFT_ANKLE] = (450.0, 400.0), (600.0, 400.0)
        pts[P.RIGHT_KNEE] = (hip_r[0] + 150 * math.cos(a), hip_r[1] - 150 * math.sin(a))
        pts[P.RIGHT_ANKLE] = (hip_r[0] + 300 * math.cos(a), hip_r[1] - 300 * math.sin(a))
    else:  # knees bent forward (toward the camera's bottom) at 90 degrees, feet together
        base = math.atan2(50.0, 120.0)
        pts[P.LEFT_KNEE], pts[P.LEFT_ANKLE] = (hip_l[0] + 130 * math.cos(base), hip_l[1] + 130 * math.sin(base)), (330.0, 520.0)
        pts[P.RIGHT_KNEE] = (hip_r[0] + 130 * math.cos(base - a), hip_r[1] + 130 * math.sin(base - a))
        pts[P.RIGHT_ANKLE] = (330.0, 500.0)
    return _frame(pts)


@pytest.mark.parametrize("exercise, straight", [("clamshell", False), ("side-lying-leg-raise", True)])
def test_side_lying_reps_per_top_leg_with_range(exercise, straight):
    t = np.arange(0, 1.5 + 6 * 3.0 + 1.0, 1 / FPS)
    opening = bumps(t, 6, 0.0, 40.0)
    opening[(t > 19.0) & (t < 19.6)] += 6.0  # a twitch: not a rep
    tracker = tracker_class(exercise)()
    for i, ti in enumerate(t):
        xy, w = _side_lying(float(opening[i]), straight)
        tracker.update(i, compute_metrics(np.float64(ti), xy, w))
    tracker.finish()
    reps = tracker.state.reps
    assert len(reps) == 6
    assert all(r.legs == (Side.RIGHT,) for r in reps)
    assert all(25.0 < r.range_deg < 50.0 for r in reps)


def _knee_frame(flex_l: float, flex_r: float, seated: bool):
    pts, world = {}, {}
    for side, flex, x in ((Side.LEFT, flex_l, 0.1), (Side.RIGHT, flex_r, -0.1)):
        p = "LEFT_" if side is Side.LEFT else "RIGHT_"
        hip = np.array([x, 0.0, 0.0])
        knee = hip + (np.array([0.0, 0.0, 0.45]) if seated else np.array([0.0, 0.45, 0.0]))
        thigh_dir = (knee - hip) / 0.45
        a = math.radians(flex)
        # shank turned `flex` degrees from the thigh's line, in the sagittal (y-z) plane
        rot = np.array([[1, 0, 0], [0, math.cos(a), math.sin(a)], [0, -math.sin(a), math.cos(a)]])
        ankle = knee + 0.43 * (rot @ thigh_dir if not seated else rot.T @ thigh_dir)
        for name, pt in (("HIP", hip), ("KNEE", knee), ("ANKLE", ankle)):
            world[P[p + name]] = tuple(pt)
            pts[P[p + name]] = (320 + 300 * pt[0] - 100 * pt[2], 200 + 300 * pt[1])
        pts[P[p + "SHOULDER"]] = (320 + 300 * x, 50.0)
    return _frame(pts, world)


@pytest.mark.parametrize("exercise, seated", [("knee-extension", True), ("hamstring-curl", False)])
def test_knee_exercises_time_the_hold(exercise, seated):
    t = np.arange(0, 1.5 + 4 * 8.0 + 1.0, 1 / FPS)
    rest, end = (90.0, 5.0) if seated else (5.0, 90.0)
    work = bumps(t, 4, rest, end, hold=5.0)
    tracker = tracker_class(exercise)()
    for i, ti in enumerate(t):
        xy, w = _knee_frame(float(work[i]), rest, seated)
        tracker.update(i, compute_metrics(np.float64(ti), xy, w))
    tracker.finish()
    reps = tracker.state.reps
    assert len(reps) == 4
    assert all(r.legs == (Side.LEFT,) for r in reps)
    assert all(4.8 <= r.hold_s <= 6.0 for r in reps), [r.hold_s for r in reps]


def _wander(t: np.ndarray, seed: int) -> np.ndarray:
    """A smooth reading error in [0, 1] that changes within a few tenths of a second, like the pose
    model's reading of a knee held still (on the rendered seated extension held 5 s, filmed side-on,
    a knee held at 5 degrees read 29-45 in the world angle the tracker counts on)."""
    rng = np.random.default_rng(seed)
    w = sum(np.sin(2 * math.pi * f * t + rng.uniform(0, 2 * math.pi)) for f in (0.7, 1.9, 3.1))
    return (w - w.min()) / (w.max() - w.min())


def _knee_reps(exercise: str, work: np.ndarray, t: np.ndarray, rest: float, end: float, wander_deg: float):
    """The tracker's reps for a knee moving along `work`, read `wander_deg` off by up to that much
    where it is at its end position (the reading errs toward the rest, as the model's does)."""
    near_end = (work - rest) / (end - rest)
    read = work + np.sign(rest - end) * wander_deg * near_end * _wander(t, 3)
    seated = exercise == "knee-extension"
    tracker = tracker_class(exercise)()
    for i, ti in enumerate(t):
        xy, w = _knee_frame(float(read[i]), rest, seated)
        tracker.update(i, compute_metrics(np.float64(ti), xy, w))
    tracker.finish()
    return tracker.state.reps


@pytest.mark.parametrize("exercise", ["knee-extension", "hamstring-curl"])
def test_knee_hold_is_read_through_a_wandering_reading(exercise):
    """A 5 s hold whose reading wanders by up to 25 degrees (as the model's reading of a held knee
    does) is still a 5 s hold, not the pieces between the throws."""
    rest, end = (90.0, 5.0) if exercise == "knee-extension" else (5.0, 90.0)
    t = np.arange(0, 1.5 + 4 * 8.0 + 1.0, 1 / FPS)
    reps = _knee_reps(exercise, bumps(t, 4, rest, end, hold=5.0), t, rest, end, wander_deg=25.0)
    assert len(reps) == 4
    assert all(4.8 <= r.hold_s <= 6.0 for r in reps), [r.hold_s for r in reps]


@pytest.mark.parametrize("hold", [0.0, 2.0])
def test_knee_extension_short_holds_read_short_through_a_wandering_reading(hold):
    """The same wander does not lengthen a short hold: a rep with no pause at the top reads under
    a second, one held 2 s about 2 s."""
    t = np.arange(0, 1.5 + 4 * (3.0 + hold) + 1.0, 1 / FPS)
    reps = _knee_reps("knee-extension", bumps(t, 4, 90.0, 5.0, hold=hold), t, 90.0, 5.0, wander_deg=25.0)
    assert len(reps) == 4
    assert all(hold <= r.hold_s <= hold + 1.0 for r in reps), [r.hold_s for r in reps]


def test_knee_extension_hold_broken_by_lowering_the_leg_is_the_longest_part():
    """Held 2 s, lowered to 40 degrees for a second, held 2.5 s again: the hold is the longer part,
    not the 6.5 s from first reaching the end to last leaving it (a dip out of the end position
    lasting longer than `hold_gap_s` ends the hold; the reading's short throws do not)."""
    t = np.arange(0, 12.0, 1 / FPS)
    work = np.full_like(t, 90.0)
    keys = [(1.5, 90.0), (2.5, 5.0), (4.5, 5.0), (5.0, 40.0), (6.0, 40.0), (6.5, 5.0), (9.0, 5.0), (10.0, 90.0)]
    for (t0, a), (t1, b) in zip(keys, keys[1:]):
        span = (t >= t0) & (t < t1)
        work[span] = a + (b - a) * 0.5 * (1 - np.cos(math.pi * (t[span] - t0) / (t1 - t0)))
    reps = _knee_reps("knee-extension", work, t, 90.0, 5.0, wander_deg=10.0)
    assert len(reps) == 1
    assert 2.5 <= reps[0].hold_s <= 3.5, reps[0].hold_s


# -- committed synthetic clips and labelled real clips, through the real command line ----------

SAMPLE_CASES = [("lunge_front.mp4", "lunge"), ("stepdown_front.mp4", "step-down")]


@pytest.mark.parametrize("clip, exercise", SAMPLE_CASES)
def test_sample_clip_legs(analyzed, clip, exercise):
    import json

    truth = json.loads((SAMPLES / clip.replace(".mp4", ".truth.json")).read_text())
    s = load_summary(analyzed(SAMPLES / clip, exercise))
    legs = {leg for r in truth["reps"] for leg in r["legs"]}
    assert s["rep_count"] >= len(truth["reps"])  # stepdown_front: one model glitch counts extra (RESULTS.md)
    assert {leg for r in s["reps"] for leg in r["legs"]} == legs


def test_sample_balance_hold(analyzed):
    s = load_summary(analyzed(SAMPLES / "balance_front.mp4", "balance"))
    assert len(s["holds"]) == 1
    h = s["holds"][0]
    assert h["leg"] == "right" and h["touchdowns"] == 1
    assert abs(h["start_s"] - 1.95) < 0.3 and abs(h["end_s"] - 7.3) < 0.3
    assert 0 <= h["sway"] < 0.05 and h["sway_unit"].startswith("body lengths")


REAL = [
    # The model swaps the legs of this side-on split squat for runs of up to 6 frames; the
    # frame-to-frame guard alone inverted frames 239-331 (rep 4). The whole-clip labelling
    # swaps back the model's 36 frames and credits every rep right.
    ("lunge_side_01.mp4", "lunge", ["right"] * 11, True),
    ("lateral_lunge_front_01.mp4", "side-lunge", ["right"] * 10, False),
    # manifest.json says left on all 5 reps, but the frames show reps 2 and 4 with the right leg
    # in front: the front knee sits 62 px right of the right hip as it sits 62 px right of the
    # left hip in reps 1, 3 and 5, and both feet land one hip width (45 px) over (RESULTS.md).
    ("lunge_oblique_01.mp4", "lunge", ["left", "right", "left", "right", "left"], False),
    # a title bar hides the feet on frames 17-80 (rep 1 and the start of rep 2): 8 of 11 before
    ("stepdown_oblique_01.mp4", "step-down", ["left"] * 11, False),
]


@pytest.mark.parametrize("clip, exercise, legs, swaps", REAL)
def test_real_clip_counts(analyzed, media_dir, clip, exercise, legs, swaps):
    path = media_dir / clip
    if not path.exists():
        pytest.skip(f"{clip} not in {media_dir}")
    s = load_summary(analyzed(path, exercise))
    assert s["rep_count"] == len(legs)
    assert [r["legs"] for r in s["reps"]] == [[leg] for leg in legs]
    assert any("swapped the legs" in w for w in s["warnings"]) == swaps


def test_real_balance_hold(analyzed, media_dir):
    path = media_dir / "balance_front_01.mp4"
    if not path.exists():
        pytest.skip("balance_front_01.mp4 absent")
    s = load_summary(analyzed(path, "balance"))
    assert len(s["holds"]) == 1
    h = s["holds"][0]
    assert h["leg"] == "right" and abs(h["start_s"] - 0.4) <= 0.2 and abs(h["end_s"] - 6.7) <= 0.2


def test_real_auto_names_the_side_lunge(analyzed, media_dir):
    path = media_dir / "lateral_lunge_front_01.mp4"
    if not path.exists():
        pytest.skip("lateral_lunge_front_01.mp4 absent")
    s = load_summary(analyzed(path, "auto"))
    assert s["exercise_detected"]["name"] == "side-lunge" and s["exercise"] == "side-lunge"
    assert s["rep_count"] == 10


@pytest.mark.parametrize("stance", [Side.LEFT, Side.RIGHT])
def test_step_up_leg_is_judged_on_the_rise_not_the_top(stance):
    """A step-up: the stance foot stands on a 60 px step, the body rises over it and the other
    foot travels up from the floor, stays beside it on the step for 1.5 s, and returns. At the top
    both feet are still, and the model's stance ankle wobbles more than the other: the leg must be
    told on the rise, where only the free foot moves."""
    t = np.arange(0.0, 16.0, 1.0 / FPS)
    rise = bumps(t, 3, 0.0, 60.0, period=2.0, hold=1.5)
    wobble = 8.0 * np.sin(2 * math.pi * 2.0 * t)  # the model's stance ankle sways (2 Hz: the report's filter keeps it)
    stance_pts = (P.LEFT_ANKLE, P.LEFT_HEEL, P.LEFT_FOOT_INDEX) if stance is Side.LEFT else (P.RIGHT_ANKLE, P.RIGHT_HEEL, P.RIGHT_FOOT_INDEX)
    free_pts = (P.RIGHT_ANKLE, P.RIGHT_HEEL, P.RIGHT_FOOT_INDEX) if stance is Side.LEFT else (P.LEFT_ANKLE, P.LEFT_HEEL, P.LEFT_FOOT_INDEX)

    def step_up(i, f):
        floor = f.image_xy[list(free_pts), 1].copy()
        f.image_xy[:, 1] -= rise[i]  # the whole body rises over the step
        f.image_xy[list(stance_pts), 1] = floor - 60.0  # the stance foot stays on the step
        f.image_xy[list(free_pts), 1] = floor - rise[i]  # the free foot travels with the body
        if rise[i] >= 59.0:  # at the top: the stance ankle wobbles, the free one is steady
            f.image_xy[list(stance_pts), 0] += wobble[i]

    flat = np.full(len(t), 5.0)
    result = run_legs("step-up", flat, flat, edit=step_up)
    assert len(result.reps) == 3
    assert [r.rep.legs for r in result.reps] == [(stance,)] * 3


def test_knee_angle_work_filmed_from_the_front_is_told_to_film_it_from_the_side():
    """A knee bending toward a camera in front is foreshortened: knee extension filmed from the
    front gets the warning, a squat filmed from the front does not."""
    t = np.arange(0, 1.5 + 3 * 3.0 + 1.0, 1 / FPS)
    bend, still = bumps(t, 3, 5.0, 70.0), np.full_like(t, 5.0)
    side_warning = lambda result: [w for w in result.warnings if "film it from the side" in w]  # noqa: E731
    assert side_warning(run_legs("knee-extension", bend, still))
    assert not side_warning(run_legs("squat", bend, bend))
