"""Each rep is judged against the standing just before it (scoring.StandingReference)."""

from __future__ import annotations

import numpy as np

from formcheck.core.landmarks import Side
from formcheck.core.metrics import compute_metrics
from formcheck.judging.frame_judge import LiveBaseline
from formcheck.judging.scoring import MIN_REFERENCE_FRAMES, STANDING_FRAMES, StandingInputs, StandingReference, compute_baseline
from formcheck.trackers.base import RepWindow
from tests.builders import LegPose, pose_frame


def _inputs(n: int, knee_toe: np.ndarray, flexion: np.ndarray) -> StandingInputs:
    both = lambda a: np.stack([a, a], axis=-1).astype(np.float32)  # noqa: E731
    return StandingInputs(
        flexion_deg=both(flexion), frontal=np.ones(n, dtype=bool), fppa_deg=both(np.zeros(n)),
        thigh_ratio=both(np.ones(n)), knee_toe_px=both(knee_toe), shank_px=both(np.full(n, 100.0)),
    )  # fmt: skip


def _rep(index: int, start: int, end: int) -> RepWindow:
    return RepWindow(index, start, (start + end) // 2, end, start / 30, (start + end) / 60, end / 30, (Side.LEFT, Side.RIGHT))


def test_a_stance_reset_between_reps_moves_the_reference_with_it():
    """Narrow stance, a rep, feet set wide, a rep: the wide rep's knees are judged against the
    wide standing, not the narrow one taken before the first rep."""
    n = 300
    knee_toe = np.where(np.arange(n) < 120, 10.0, 40.0)  # knee over the toes: 10 px narrow, 40 px wide
    flexion = np.full(n, 5.0)
    reps = [_rep(1, 50, 100), _rep(2, 200, 250)]
    flexion[50:101] = flexion[200:251] = 90.0
    s = _inputs(n, knee_toe, flexion)
    session = compute_baseline(s, reps)
    reference = StandingReference(s, reps, session)
    assert session.knee_toe_px[Side.LEFT] == 10.0  # taken before the first rep
    assert reference.before(50).knee_toe_px[Side.LEFT] == 10.0
    assert reference.before(200).knee_toe_px[Side.LEFT] == 40.0
    assert reference.before(200).frames == STANDING_FRAMES


def test_a_leg_not_seen_standing_before_the_rep_has_no_knee_to_toe_reference():
    """The clip starts mid-rep: the standing after it may be another stance (people reset their
    feet), and live could not know it, so the rep has no knee-to-toe reference (its absolute
    offset decides); FPPA and thigh length keep the session's."""
    n = 200
    flexion = np.full(n, 5.0)
    flexion[:60] = 90.0  # the clip starts mid-rep: no standing before it
    reps = [_rep(1, 0, 59)]
    s = _inputs(n, np.full(n, 25.0), flexion)
    session = compute_baseline(s, reps)
    before = StandingReference(s, reps, session).before(0)
    assert session.knee_toe_px[Side.LEFT] == 25.0
    assert before.knee_toe_px[Side.LEFT] is None and before.shank_px[Side.LEFT] is None
    assert before.fppa_deg == session.fppa_deg and before.thigh_ratio == session.thigh_ratio
    assert before.frames == 0


def test_a_few_standing_frames_before_a_rep_are_not_a_reference():
    """Five frames of standing before the first rep (a clip that starts as the person squats):
    their knee-to-toe median is noise against a 0.04 shank-length limit, so neither the rep nor
    the session takes it; the session's baseline is the standing after the rep."""
    n = 200
    flexion = np.full(n, 5.0)
    flexion[5:60] = 90.0
    knee_toe = np.where(np.arange(n) < 5, 19.0, 10.0)
    reps = [_rep(1, 5, 59)]
    s = _inputs(n, knee_toe, flexion)
    session = compute_baseline(s, reps)
    assert session.knee_toe_px[Side.LEFT] == 10.0
    assert StandingReference(s, reps, session).before(5).knee_toe_px[Side.LEFT] is None
    assert StandingReference(s, reps, session).before(150).knee_toe_px[Side.LEFT] == 10.0


def test_a_clip_that_never_stands_long_enough_has_no_knee_to_toe_reference():
    """With under MIN_REFERENCE_FRAMES standing frames in the whole clip, the change from standing
    is not judged (recorded and live alike): the absolute offset over the toes decides instead."""
    n = 60
    flexion = np.full(n, 90.0)
    flexion[:MIN_REFERENCE_FRAMES - 1] = 5.0
    reps = [_rep(1, MIN_REFERENCE_FRAMES - 1, n - 1)]
    s = _inputs(n, np.full(n, 10.0), flexion)
    session = compute_baseline(s, reps)
    assert session.knee_toe_px[Side.LEFT] is None and session.shank_px[Side.LEFT] is None
    assert session.fppa_deg[Side.LEFT] == 0.0  # the other standing values need no such count
    assert StandingReference(s, reps, session).before(reps[0].start_i).knee_toe_px[Side.LEFT] is None
    live = LiveBaseline()
    for k in range(MIN_REFERENCE_FRAMES):
        assert live.baseline.knee_toe_px[Side.LEFT] is None and (live.baseline.fppa_deg[Side.LEFT] is None) == (k == 0)
        p = pose_frame(k / 30, LegPose(0.0), LegPose(0.0))
        live.note(compute_metrics(np.float64(k / 30), p.image_xy, p.world_xyz))
    assert live.baseline.knee_toe_px[Side.LEFT] is not None and live.baseline.shank_px[Side.LEFT] is not None
