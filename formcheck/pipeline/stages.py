"""The one chain every frame goes through, live or recorded.

source frame -> pose -> leg-swap guard -> causal smoothing -> metrics -> tracker -> verdicts -> cues

`Pipeline.process` is the per-frame path (what a live window shows and the annotated video
draws). Each frame's raw landmarks also go into a `Recording`, from which `session.summarize`
recomputes the report numbers with a zero-phase filter when the stream ends: the same metric,
tracker and scoring code, run on better-filtered landmarks.
"""

from __future__ import annotations

import dataclasses

import sys
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from formcheck.config import Config
from formcheck.core.landmarks import NUM_LANDMARKS, Side
from formcheck.core.metrics import Metrics, compute_metrics
from formcheck.core.pose_frame import PoseFrame
from formcheck.core.smoothing import (
    OneEuroLandmarkFilter,
    leg_swap_detected,
    swap_legs,
)
from formcheck.judging.cues import BandCue, BandCueEngine, Cue, CueEngine
from formcheck.judging.frame_judge import FrameJudge
from formcheck.judging.verdict import Verdict
from formcheck.media.recording import Recording
from formcheck.media.sources import Frame
from formcheck.pose.landmarker import PoseEstimator, shrink_for_inference
from formcheck.trackers import Event, Tracker, TrackerState

# A thread that wants the GIL back after a C call waits until the thread running Python hands
# it over, which CPython forces only after the switch interval (5 ms by default). The model's
# thread needs it around every MediaPipe call, while the stages, the drawing and the decoder run
# Python on the other threads: on the 1280x720 bench clip the model thread spent 3.8 ms a frame
# outside MediaPipe's calls at 5 ms, 3.2 at 1 ms, 2.1 at 0.2 ms (single runs; benchmarks/RESULTS.md,
# Speed). 0.5 ms sits between those two; it was measured only as part of fc46db8's A/B.
GIL_SWITCH_S = 0.0005


_NAN_XY = np.full((NUM_LANDMARKS, 2), np.nan)
_NAN_XYZ = np.full((NUM_LANDMARKS, 3), np.nan)


@dataclass
class FrameResult:
    frame: Frame
    pose: PoseFrame | None  # raw model output (legs un-swapped)
    image_xy: np.ndarray  # (33, 2) causally smoothed, NaN where missing
    metrics: Metrics  # 0-d arrays: this frame
    events: list[Event]
    state: TrackerState
    verdicts: dict[Side, Verdict]  # each knee's verdict on this frame (what the video colours)
    cues: list[Cue | BandCue]  # newest first
    # The frame as the model saw it (longer side at most pose.MAX_INFERENCE_SIDE) and its scale
    # from the original: drawing the annotated video on it saves a second resize and most of
    # the encoding cost.
    shrunk: np.ndarray | None = None
    shrunk_scale: float = 1.0


