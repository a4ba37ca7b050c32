"""The pose stage: MediaPipe's Tasks-API PoseLandmarker, adapted to PoseFrame."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from formcheck.core.pose_frame import PoseFrame
from formcheck.errors import ModelError
from formcheck.pose.people_watch import PeopleWatch

log = logging.getLogger(__name__)

# The model works on 256x256 crops; feeding it more pixels only costs colour conversion and
# copying. Frames are shrunk (once, and shared with the annotated video) so their longer side is
# at most this before inference; landmarks are still reported in the original frame's pixels.
MAX_INFERENCE_SIDE = 640
# How many poses the model is asked for is decided frame by frame (formcheck/pose/people_watch.py):
# one while the person is alone, two while someone else is in view. With mediapipe 1.2.3 one
# pose is also the steadier on real footage (knee second difference 1.4 against 3.3 px on
# squat_front_10.mp4; benchmarks/pose_jitter.py, RESULTS.md Speed).


def shrink_for_inference(image_bgr: np.ndarray) -> tuple[np.ndarray, float]:
    """(image with its longer side at most MAX_INFERENCE_SIDE, scale from original to it)."""
    h, w = image_bgr.shape[:2]
    scale = min(1.0, MAX_INFERENCE_SIDE / max(h, w))
    if scale >= 1.0:
        return image_bgr, 1.0
    size = (round(w * scale), round(h * scale))
    # Bilinear, not area averaging: the model resamples to 256x256 anyway, and area is 4x slower.
    return cv2.resize(image_bgr, size, interpolation=cv2.INTER_LINEAR), scale


# MediaPipe's C++ side writes start-up and shut-down chatter (XNNPACK, feedback-manager notices,
# destroyed accelerators) straight to file descriptor 2; it is hidden while the model loads, runs
# its first frames and closes.
_NOISY_CALLS = 3


_silence_lock = threading.Lock()
_silence_depth = 0
_saved_stderr: int | None = None


@contextlib.contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """fd 2 to /dev/null while any thread is inside (a look and the tracker may overlap)."""
    global _silence_depth, _saved_stderr
    if os.environ.get("FORMCHECK_DEBUG"):
        yield
        return
    with _silence_lock:
        if _silence_depth == 0:
            try:
                sys.stderr.flush()
                saved = os.dup(2)
            except (OSError, ValueError):
                saved = None
            if saved is not None:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, 2)
                os.close(devnull)
            _saved_stderr = saved
        _silence_depth += 1
    try:
        yield
    finally:
        with _silence_lock:
            _silence_depth -= 1
            if _silence_depth == 0 and _saved_stderr is not None:
                os.dup2(_saved_stderr, 2)
                os.close(_saved_stderr)
                _saved_stderr = None


class _Landmarker:
    """One MediaPipe PoseLandmarker, its start-up and shut-down chatter hidden."""

    def __init__(self, model_path: str | os.PathLike, video: bool, num_poses: int, min_confidence: float) -> None:
        # Imported here so that commands which never run the model start fast.
        from mediapipe.tasks.python import BaseOptions, vision

        options = vision.PoseLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(model_path)),
            running_mode=vision.RunningMode.VIDEO if video else vision.RunningMode.IMAGE,
            num_poses=num_poses,
            min_pose_detection_confidence=min_confidence,
            min_pose_presence_confidence=min_confidence,
            min_tracking_confidence=min_confidence,
        )
        self.num_poses = num_poses
        self._calls = 0
        try:
            with _native_stderr_silenced():
                self._landmarker = vision.PoseLandmarker.create_from_options(options)
        except (RuntimeError, ValueError) as exc:
            raise ModelError(f"cannot load pose model {Path(model_path).name}: {str(exc).splitlines()[0]}") from None

    def run(self, image, ms: int | None):  # noqa: ANN001, ANN201 - mediapipe types
        """detect_for_video at `ms`, or detect (IMAGE mode) when `ms` is None."""
        self._calls += 1
        quiet = _native_stderr_silenced() if self._calls <= _NOISY_CALLS else contextlib.nullcontext()
        with quiet:
            return self._landmarker.detect(image) if ms is None else self._landmarker.detect_for_video(image, ms)

    def close(self) -> None:
        with _native_stderr_silenced():  # mediapipe 1.2 logs each accelerator it destroys
            self._landmarker.close()


# A look's answer is taken this many tracked frames after the look began (about 100 ms at 30
# fps; a look took 42 ms on an idle core, timed in isolation on the 1280x720 bench clip).
LOOK_LAG_FRAMES = 3


@dataclass
class _Look:
    t_s: float  # the frame looked at
    answer: Future
    frames_left: int


class PoseEstimator:
    """Runs PoseLandmarker on a stream of frames with strictly increasing timestamps.

    VIDEO mode needs strictly increasing timestamps, which the sources guarantee and this class
    re-checks. With several people in view the one analysed in the previous frame is followed
    (PoseFrame.from_mediapipe); how many poses are tracked to make that possible is the
    PeopleWatch's decision.
    """

    def __init__(
        self,
        model_path: str | os.PathLike,
        *,
        num_poses: int | None = None,
        min_confidence: float = 0.5,
    ) -> None:
        """`num_poses` fixes how many poses are tracked; None lets a `PeopleWatch` decide."""
        import mediapipe as mp

        self._mp_image = mp.Image
        self._mp_format = mp.ImageFormat.SRGB
        self._model_path = model_path
        self._min_confidence = min_confidence
        self._watch = PeopleWatch() if num_poses is None else None
        self._tracker: _Landmarker | None = self._landmarker(video=True, num_poses=num_poses or 1)
        self._looker: _Landmarker | None = None  # IMAGE mode, two poses: the watch's looks
        self._looked = False  # the watch's first look, on the first frame, is done
        self._look_pool: ThreadPoolExecutor | None = None
        self._look: _Look | None = None  # a look running beside the tracker
        self._last_ms = -1
        self._follow: np.ndarray | None = None  # mid-hip of the person being analysed
        self.switches = 0  # times tracking changed between one pose and two

    @property
    def poses_tracked(self) -> int:
        """How many poses the model was asked for on the last frame."""
        return self._tracker.num_poses if self._tracker is not None else 0

    def _landmarker(self, video: bool, num_poses: int) -> _Landmarker:
        return _Landmarker(self._model_path, video, num_poses, self._min_confidence)

    def detect(self, image_bgr: np.ndarray, t_s: float) -> PoseFrame | None:
        """Landmarks of the person in a full-size frame."""
        small, _ = shrink_for_inference(image_bgr)
        h, w = image_bgr.shape[:2]
        return self.detect_shrunk(small, t_s, (w, h))

    def detect_shrunk(self, small_bgr: np.ndarray, t_s: float, original_size: tuple[int, int]) -> PoseFrame | None:
        """Landmarks from a frame already shrunk by `shrink_for_inference`, in original pixels."""
        rgb = cv2.cvtColor(small_bgr, cv2.COLOR_BGR2RGB)
        ms = max(int(round(t_s * 1000.0)), self._last_ms + 1)
        self._last_ms = ms
        image = self._mp_image(image_format=self._mp_format, data=rgb)
        watch = self._watch
        if watch is not None:
            self._watch_for_people(watch, rgb, t_s)
            self._track(watch.tracking)
        result = self._tracker.run(image, ms)
        if watch is not None:
            watch.tracked(t_s, len(result.pose_landmarks))
        # Normalised landmarks are scaled by the *original* size, so the shrink is invisible downstream.
        pose = PoseFrame.from_mediapipe(result, t_s=t_s, image_size=original_size, follow=self._follow)
        if pose is not None:
            self._follow = pose.centre
        return pose

    def warm_up(self, size: tuple[int, int]) -> None:
        """Start the watch's model and run it once on a blank frame of `size` (width, height),
        so that the first real frame costs what the others do. Live, that first frame otherwise
        holds the model for the watch's start-up while the camera runs on, and the frames behind
        it are dropped. The tracker is left untouched: its results depend on what it has seen."""
        if self._watch is None or self._looker is not None:
            return
        self._looker = self._landmarker(video=False, num_poses=2)
        small, _ = shrink_for_inference(np.zeros((size[1], size[0], 3), dtype=np.uint8))
        self._looker.run(self._mp_image(image_format=self._mp_format, data=np.ascontiguousarray(small)), None)

    def _watch_for_people(self, watch: PeopleWatch, rgb: np.ndarray, t_s: float) -> None:
        """Start the looks the watch asks for and hand it their answers.

        The first look runs before the first frame is tracked, so a second person in view from
        the start is handled from the start. Later looks run on a thread of their own beside the
        tracker (a two-pose look costs about 1.5 tracked frames, which the model's thread would
        otherwise stall for every 2 s), and each answer is taken LOOK_LAG_FRAMES frames after
        its look began, waiting for it if need be: a recording then gives the same numbers
        however busy the machine is.
        """
        if not self._looked:
            self._looked = True
            if self._looker is None:
                self._looker = self._landmarker(video=False, num_poses=2)
            watch.checked(t_s, len(self._looker.run(self._mp_image(image_format=self._mp_format, data=rgb), None).pose_landmarks))
            return
        look = self._look
        if look is not None:
            look.frames_left -= 1
            if look.frames_left <= 0:
                self._look = None
                watch.checked(look.t_s, len(look.answer.result().pose_landmarks))
        elif watch.check_due(t_s):
            if self._look_pool is None:
                self._look_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="formcheck-look")
            image = self._mp_image(image_format=self._mp_format, data=rgb)  # its own: two threads read the pixels
            self._look = _Look(t_s, self._look_pool.submit(self._looker.run, image, None), LOOK_LAG_FRAMES)

    def _track(self, num_poses: int) -> None:
        """A fresh VIDEO-mode landmarker whenever the number of poses changes.

        Fresh, not one kept from before: a tracker left idle would crop its first frame from
        where the person stood when it stopped.
        """
        if self._tracker is not None and self._tracker.num_poses == num_poses:
            return
        if self._tracker is not None:
            self._tracker.close()
            self._tracker = None
        self._tracker = self._landmarker(video=True, num_poses=num_poses)
        self.switches += 1
        log.debug("tracking %d pose(s) from %.2f s", num_poses, self._last_ms / 1000)

    def close(self) -> None:
        if self._look_pool is not None:
            self._look_pool.shutdown(wait=True)  # a look still running finishes before its model closes
            self._look_pool = self._look = None
        for lm in (self._tracker, self._looker):
            if lm is not None:
                lm.close()
        self._tracker = self._looker = None

    def __enter__(self) -> "PoseEstimator":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
