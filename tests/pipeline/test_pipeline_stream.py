"""Pipeline.stream: the model one frame ahead on its own thread must change nothing but the speed."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from formcheck.config import Config
from formcheck.media.sources import Frame, open_source
from formcheck.pipeline.stages import GIL_SWITCH_S, Pipeline
from formcheck.pose.landmarker import PoseEstimator
from formcheck.trackers import tracker_class

CLIP = Path(__file__).resolve().parents[2] / "sample_videos" / "squat_front_clean.mp4"
FRAMES = 90


def _frames(limit: int = FRAMES) -> list[Frame]:
    with open_source(CLIP) as source:
        out = []
        for frame in source:
            out.append(frame)
            if len(out) == limit:
                break
    return out


def _pipeline(model_path: Path) -> tuple[PoseEstimator, Pipeline]:
    estimator = PoseEstimator(model_path)
    return estimator, Pipeline(estimator, tracker_class("squat")(None), Config())


def _pose_threads() -> list[threading.Thread]:
    """The model's thread and the people watch's look thread (formcheck/pose/landmarker.py)."""
    return [t for t in threading.enumerate() if t.name.startswith(("formcheck-pose", "formcheck-look"))]


def test_stream_gives_the_same_results_as_frame_by_frame(model_path: Path) -> None:
    frames = _frames()
    estimator, one_by_one = _pipeline(model_path)
    with estimator:
        expected = [one_by_one.process(f) for f in frames]
    estimator, streamed = _pipeline(model_path)
    before = sys.getswitchinterval()
    intervals = []
    with estimator:
        got = []
        for r in streamed.stream(frames):
            got.append(r)
            intervals.append(sys.getswitchinterval())
    # A short GIL switch interval while streaming (the model's thread waits less for the GIL),
    # the interpreter's own afterwards.
    assert set(intervals) == {GIL_SWITCH_S} and sys.getswitchinterval() == before
    assert [r.frame.index for r in got] == [f.index for f in frames]
    assert sum(r.pose is not None for r in got) >= FRAMES - 2  # the figure is found: the comparison means something
    for a, b in zip(expected, got):
        np.testing.assert_allclose(b.image_xy, a.image_xy, atol=1e-6, equal_nan=True)
        assert b.shrunk is not None and b.shrunk.shape == a.shrunk.shape
    np.testing.assert_array_equal(np.asarray(streamed.recording.t_s), np.asarray(one_by_one.recording.t_s))
    assert not _pose_threads()


def test_leaving_early_stops_the_model_thread(model_path: Path) -> None:
    estimator, pipeline = _pipeline(model_path)
    with estimator:
        for n, _ in enumerate(pipeline.stream(_frames()), start=1):
            if n == 5:
                break
    assert len(pipeline.recording) == 5  # frames the model did ahead are dropped, not recorded
    assert not _pose_threads()


def test_a_failing_source_raises_in_the_caller_and_stops_the_thread(model_path: Path) -> None:
    frames = _frames(12)

    def failing() -> Iterator[Frame]:
        yield from frames[:10]
        raise OSError("camera unplugged")

    estimator, pipeline = _pipeline(model_path)
    with estimator, pytest.raises(OSError, match="camera unplugged"):
        for _ in pipeline.stream(failing()):
            pass
    assert 9 <= len(pipeline.recording) <= 10
    assert not _pose_threads()
