"""Squat rep counting on synthetic landmark sequences: exact counts, windows, and the edge cases."""

from __future__ import annotations

import numpy as np
import pytest

from formcheck.config import Config
from formcheck.media.sources import Frame, SourceInfo
from formcheck.pipeline.session import summarize
from formcheck.pipeline.stages import Pipeline
from formcheck.trackers import RepRejected, tracker_class
from tests.builders import LegPose, pose_frame, rep_windows, squat_flexion

FPS = 30.0
BLANK = np.zeros((2, 2, 3), dtype=np.uint8)
INFO = SourceInfo(kind="file", name="synthetic", fps=FPS, frame_count=None, width=640, height=720, duration_s=None)


def run(flexion: np.ndarray, shift=None, present=None, noise_px: float = 1.0, config: Config = Config()):
    """Feed a sequence through the per-frame pipeline (no model); returns (pipeline, results)."""
    pipe = Pipeline(None, tracker_class("squat")(), config)  # type: ignore[arg-type]
    rng = np.random.default_rng(0)
    results = []
    for i, f in enumerate(flexion):
        t = i / FPS
        s = shift[i] if shift is not None else (0.0, 0.0)
        pose = None if (present is not None and not present[i]) else pose_frame(t, LegPose(f, s[0]), LegPose(f, s[1]), noise_px=noise_px, rng=rng)
        results.append(pipe.process_pose(Frame(i, t, BLANK), pose))
    return pipe, results


def times(n_s: float) -> np.ndarray:
    return np.arange(0, n_s, 1 / FPS)


@pytest.mark.parametrize("reps, period", [(1, 2.0), (5, 2.0), (8, 4.0), (10, 1.2)])
def test_counts_every_full_rep_live_and_in_report(reps, period):
    t = times(1.5 + reps * (period + 1.0) + 1.0)
    pipe, results = run(squat_flexion(t, reps, period_s=period))
    assert results[-1].state.reps_done == reps
    result = summarize(pipe.recording, "squat", Config(), INFO)
    assert len(result.reps) == reps
    for score, (start, bottom, end) in zip(result.reps, rep_windows(reps, period_s=period)):
        r = score.rep
        assert abs(r.bottom_s - bottom) <= 3 / FPS  # the bottom of a cosine dip is flat
        assert abs(r.start_s - start) <= 0.2 * period  # motion onset
        assert abs(r.end_s - end) <= 0.2 * period


def test_half_reps_and_fidgets_are_not_counted():
    t = times(20)
    flex = squat_flexion(t, 3, depth_deg=100)
    # A shallow dip (to 35 degrees) and a jittery fidget between reps
    flex += np.where((t > 11) & (t < 12), 20 * np.sin(np.pi * (t - 11)), 0)
    flex += np.where((t > 13) & (t < 14), 6 * np.sin(12 * np.pi * t), 0)
    # A half rep: half the range of the others (down to 57 degrees against 100)
    half = (t > 15) & (t < 17)
    flex[half] = 15 + 42 * 0.5 * (1 - np.cos(np.pi * (t[half] - 15)))
    pipe, results = run(flex)
    assert results[-1].state.reps_done == 3
    rejected = [e for r in results for e in r.events if isinstance(e, RepRejected)]
    assert any("half rep" in e.reason for e in rejected)
    # the counter's filters of half reps and fidgets are not listed as movements not counted
    result = summarize(pipe.recording, "squat", Config(), INFO)
    assert not any("not counted" in w for w in result.warnings), result.warnings


def test_rep_in_progress_when_person_leaves_is_not_counted():
    t = times(12)
    flex = squat_flexion(t, 2)
    present = ~((t > 5.0) & (t < 8.0))  # gone in the middle of the second rep for 3 s
    pipe, results = run(flex, present=present)
    assert results[-1].state.reps_done == 1
    assert any(isinstance(e, RepRejected) and "lost" in e.reason for r in results for e in r.events)


def test_recording_ending_mid_rep_does_not_count_it():
    t = times(5.0)  # second half of the first rep's ascent missing
    t = t[t < 2.8]
    pipe, results = run(squat_flexion(t, 1))
    assert results[-1].state.reps_done == 0
    cut_short = summarize(pipe.recording, "squat", Config(), INFO, partial=True)
    assert cut_short.reps == []
    # a run cut short says so itself; a recording that simply ends lists the rep under way
    assert not any("not counted" in w for w in cut_short.warnings), cut_short.warnings
    ended = summarize(pipe.recording, "squat", Config(), INFO)
    assert "1 movement not counted: the recording ended before the movement finished" in ended.warnings, ended.warnings


def test_unknown_exercise_is_an_input_error():
    from formcheck.errors import InputError

    with pytest.raises(InputError, match="unknown exercise 'jumping'"):
        tracker_class("jumping")
