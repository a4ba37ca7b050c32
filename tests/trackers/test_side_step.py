"""band-walk and side-push on constructed landmarks (pure, fast): sideways steps counted per
direction as the person crosses the frame, push-off at the leading foot's start, the narrowest ankle
distance per step against the standing hip width, push-off valgus on the knees that caved, the
live "keep the band tight" cue on the narrow steps only, and neither a stance change nor a leg
swung out and back in the air counted."""

from __future__ import annotations

import numpy as np
import pytest

from formcheck.config import Config
from formcheck.core.landmarks import PoseLandmark as P, Side
from formcheck.judging.cues import BandCue, BandCueEngine
from tests.builders import HIP_HALF, PX_PER_M
from tests.trackers.test_trackers_exercises import FPS, run_legs

L, R = Side.LEFT, Side.RIGHT
FOOT = {L: (P.LEFT_ANKLE, P.LEFT_HEEL, P.LEFT_FOOT_INDEX), R: (P.RIGHT_ANKLE, P.RIGHT_HEEL, P.RIGHT_FOOT_INDEX)}
KNEE = {L: P.LEFT_KNEE, R: P.RIGHT_KNEE}
HIP_PX = 2 * HIP_HALF * PX_PER_M  # the builder's hip width in the image (60 px)
IMAGE_SIGN = {L: 1.0, R: -1.0}  # the person faces the camera: their left is the image's right


def _ramp(n: int) -> np.ndarray:
    s = np.linspace(0.0, 1.0, n)
    return s * s * s * (10 - 15 * s + 6 * s * s)  # minimum jerk, as the synthetic scripts ease


def walk(directions: list[Side], step_px: float = 90.0, narrow: tuple[int, ...] = (), close_px: float = 45.0,
         lead_s: float = 1.5, bend_s: float = 0.6, pause_s: float = 0.35, tail_s: float = 1.5):
    """Per frame: each ankle's image x offset from where the builder stands it, knee flexion, and
    each step's scripted (push-off frame, trailing-foot-settled frame, direction). Steps listed in
    `narrow` bring the trailing foot `close_px` closer than it started (the next step's lead
    makes it up), so their narrowest gap is known exactly."""
    out_n, in_n, pause_n = int(0.35 * FPS), int(0.35 * FPS), int(pause_s * FPS)
    n = int((lead_s + bend_s + len(directions) * (0.35 + 0.15 + 0.35 + pause_s) + tail_s) * FPS)
    dx = {L: np.zeros(n), R: np.zeros(n)}
    flex = np.full(n, 5.0)
    a = int(lead_s * FPS)
    b = a + int(bend_s * FPS)
    flex[a:b] = 5.0 + 30.0 * _ramp(b - a)
    flex[b:] = 35.0
    f, owed, truth = b + int(0.3 * FPS), 0.0, []
    for k, d in enumerate(directions):
        lead, trail = d, d.other
        sign = IMAGE_SIGN[d]  # toward the person's own `d` side in the image
        out = step_px + owed
        back = step_px + (close_px if k in narrow else 0.0)
        owed = close_px if k in narrow else 0.0
        push = f
        dx[lead][f:] += sign * out * np.concatenate([_ramp(out_n), np.ones(n - f - out_n)])
        f += out_n + int(0.15 * FPS)
        dx[trail][f:] += sign * back * np.concatenate([_ramp(in_n), np.ones(n - f - in_n)])
        f += in_n
        truth.append((push, f - 1, d))
        f += pause_n
    flex[f:] = 35.0 - 30.0 * np.concatenate([_ramp(min(int(0.6 * FPS), n - f)), np.ones(max(0, n - f - int(0.6 * FPS)))])
    return dx, flex, truth


def _editor(dx, caving, truth, n):
    """The body carried along with its feet (pelvis over their midpoint), each foot moved by its
    offset; `caving[k]`: knees 25 px toward the midline from 0.2 s before step k's push-off to 0.2 s after."""
    shift = {L: np.zeros(n), R: np.zeros(n)}
    for k, legs in (caving or {}).items():
        push = truth[k][0]
        for leg in legs:
            shift[leg][push - 6 : push + 7] = 25.0

    def edit(i, f):
        pelvis = (dx[L][i] + dx[R][i]) / 2
        f.image_xy[:, 0] += pelvis
        for side in (L, R):
            own = dx[side][i] - pelvis
            for lm in FOOT[side]:
                f.image_xy[lm, 0] += own
            f.image_xy[KNEE[side], 0] += own / 2 - IMAGE_SIGN[side] * shift[side][i]

    return edit


def _run(exercise: str, dx, flex, caving: dict[int, tuple[Side, ...]] | None = None, truth=None):
    return run_legs(exercise, flex, flex, edit=_editor(dx, caving, truth, len(flex)))


