"""Per-rep valgus scores and live cues on synthetic squats with a known medial knee shift."""

from __future__ import annotations

import numpy as np
import pytest

from formcheck.config import Config, CueConfig, Thresholds
from formcheck.core.landmarks import Side
from formcheck.core.metrics import compute_metrics
from formcheck.judging.cues import CueEngine
from formcheck.judging.frame_judge import FrameJudge
from formcheck.judging.scoring import held_max
from formcheck.judging.verdict import Basis, Measure, decide, measures_for
from formcheck.pipeline.session import summarize
from formcheck.trackers import tracker_class
from tests.builders import LegPose, pose_frame, rep_windows, squat_flexion
from tests.conftest import load_summary
from tests.trackers.test_squat_tracker import FPS, INFO, run, times


def shifts(t: np.ndarray, flex: np.ndarray, per_rep_left: list[float], reps: int, period: float = 2.0) -> np.ndarray:
    """Medial knee shift (m) of the left knee, growing with depth, one value per rep."""
    out = np.zeros((len(t), 2))
    depth = (flex - 15.0) / max(flex.max() - 15.0, 1e-9)
    for (start, _, end), s in zip(rep_windows(reps, period_s=period), per_rep_left):
        inside = (t >= start) & (t < end)
        out[inside, 0] = s * depth[inside]
    return out


def test_moderate_squat_flags_only_the_caving_knee_on_the_caving_reps():
    reps = 4
    t = times(1.5 + reps * 3.0 + 1.0)
    flex = squat_flexion(t, reps, depth_deg=55.0)  # moderate: FPPA is the measure
    shift = shifts(t, flex, [0.0, 0.06, 0.0, 0.06], reps)
    pipe, results = run(flex, shift=shift)
    result = summarize(pipe.recording, "squat", Config(), INFO)
    assert [s.basis for s in result.reps] == [Basis.FPPA] * reps
    assert [s.valgus[Side.LEFT] for s in result.reps] == [False, True, False, True]
    assert not any(s.valgus[Side.RIGHT] for s in result.reps)
    caving = result.reps[1]
    bottom = caving.rep.bottom_i
    true_peak = float(_frame_metrics(t[bottom], flex[bottom], shift[bottom, 0]).left.fppa_deg)
    assert true_peak > 12
    assert caving.peak_fppa_deg[Side.LEFT] == pytest.approx(true_peak, abs=1.5)
    assert abs(result.reps[0].peak_fppa_deg[Side.LEFT]) < 5
    standing = float(_frame_metrics(0.0, 15.0, 0.0).left.fppa_deg)
    assert result.baseline.fppa_deg[Side.LEFT] == pytest.approx(standing, abs=1.0)


def test_deep_squat_is_judged_against_the_foot():
    reps = 2
    t = times(1.5 + reps * 3.0 + 1.0)
    flex = squat_flexion(t, reps, depth_deg=110.0)
    shift = shifts(t, flex, [0.0, 0.12], reps)
    pipe, _ = run(flex, shift=shift)
    result = summarize(pipe.recording, "squat", Config(), INFO)
    assert [s.basis for s in result.reps] == [Basis.KNEE_TOE, Basis.KNEE_TOE]
    assert result.reps[0].fppa_deg[Side.LEFT] is None  # unusable at the bottom: null, not a wrong number
    assert [s.valgus[Side.LEFT] for s in result.reps] == [False, True]


TOE_OUT_PX = 4.0  # each foot-index landmark 1.3 cm lateral of where the builder puts it: toes out
FAR_TOE_OUT_PX = 36.0  # 12 cm: toes turned far out


def run_toes_out(flex: np.ndarray, shift: np.ndarray, config: Config | None = None, toe_out_px: float = TOE_OUT_PX,
                 exercise: str = "squat"):  # fmt: skip
    """A squat whose feet are turned out while the knees stay over the ankles, so the knee reads
    inside its toes (0.15 shank lengths at the bottom; 0.53 with `FAR_TOE_OUT_PX`) while it moves
    nowhere from standing."""
    from formcheck.core.landmarks import PoseLandmark as P
    from formcheck.pipeline.stages import Pipeline
    from formcheck.media.sources import Frame
    from formcheck.trackers import tracker_class

    pipe = Pipeline(None, tracker_class(exercise)(), config or Config())  # type: ignore[arg-type]
    rng = np.random.default_rng(1)
    for i, f in enumerate(flex):
        p = pose_frame(i / FPS, LegPose(f, shift[i, 0]), LegPose(f, shift[i, 1]), noise_px=0.5, rng=rng)
        p.image_xy[P.LEFT_FOOT_INDEX, 0] += toe_out_px  # the person's left is on the image right
        p.image_xy[P.RIGHT_FOOT_INDEX, 0] -= toe_out_px
        pipe.process_pose(Frame(i, i / FPS, np.zeros((2, 2, 3), np.uint8)), p)
    return pipe


