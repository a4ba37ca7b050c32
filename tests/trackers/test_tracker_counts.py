"""Rep-count failure modes found on the synthetic bench, reproduced on synthetic landmark
sequences (tests/builders.py), so each stays fixed without the pose model."""

from __future__ import annotations

import numpy as np
import pytest

from formcheck.config import Config
from formcheck.core.landmarks import Side
from formcheck.pipeline.session import summarize
from formcheck.trackers import RepRejected
from tests.builders import PX_PER_M, SHANK, THIGH, rep_windows, squat_flexion
from tests.trackers.test_squat_tracker import INFO, run, times
from tests.trackers.test_trackers_exercises import FPS, bumps, run_legs

LEG_PX = (THIGH + SHANK) * PX_PER_M  # a standing leg's image length in the builder


def _lost_reasons(results) -> list[str]:
    return [e.reason for r in results for e in r.events if isinstance(e, RepRejected) and "lost" in e.reason]


def test_rep_lost_mid_way_is_rejected_once_not_split():
    """The person is lost for 1.4 s around the bottom of rep 2 and comes back still deep. The rep
    is rejected (its bottom was never seen), and what is left of it, the ascent, must not count as
    a rep of its own. Before the fix the counter restarted on the return and counted that
    fragment: the synthetic side lunge at yaw 15 counted 5 of 4 this way."""
    reps = 3
    t = times(1.5 + reps * 5.0 + 1.0)
    flex = squat_flexion(t, reps, period_s=4.0)
    start, bottom, end = rep_windows(reps, period_s=4.0)[1]
    present = ~((t > bottom - 0.8) & (t < bottom + 0.6))  # lost after the rep began, back still deep
    assert flex[np.searchsorted(t, bottom - 0.8)] > 65.0 and flex[np.searchsorted(t, bottom + 0.6)] > 75.0
    pipe, results = run(flex, present=present)
    assert results[-1].state.reps_done == reps - 1
    assert len(_lost_reasons(results)) == 1
    report = summarize(pipe.recording, "squat", Config(), INFO)  # the report pass bridges only short gaps
    assert len(report.reps) == reps - 1
    assert all(not (start <= s.rep.bottom_s <= end) for s in report.reps)


def test_reps_after_a_lost_rep_count_again_once_standing():
    """The wait for standing after a lost rep ends at standing: the following reps all count,
    live and in the report."""
    reps = 4
    t = times(1.5 + reps * 3.0 + 1.0)
    flex = squat_flexion(t, reps)
    _, bottom, _ = rep_windows(reps)[0]
    present = ~((t > bottom - 0.6) & (t < bottom + 0.8))
    pipe, results = run(flex, present=present)
    assert results[-1].state.reps_done == reps - 1
    assert len(summarize(pipe.recording, "squat", Config(), INFO).reps) == reps - 1


@pytest.mark.parametrize("exercise", ["step-down", "single-leg-squat"])
def test_stance_leg_reps_ignore_ankles_the_model_raises(exercise):
    """Between reps, standing still, the model draws both ankles 25 % of a leg higher for 0.9 s
    (as it did on the synthetic step-down at yaw 15: low visibility, a 30 % "shortening" of both
    legs): the planted stance foot cannot rise, so these are no reps. Before the fix they counted
    (7 of 4 there), and their outsized range then made a real rep look like a half rep."""
    reps = 4
    t = np.arange(0, 1.5 + reps * 3.0 + 1.0, 1 / FPS)
    bend = bumps(t, reps, 5.0, 70.0)
    still = np.full_like(t, 5.0)
    phantom = np.zeros_like(t)
    for k in range(reps + 1):  # in the lead-in, every rest and the tail
        s = 0.5 + k * 3.0
        phantom[(t >= s) & (t < s + 0.9)] = 0.25 * LEG_PX
    free_up = np.full_like(t, 60.0) if exercise == "single-leg-squat" else np.zeros_like(t)  # its free foot is held up
    lift = (free_up + phantom, phantom)  # stance: right; both ankles drawn higher by the same
    result = run_legs(exercise, still, bend, lift=lift, straight=None if exercise == "single-leg-squat" else Side.LEFT)
    assert len(result.reps) == reps
    assert all(s.rep.legs == (Side.RIGHT,) for s in result.reps)


@pytest.mark.parametrize("exercise", ["squat", "single-leg-squat"])
def test_reps_run_back_to_back_without_standing_up_are_each_counted(exercise):
    """Pistol squats (sls_front_02) and brisk squats come back up only partway (here to 45 degrees
    of knee flexion) before the next descent: each turn back down from most of the way up ends
    one rep and starts the next. A bounce at the bottom (27 degrees up, then down again) stays
    one rep. The counter before REBOUND_FRACTION counted the squats as one rep."""
    t = np.arange(0, 1.5 + 5 * 2.0 + 2.0, 1 / FPS)
    lead, period = 1.5, 2.0
    flex = np.full_like(t, 5.0)
    for k in range(5):  # 5 reps, 5 -> 95 degrees, back up only to 45 between them
        s = lead + k * period
        w = (t >= s) & (t < s + period)
        low = 5.0 if k == 0 else 45.0
        flex[w] = np.where(t[w] < s + period / 2,
                           low + (95.0 - low) * 0.5 * (1 - np.cos(np.pi * (t[w] - s) / (period / 2))),
                           45.0 + 50.0 * 0.5 * (1 + np.cos(np.pi * (t[w] - s - period / 2) / (period / 2))))
    tail = t >= lead + 5 * period
    flex[tail] = 45.0 - 40.0 * np.clip((t[tail] - lead - 5 * period) / 0.5, 0, 1)
    bounce = flex.copy()
    mid = (t > lead + 2 * period + 0.8) & (t < lead + 2 * period + 1.2)  # rep 3: a 27-degree bounce at the bottom
    bounce[mid] -= 27.0 * np.sin(np.pi * (t[mid] - lead - 2 * period - 0.8) / 0.4)
    for seq, want in ((flex, 5), (bounce, 5)):
        if exercise == "squat":
            pipe, results = run(seq)
            live = results[-1].state.reps_done
            result = summarize(pipe.recording, "squat", Config(), INFO)
        else:
            up = np.full_like(t, 60.0)  # the free foot held up
            result = run_legs(exercise, seq, np.full_like(t, 5.0), lift=(np.zeros_like(t), up))
            live = len(result.reps)
        assert (live, len(result.reps)) == (want, want)
        if seq is flex:
            bottoms = [s.rep.bottom_s for s in result.reps]
            assert bottoms == pytest.approx([lead + k * period + period / 2 for k in range(5)], abs=0.15)