def test_band_walk_counts_steps_per_direction_while_crossing_the_frame():
    directions = [L, L, L, R, R, R]
    dx, flex, truth = walk(directions)
    result = _run("band-walk", dx, flex)
    steps = [s.rep for s in result.reps]
    assert [r.step.direction for r in steps] == directions
    assert [r.step.pushing for r in steps] == [d.other for d in directions]
    for rep, (push, end, _) in zip(steps, truth):
        assert rep.legs == (L, R)  # trailing and leading knee
        assert abs(rep.start_i - push) <= 2, (rep.start_i, push)
        assert abs(rep.end_i - end) <= 3, (rep.end_i, end)
        assert rep.step.flexion_held_deg == pytest.approx(35.0, abs=2.0)
    assert result.warnings == [] and result.view.value == "frontal"  # crossing the frame is no fault


def test_band_walk_narrowest_gap_per_step_against_hip_width_and_its_threshold():
    directions = [R, R, R, R]
    dx, flex, truth = walk(directions, narrow=(1,))
    result = _run("band-walk", dx, flex)
    assert len(result.reps) == 4
    start_gap = 2 * (HIP_HALF + 0.02) * PX_PER_M  # the builder's ankles: 72 px
    want = [start_gap / HIP_PX, (start_gap - 45.0) / HIP_PX, start_gap / HIP_PX, start_gap / HIP_PX]
    got = [s.rep.step.min_separation for s in result.reps]
    assert got == pytest.approx(want, abs=0.06)
    limit = Config().thresholds.band_min_ankle_separation
    assert [s.feet_too_close for s in result.reps] == [w < limit for w in want] == [False, True, False, False]