def test_deep_squat_with_toes_out_is_judged_by_the_change_from_standing():
    reps = 2
    t = times(1.5 + reps * 3.0 + 1.0)
    flex = squat_flexion(t, reps, depth_deg=110.0)
    shift = shifts(t, flex, [0.0, 0.06], reps)  # rep 2: the left knee 6 cm medial at the bottom
    pipe = run_toes_out(flex, shift)
    new = summarize(pipe.recording, "squat", Config(), INFO)
    assert [s.basis for s in new.reps] == [Basis.KNEE_TOE] * reps
    assert [s.valgus[Side.LEFT] for s in new.reps] == [False, True]
    assert not any(s.valgus[Side.RIGHT] for s in new.reps)
    # 6 cm over the 43 cm standing shank: the change is read in standing shank lengths and is
    # positive for the medial move (the shank's image, tilted toward the camera, is ~35% shorter).
    assert new.reps[1].peak_knee_toe_change[Side.LEFT] == pytest.approx(0.06 / 0.43, abs=0.02)
    assert new.reps[0].peak_knee_toe_change[Side.LEFT] == pytest.approx(0.0, abs=0.02)
    assert new.baseline.knee_toe_px[Side.LEFT] == pytest.approx(TOE_OUT_PX + 0.03 * 300, abs=1.0)  # builder toe: 3 cm lateral
    assert all(s.verdict[Side.LEFT].measure is Measure.KNEE_TOE_CHANGE for s in new.reps)


def test_a_knee_ending_far_inside_its_toes_caves_in_a_two_footed_squat_whatever_its_change():
    """Toes turned far out, knees kept over the ankles: the knee ends half a shank length inside
    its toes without moving from standing. In a two-footed squat that is the fault (the knee not
    following the foot), flagged by the absolute offset gate; the configured thresholds (lunges,
    whose bent knee sits over a turned-out foot) judge the change alone and leave it."""
    reps = 2
    t = times(1.5 + reps * 3.0 + 1.0)
    flex = squat_flexion(t, reps, depth_deg=110.0)
    pipe = run_toes_out(flex, np.zeros((len(t), 2)), toe_out_px=FAR_TOE_OUT_PX)
    squat = summarize(pipe.recording, "squat", Config(), INFO)
    limit = Thresholds().valgus_knee_toe_squat
    for s in squat.reps:
        v = s.verdict[Side.LEFT]
        assert (v.valgus, v.measure, v.limit) == (True, Measure.KNEE_TOE, limit)
        assert s.peak_knee_toe_change[Side.LEFT] == pytest.approx(0.0, abs=0.02)
        assert s.peak_knee_toe_offset[Side.LEFT] > limit + 0.2
    assert squat.thresholds.knee_toe_gate and not Thresholds().knee_toe_gate
    # The same knees judged by the configured thresholds, as a lunge's are: the change decides.
    assert tracker_class("lunge")().thresholds(Thresholds()) == Thresholds()
    assert tracker_class("lean-back-squat")().thresholds(Thresholds()).knee_toe_gate
    values = {Measure.KNEE_TOE_CHANGE: squat.reps[0].peak_knee_toe_change[Side.LEFT],
              Measure.KNEE_TOE: squat.reps[0].peak_knee_toe_offset[Side.LEFT], Measure.SHANK: 0.0}  # fmt: skip
    ungated = decide(measures_for(False, True, True, Thresholds()), values, Thresholds())
    assert (ungated.valgus, ungated.measure) == (False, Measure.KNEE_TOE_CHANGE)


def test_a_knee_already_caved_when_standing_is_caught_by_the_shank_gate():
    """Standing knock-kneed (the knee 10 cm medial all along), the knee caves from the first frame.
    Its standing is never straight enough to be a knee-to-toe reference (live could not take one
    either), so without the shank gate the absolute offset over the toes judges it; with the gate
    the shank leaning in past its limit decides, the furthest past its limit."""
    reps = 2
    t = times(1.5 + reps * 3.0 + 1.0)
    flex = squat_flexion(t, reps, depth_deg=110.0)
    shift = np.zeros((len(t), 2))
    shift[:, 0] = 0.10  # the left knee 10 cm medial all along, standing included
    pipe, _ = run(flex, shift=shift)
    change_only = summarize(pipe.recording, "squat", Config(thresholds=Thresholds(shank_gate=False)), INFO)
    assert [s.valgus[Side.LEFT] for s in change_only.reps] == [True, True]
    assert all(s.verdict[Side.LEFT].measure is Measure.KNEE_TOE for s in change_only.reps)
    # The shank alone (the squat's absolute offset limit set out of reach) catches it too.
    gated = summarize(pipe.recording, "squat", Config(thresholds=Thresholds(valgus_knee_toe_squat=5.0)), INFO)
    assert [s.valgus[Side.LEFT] for s in gated.reps] == [True, True]
    assert all(s.verdict[Side.LEFT].measure is Measure.SHANK for s in gated.reps)
    assert not any(s.valgus[Side.RIGHT] for s in gated.reps)