class Pipeline:
    """Per-frame stages, holding the state that carries from one frame to the next."""

    def __init__(self, estimator: PoseEstimator, tracker: Tracker, config: Config, recording: Recording | None = None) -> None:
        self.estimator = estimator
        self.tracker = tracker
        self.config = config
        self.recording = recording if recording is not None else Recording()
        self._xy_filter = OneEuroLandmarkFilter()
        self._world_filter = OneEuroLandmarkFilter()
        self._prev_xy: np.ndarray | None = None
        self._judge = FrameJudge(tracker.thresholds(config.thresholds))
        self._cues = CueEngine(config.cues)
        self._band_cue = BandCueEngine(config.cues)
        self.leg_swaps = 0

    def process(self, frame: Frame) -> FrameResult:
        return self._after_model(frame, self._model(frame, *shrink_for_inference(frame.image)))

    def stream(self, frames: Iterable[Frame], ahead: int = 1) -> Iterator[FrameResult]:
        """`process` over a stream, the model working `ahead` frames in front on its own thread.

        MediaPipe releases the GIL while it infers, so the stages after the model (and the
        annotated video) for frame n run on the second core while the model works on frame n+1.
        One worker keeps the model's calls in frame order, as VIDEO mode requires. The frame is
        shrunk for the model here, not on the model's thread: the resize (about 3% of that
        thread's time at 720p, py-spy) then overlaps the previous frame's inference. Leaving the
        loop early (break, Ctrl-C, a failing source) drops the frames queued ahead unseen.
        While it runs, the interpreter's GIL switch interval is GIL_SWITCH_S.
        """
        pending: deque[tuple[Frame, Future]] = deque()
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="formcheck-pose")
        switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(GIL_SWITCH_S)
        try:
            for frame in frames:
                pending.append((frame, pool.submit(self._model, frame, *shrink_for_inference(frame.image))))
                if len(pending) > ahead:
                    done, future = pending.popleft()
                    yield self._after_model(done, future.result())
            while pending:
                done, future = pending.popleft()
                yield self._after_model(done, future.result())
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            sys.setswitchinterval(switch_interval)

    def _model(self, frame: Frame, small: np.ndarray, scale: float) -> tuple[PoseFrame | None, np.ndarray, float]:
        h, w = frame.image.shape[:2]
        return self.estimator.detect_shrunk(small, frame.t_s, (w, h)), small, scale

    def _after_model(self, frame: Frame, modelled: tuple[PoseFrame | None, np.ndarray, float]) -> FrameResult:
        pose, small, scale = modelled
        result = self.process_pose(frame, pose)
        result.shrunk, result.shrunk_scale = small, scale
        return result

    def process_pose(self, frame: Frame, pose: PoseFrame | None) -> FrameResult:
        """The stages after the model (split out so tests can feed landmarks directly)."""
        if pose is None:
            xy, world, vis = _NAN_XY, _NAN_XYZ, np.zeros(NUM_LANDMARKS)
        else:
            xy, world, vis = pose.image_xy, pose.world_xyz, pose.visibility
            if leg_swap_detected(self._prev_xy, xy):
                xy, world, vis = swap_legs(xy), swap_legs(world), swap_legs(vis)
                self.leg_swaps += 1
            self._prev_xy = xy
        scale = float(np.nanmax(xy[:, 1]) - np.nanmin(xy[:, 1])) if pose is not None else 1.0
        smooth_xy = self._xy_filter.update(xy, vis, frame.t_s, scale=max(scale, 1.0))
        smooth_world = self._world_filter.update(world, vis, frame.t_s, scale=1.0)
        metrics = compute_metrics(
            np.float64(frame.t_s), smooth_xy, smooth_world, self.config.thresholds.frontal_max_yaw_deg
        )
        events = self.tracker.update(len(self.recording), metrics)
        verdicts = self._judge.update(metrics, self.tracker.loaded)
        if not self.tracker.judges_valgus:  # drawn grey, never cued
            verdicts = {s: dataclasses.replace(v, value=None, valgus=None, grade=None) for s, v in verdicts.items()}
        state = self.tracker.state
        cues: list[Cue | BandCue] = list(self._cues.update(frame.t_s, verdicts, state.working_legs, self.tracker.loaded,
                                                           state.rep_in_progress))
        band = self._band_cue.update(frame.t_s, state.feet_apart, self.config.thresholds.band_min_ankle_separation,
                                     self.tracker.loaded, state.reps_done)
        if band:
            cues = sorted(cues + band, key=lambda c: -c.raised_s)
        # The model's own labels are recorded: the report pass chooses them for the whole clip at once.
        raw = (pose.image_xy, pose.world_xyz, pose.visibility) if pose is not None else (xy, world, vis)
        self.recording.append(frame, *raw, pose.people if pose is not None else 0, cues)
        return FrameResult(frame, pose, smooth_xy, metrics, events, self.tracker.state, verdicts, cues)