def test_frames_csv_carries_the_ankle_separation_the_band_rule_reads(tmp_path):
    """frames.csv's feet_apart_hip_widths: per frame, the separation the band rule judged, so
    each step's narrowest value is in the CSV; empty for exercises without a band."""
    import csv

    from formcheck.reporting.outputs import write_frames_csv

    dx, flex, truth = walk([R, R, R, R], narrow=(1,))
    result = _run("band-walk", dx, flex)
    write_frames_csv(tmp_path / "frames.csv", result)
    rows = list(csv.DictReader((tmp_path / "frames.csv").open()))
    assert len(rows) == len(flex)
    for s in result.reps:
        at = rows[s.rep.step.min_separation_i]  # the step's narrowest frame, as the tracker read it
        assert float(at["feet_apart_hip_widths"]) == pytest.approx(s.rep.step.min_separation, abs=0.001)
    narrow = rows[result.reps[1].rep.step.min_separation_i]
    assert float(narrow["feet_apart_hip_widths"]) < Config().thresholds.band_min_ankle_separation
    # Feet out of view for a second (longer than the report pass bridges): no separation there,
    # nothing the band rule (or its live cue) could judge.
    edit = _editor(dx, None, truth, len(flex))
    hidden = range(truth[2][1] + 3, truth[2][1] + 3 + int(FPS))

    def hide(i, f):
        edit(i, f)
        if i in hidden:
            for side in (L, R):
                f.image_xy[list(FOOT[side])] = np.nan
                f.visibility[list(FOOT[side])] = 0.0

    gap = run_legs("band-walk", flex, flex, edit=hide)
    write_frames_csv(tmp_path / "gap.csv", gap)
    cells = [r["feet_apart_hip_widths"] for r in csv.DictReader((tmp_path / "gap.csv").open())]
    assert cells[hidden[len(hidden) // 2]] == ""
    squat = run_legs("squat", flex, flex)
    write_frames_csv(tmp_path / "squat.csv", squat)
    assert {r["feet_apart_hip_widths"] for r in csv.DictReader((tmp_path / "squat.csv").open())} == {""}


def test_band_walk_flags_push_off_valgus_on_the_caving_knees_only():
    directions = [L, L, L, L, L]
    dx, flex, truth = walk(directions)
    caving = {1: (R,), 3: (L, R)}  # step 2: the trailing knee; step 4: both
    result = _run("band-walk", dx, flex, caving, truth)
    assert len(result.reps) == 5
    for k, score in enumerate(result.reps):
        for side in (L, R):
            v = score.verdict[side]
            assert v.measure.value == "fppa", v
            assert v.valgus is (side in caving.get(k, ())), (k, side, v)


def test_band_walk_live_cues_the_narrow_step_and_the_caving_knees():
    """The per-frame (live) path: "keep the band tight" while the narrow step's trailing foot is
    in, and "push your right knee out" at step 2's push-off; nothing on the other steps."""
    from formcheck.media.sources import Frame
    from formcheck.pipeline.stages import Pipeline
    from formcheck.trackers import tracker_class
    from tests.builders import LegPose, pose_frame
    from tests.trackers.test_trackers_exercises import BLANK

    directions = [L, L, L, L, L]
    dx, flex, truth = walk(directions, narrow=(3,))
    edit = _editor(dx, {1: (R,)}, truth, len(flex))
    pipe = Pipeline(None, tracker_class("band-walk")(), Config())  # type: ignore[arg-type]
    rng = np.random.default_rng(1)
    for i in range(len(flex)):
        f = pose_frame(i / FPS, LegPose(flex[i]), LegPose(flex[i]), noise_px=0.5, rng=rng)
        edit(i, f)
        pipe.process_pose(Frame(i, i / FPS, BLANK), f)
    cues = pipe.recording.cue_events
    band = [c for c in cues if isinstance(c, BandCue)]
    knees = [c for c in cues if not isinstance(c, BandCue)]
    narrow_push, narrow_end, _ = truth[3]
    assert len(band) == 1 and narrow_push / FPS < band[0].raised_s <= narrow_end / FPS + 0.5, band
    assert [c.leg for c in knees] == [R] and abs(knees[0].raised_s - truth[1][0] / FPS) <= 0.3, knees


def test_side_push_counts_pushes_per_direction_and_judges_the_pushing_knee():
    directions = [R, L, R, L, R, L]
    dx, flex, truth = walk(directions, step_px=110.0)
    caving = {2: (L,), 3: (R,)}  # the pushing (trailing) knee caves
    result = _run("side-push", dx, flex, caving, truth)
    steps = [s.rep for s in result.reps]
    assert [r.step.direction for r in steps] == directions
    assert [r.legs for r in steps] == [(d.other,) for d in directions]
    assert all(r.step.min_separation is None for r in steps)  # no band rule
    assert [score.valgus for score in result.reps] == [
        {d.other: k in caving} for k, d in enumerate(directions)
    ]


def test_a_wider_stance_or_a_shuffle_in_place_is_not_a_step():
    """Setting the feet wider (one foot out, the other stays) and a small fidget of one foot."""
    n = int(8 * FPS)
    flex = np.full(n, 35.0)
    dx = {L: np.zeros(n), R: np.zeros(n)}
    a = int(1.5 * FPS)
    dx[L][a:] += 60.0 * np.concatenate([_ramp(12), np.ones(n - a - 12)])  # stays out
    b = int(5 * FPS)
    dx[R][b : b + 20] -= 8.0 * np.sin(np.linspace(0, np.pi, 20))  # a fidget under step_on
    result = _run("band-walk", dx, flex)
    assert result.reps == []


def test_band_cue_engine_raises_below_the_limit_once_per_step():
    eng = BandCueEngine(Config().cues)
    raised: list[BandCue] = []
    t = 0.0
    for step, apart in [(0, 1.4)] * 10 + [(0, 0.5)] * 10 + [(0, 1.4)] * 10 + [(1, 0.5)] * 10 + [(1, 1.0)] * 5:
        t += 1 / FPS
        for c in eng.update(t, apart, 0.8, True, step):
            if c.raised_s == t:
                raised.append(c)
    assert len(raised) == 2 and all(c.message == "Keep the band tight" and c.leg is None for c in raised)
    # not while unloaded (standing with the feet together before the walk)
    eng = BandCueEngine(Config().cues)
    assert all(not eng.update(k / FPS, 0.4, 0.8, False, 0) for k in range(30))


def _out_and_in(closing: Side, lift: str):
    """The left foot steps out 100 px; then `closing` closes the gap (the left foot back: a swing;
    the right foot following: a step). `lift`: the left foot 60 px up (0.23 body lengths, a knee
    raised) "throughout" the movement, only "on the way out" (down before the feet are widest), or
    "never"."""
    n = int(6 * FPS)
    a, out_n, hold_n = int(1.5 * FPS), int(0.4 * FPS), int(0.6 * FPS)
    out = np.zeros(n)
    out[a : a + out_n] = _ramp(out_n)
    out[a + out_n :] = 1.0
    back = np.zeros(n)
    back[a + out_n + hold_n : a + 2 * out_n + hold_n] = _ramp(out_n)
    back[a + 2 * out_n + hold_n :] = 1.0
    sign = IMAGE_SIGN[L] * 100.0
    dx = {L: sign * (out - back), R: np.zeros(n)} if closing is L else {L: sign * out, R: sign * back}
    up = np.zeros(n)
    if lift == "throughout":
        up[a - int(0.5 * FPS) : a + 2 * out_n + hold_n + int(0.5 * FPS)] = 60.0
    elif lift == "on the way out":
        up[a - int(0.5 * FPS) : a + out_n // 2] = 60.0
    return dx, up, n


@pytest.mark.parametrize("exercise", ["band-walk", "side-push"])
def test_a_leg_swung_out_and_back_off_the_floor_is_not_a_step(exercise):
    """Standing on the right leg (a single-leg catch), the free left foot lifted, swung out and
    brought back in the air: the ankles open and close as in a step, but the foot never took
    weight. Rejected, with its reason; counted as a step when the foot touches down at the
    widest, when the trailing foot closes the gap, and when nothing is lifted."""
    flex = np.full(int(6 * FPS), 30.0)

    def run(closing: Side, lift: str):
        dx, up, n = _out_and_in(closing, lift)
        return run_legs(exercise, flex, flex, lift=(up, np.zeros(n)), edit=_editor(dx, None, None, n))

    swung = run(L, "throughout")
    assert swung.reps == [] and any("never touched down" in r.reason for r in swung.rejected), swung.rejected
    for closing, lift in [(L, "on the way out"), (L, "never"), (R, "throughout"), (R, "never")]:
        stepped = run(closing, lift)
        assert len(stepped.reps) == 1 and stepped.reps[0].rep.step.direction is L, (closing, lift)