def test_live_cue_uses_the_same_change_from_standing():
    reps = 2
    t = times(1.5 + reps * 3.0 + 1.0)
    flex = squat_flexion(t, reps, depth_deg=110.0)
    shift = shifts(t, flex, [0.0, 0.06], reps)
    pipe = run_toes_out(flex, shift)
    windows = rep_windows(reps)
    cued = sorted({k for c in pipe.recording.cue_events for k, (s, _, e) in enumerate(windows) if s <= c.raised_s <= e})
    assert cued == [1]
    assert all(c.basis == "knee_toe" and c.leg is Side.LEFT for c in pipe.recording.cue_events)
    # Toes turned far out with the knees over the ankles: live cues every rep, as the squat's
    # absolute offset gate flags every rep in the recorded pass.
    far = run_toes_out(flex, np.zeros((len(t), 2)), toe_out_px=FAR_TOE_OUT_PX)
    assert sorted({k for c in far.recording.cue_events for k, (s, _, e) in enumerate(windows) if s <= c.raised_s <= e}) == [0, 1]


def test_turned_body_is_not_scored():
    reps = 2
    t = times(1.5 + reps * 3.0 + 1.0)
    flex = squat_flexion(t, reps, depth_deg=55.0)
    from formcheck.pipeline.stages import Pipeline
    from formcheck.media.sources import Frame
    from formcheck.trackers import tracker_class

    pipe = Pipeline(None, tracker_class("squat")(), Config())  # type: ignore[arg-type]
    for i, f in enumerate(flex):
        pipe.process_pose(Frame(i, i / FPS, np.zeros((2, 2, 3), np.uint8)), pose_frame(i / FPS, LegPose(f, 0.05), LegPose(f), yaw_deg=35))
    result = summarize(pipe.recording, "squat", Config(), INFO)
    assert len(result.reps) == 2
    assert all(s.basis is None and s.valgus[Side.LEFT] is None for s in result.reps)
    assert any("oblique" in w for w in result.warnings)


def _frame_metrics(t: float, flex: float, shift: float):
    p = pose_frame(t, LegPose(flex, shift), LegPose(flex))
    return compute_metrics(np.float64(t), p.image_xy, p.world_xyz)


def test_cue_debounce_hysteresis_and_cooldown():
    engine = CueEngine(CueConfig(debounce_s=0.05, release_margin=0.7, cooldown_s=2.0))
    judge = FrameJudge(Thresholds())
    legs = (Side.LEFT, Side.RIGHT)
    seq = [(0.00, 0.0), (0.05, 0.06), (0.10, 0.06), (0.15, 0.06), (0.20, 0.04), (0.25, 0.0), (0.5, 0.06), (0.6, 0.06), (2.4, 0.06), (2.5, 0.06)]
    fired = []
    for t, s in seq:
        cues = engine.update(t, judge.update(_frame_metrics(t, 40.0, s), loaded=True), legs, loaded=True)
        fired.append([c.leg for c in cues])
    assert fired[1] == []  # just crossed: debounce not yet over
    assert fired[2] == [Side.LEFT]  # 0.05 s past the threshold
    assert fired[4] == [Side.LEFT]  # between release and threshold: held (no flicker)
    assert fired[5] == []  # released
    assert fired[6] == [] and fired[7] == []  # cool-down
    assert fired[9] == [Side.LEFT]  # after the cool-down it may fire again


def test_a_new_rep_ends_the_cool_down_though_the_legs_stay_loaded():
    """Hop landings and sideways steps can follow each other without the legs unloading: the
    same caving knee, released and caving again 0.4 s later, is cued again when that is a new
    rep, and not within the same one."""
    judge = FrameJudge(Thresholds())
    seq = [(0.00, 0.06, 1), (0.10, 0.06, 1), (0.20, 0.0, 1), (0.50, 0.06, 2), (0.60, 0.06, 2)]
    for new_rep, expected in ((True, [Side.LEFT]), (False, [])):
        engine = CueEngine(CueConfig(debounce_s=0.05, release_margin=0.7, cooldown_s=2.0))
        fired = []
        for t, s, rep in seq:
            verdicts = judge.update(_frame_metrics(t, 40.0, s), loaded=True)
            cues = engine.update(t, verdicts, (Side.LEFT,), loaded=True, rep=rep if new_rep else 1)
            fired.append([c.leg for c in cues if c.raised_s == t])
        assert fired[1] == [Side.LEFT] and fired[2] == []
        assert fired[4] == expected


