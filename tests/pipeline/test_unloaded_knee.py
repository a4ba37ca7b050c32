"""Exercises where the knee carries no load (knee range of motion, knee extension) judge no valgus:
the same caving knee that a squat flags and cues is neither flagged nor cued, nor drawn as caving."""

from __future__ import annotations

import numpy as np
import pytest

from formcheck.config import Config
from formcheck.core.landmarks import Side
from formcheck.media.sources import Frame
from formcheck.pipeline.session import summarize
from formcheck.pipeline.stages import Pipeline
from formcheck.trackers import tracker_class
from tests.builders import LegPose, pose_frame, squat_flexion
from tests.judging.test_valgus_scoring import shifts
from tests.trackers.test_squat_tracker import BLANK, INFO, times

REPS = 3


def _run(exercise: str):
    t = times(1.5 + REPS * 3.0 + 1.0)
    flex = squat_flexion(t, REPS, depth_deg=55.0)
    shift = shifts(t, flex, [0.08] * REPS, REPS)  # the left knee caves clearly on every rep
    pipe = Pipeline(None, tracker_class(exercise)(), Config())  # type: ignore[arg-type]
    rng = np.random.default_rng(0)
    results = [pipe.process_pose(Frame(i, ti, BLANK), pose_frame(ti, LegPose(f, s[0]), LegPose(f, s[1]), noise_px=1.0, rng=rng))
               for i, (ti, f, s) in enumerate(zip(t, flex, shift))]  # fmt: skip
    return pipe, results, summarize(pipe.recording, exercise, Config(), INFO)


def test_a_squat_flags_and_cues_the_caving_knee():
    pipe, _, result = _run("squat")
    assert [s.valgus[Side.LEFT] for s in result.reps] == [True] * REPS
    assert {c.leg for c in pipe.recording.cue_events} == {Side.LEFT}


@pytest.mark.parametrize("exercise", ["knee-rom"])
def test_an_unloaded_knee_exercise_judges_no_valgus(exercise):
    assert not tracker_class(exercise).judges_valgus
    pipe, results, result = _run(exercise)
    assert len(result.reps) >= 1  # the bends are counted ...
    assert all(s.verdict == {} and s.basis is None for s in result.reps)  # ... but no knee is judged
    assert pipe.recording.cue_events == []
    assert all(v.value is None and v.valgus is None for r in results for v in r.verdicts.values())
