"""Each rep is judged against the standing just before it (scoring.StandingReference)."""

from __future__ import annotations

import numpy as np

from formcheck.core.landmarks import Side
from formcheck.judging.scoring import STANDING_FRAMES, StandingInputs, StandingReference, compute_baseline
from formcheck.trackers.base import RepWindow


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


def test_a_leg_not_seen_standing_before_the_rep_keeps_the_sessions_reference():
    n = 200
    flexion = np.full(n, 5.0)
    flexion[:60] = 90.0  # the clip starts mid-rep: no standing before it
    reps = [_rep(1, 0, 59)]
    s = _inputs(n, np.full(n, 25.0), flexion)
    session = compute_baseline(s, reps)
    reference = StandingReference(s, reps, session)
    assert reference.before(0).knee_toe_px == session.knee_toe_px
    assert reference.before(0).frames == 0