def test_no_cue_when_not_loaded():
    engine, judge = CueEngine(CueConfig()), FrameJudge(Thresholds())
    for t in np.arange(0, 1, 1 / FPS):
        verdicts = judge.update(_frame_metrics(float(t), 40.0, 0.08), loaded=False)
        assert verdicts[Side.LEFT].valgus  # past the limit, but the leg is not loaded
        assert engine.update(float(t), verdicts, (Side.LEFT,), loaded=False) == []


def test_live_cue_fires_within_150_ms_of_crossing_on_caving_reps_only():
    reps = 3
    t = times(1.5 + reps * 3.0 + 1.0)
    flex = squat_flexion(t, reps, depth_deg=55.0)
    shift = shifts(t, flex, [0.0, 0.06, 0.0], reps)
    pipe, results = run(flex, shift=shift, noise_px=0.5)
    events = pipe.recording.cue_events
    windows = rep_windows(reps)
    cued_reps = sorted({k for c in events for k, (s, _, e) in enumerate(windows) if s <= c.raised_s <= e})
    assert cued_reps == [1]
    # Latency from the true threshold crossing (exact FPPA of the constructed pose) to the cue.
    true_fppa = np.array([float(_frame_metrics(ti, f, sh).left.fppa_deg) for ti, f, sh in zip(t, flex, shift[:, 0])])
    crossing = t[np.argmax(true_fppa > Thresholds().valgus_fppa_deg)]
    assert 0 <= events[0].raised_s - crossing <= 0.150


def test_real_clean_lateral_lunge_is_not_flagged(analyzed, media_dir, manifest):
    """The toes-out lateral lunge (labelled clean on all 10 reps) read 0.30-0.37 on the absolute
    knee-to-toe offset and was flagged on every rep; its knee moves laterally relative to its toes
    from standing (change -0.38 to -0.47 measured), so the default rule leaves it unflagged."""
    clip = "lateral_lunge_front_01.mp4"
    if not (media_dir / clip).exists():
        pytest.skip(f"{clip} not in {media_dir}")
    s = load_summary(analyzed(media_dir / clip, "side-lunge"))
    assert s["rep_count"] == manifest[clip]["rep_count"]
    assert s["thresholds"]["knee_toe_from_standing"] is True
    assert all(r["valgus_basis"] == "knee_toe" for r in s["reps"])
    assert not any(v for r in s["reps"] for v in r["valgus"].values())
    changes = [v for r in s["reps"] for v in r["peak_knee_toe_change"].values() if v is not None]
    assert len(changes) >= 9 and max(changes) < 0


def test_a_peak_must_be_held_a_glitch_cannot_set_it():
    t = np.arange(40) / 30.0
    # The report-pass FPPA of a real glitch (squat_front_clean, right knee rising from the bottom):
    # three frames thrown from about -25 to +5 degrees and back.
    x = np.full(40, -25.0)
    x[18:24] = [-23.1, -10.1, 2.3, 5.1, -1.4, -9.5]
    assert held_max(t, x, 0.0) == pytest.approx(5.1)  # the plain maximum
    assert held_max(t, x, 0.1) == pytest.approx(-9.5)  # held over four frames (100 ms)
    # A real cave is a broad hump: holding 100 ms costs a fraction of a degree on a rep's
    # half-second cave, about one degree on a sharp one.
    broad, sharp = (20.0 * np.exp(-(((t - 0.6) / w) ** 2)) for w in (0.5, 0.3))
    assert 19.5 < held_max(t, broad, 0.1) <= 20.0
    assert 19.0 < held_max(t, sharp, 0.1) <= 19.5
    # Never above the plain maximum of the window asked for; runs may reach past its ends, so a
    # rep whose knee is most valgus at its first frame keeps that frame's value.
    falling = np.linspace(5.0, -20.0, 40)
    assert held_max(t, falling, 0.1, lo=10, hi=30) == pytest.approx(falling[10])
    assert held_max(t, falling, 0.1, lo=10, hi=30) <= falling[10:30].max()


def test_held_peak_runs_break_at_missing_samples_not_at_dropped_frames():
    t = np.arange(10) / 30.0
    x = np.array([0, 0, 15, 15, np.nan, 15, 15, 0, 0, 0], dtype=float)
    assert held_max(t, x, 0.1) == 0.0  # two frames each side of a hole: neither run lasts 100 ms
    assert held_max(t, x, 0.03) == 15.0  # two frames span 33 ms
    # Frames dropped (a live session behind): two samples 133 ms apart count as held between them.
    assert held_max(np.array([0.0, 0.133, 0.267]), np.array([15.0, 15.0, 0.0]), 0.1) == 15.0
    assert held_max(t[:3], np.array([np.nan, 15.0, np.nan]), 0.1) is None
    assert held_max(t, np.full(10, np.nan), 0.1) is None
