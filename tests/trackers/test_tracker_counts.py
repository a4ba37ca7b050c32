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


def _counter_reps(signal: np.ndarray, fps: float = 30.0):
    """Feed a depth signal to the squat's rep counter; returns the counted reps."""
    from formcheck.config import TrackerConfig
    from formcheck.trackers.rep_counter import RepCounter, RepParams

    settings = TrackerConfig()
    counter = RepCounter(RepParams.from_config(settings, settings.leg_shortening))
    done = []
    for i, x in enumerate(signal):
        _, rep = counter.update(i, i / fps, float(x))
        done += [rep] if rep is not None else []
    _, rep = counter.finish()
    return done + ([rep] if rep is not None else [])


def _dips(t: np.ndarray, levels: list[tuple[float, float, float]]) -> np.ndarray:
    """A depth signal of cosine moves: each (start s, duration s, target) eases from the current
    level to the target; 0 is standing."""
    x = np.zeros_like(t)
    level = 0.0
    for start, dur, target in levels:
        w = (t >= start) & (t < start + dur)
        x[w] = level + (target - level) * 0.5 * (1 - np.cos(np.pi * (t[w] - start) / dur))
        x[t >= start + dur] = target
        level = target
    return x


def test_reps_run_back_to_back_are_split_from_most_of_the_way_up_a_bounce_is_not():
    """Back-to-back reps (pistol squats in sls_front_02 come back up to about a fifth of their
    range) are counted one by one, each split where the signal turns down again; a bounce at the
    bottom that comes back up half the range stays in its rep wherever it happens in the run,
    since every rep of a run is measured from where the run began; and the last rep of a run ends
    when the person is back at standing."""
    t = np.arange(0, 16.0, 1 / 30)
    run = [(1.0, 1.0, 50.0), (2.0, 1.0, 10.0), (3.0, 1.0, 50.0), (4.0, 0.5, 25.0), (4.5, 0.5, 50.0),  # rep 2 bounces
           (5.0, 1.0, 10.0), (6.0, 1.0, 50.0), (7.0, 3.0, 0.0)]  # fmt: skip
    signal = _dips(t, run)
    reps = _counter_reps(signal)
    assert len(reps) == 3
    assert [round(r.bottom[1], 1) for r in reps] == [2.0, pytest.approx(4.0, abs=0.6), 7.0]
    assert [round(r.start[1], 1) for r in reps[1:]] == [3.0, 6.0]  # split at the troughs
    assert reps[-1].end[2] <= 0.15 * 50.0  # nearly back at standing (as a lone rep ends), not mid-rise
    # The same bounce as the first rep of a run: one rep too.
    lone = _counter_reps(_dips(t, [(1.0, 1.0, 50.0), (2.0, 0.5, 25.0), (2.5, 0.5, 50.0), (3.0, 2.0, 0.0)]))
    assert len(lone) == 1


@pytest.mark.parametrize("exercise", ["squat", "single-leg-squat"])
def test_reps_run_back_to_back_are_each_counted_in_the_report(exercise):
    """The same through the whole pipeline on constructed landmarks: knees back up only to 45
    degrees between five reps; all five are counted."""
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
    if exercise == "squat":
        pipe, results = run(flex)
        assert results[-1].state.reps_done == 5  # live
        # A split frame ends one rep, then starts the next, in that order.
        splits = [[type(e).__name__ for e in r.events] for r in results if len(r.events) > 1]
        assert splits and all(k.index("RepCompleted") < k.index("RepStarted") for k in splits)
        result = summarize(pipe.recording, "squat", Config(), INFO)
    else:
        up = np.full_like(t, 60.0)  # the free foot held up
        result = run_legs(exercise, flex, np.full_like(t, 5.0), lift=(np.zeros_like(t), up))
    assert len(result.reps) == 5
    bottoms = [s.rep.bottom_s for s in result.reps]
    assert bottoms == pytest.approx([lead + k * period + period / 2 for k in range(5)], abs=0.15)
