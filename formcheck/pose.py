"""The pose stage: MediaPipe's Tasks-API PoseLandmarker, adapted to PoseFrame."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from formcheck.errors import ModelError
from formcheck.pose_frame import PoseFrame

log = logging.getLogger(__name__)

# The model works on 256x256 crops; feeding it more pixels only costs colour conversion and
# copying. Frames are shrunk (once, and shared with the annotated video) so their longer side is
# at most this before inference; landmarks are still reported in the original frame's pixels.
MAX_INFERENCE_SIDE = 640
# Two poses, not one. With one, VIDEO mode derives each frame's crop from the previous frame's
# landmarks, and that feedback made landmarks jitter: on sample_videos/squat_front_clean.mp4 the
# knee's frame-to-frame second difference was 1.8 px with one pose against 0.4 px with two
# (the mediapipe of session 2). Two poses run the person detector on every frame (about 1.5x the
# model's cost) and also tell when someone else is in view. With mediapipe 1.2.3 the jitter case
# is open: one pose is spikier on that synthetic clip (mean 2.0 against 0.95 px) but steadier on
# the real squat_front_10.mp4 (1.4 against 3.3 px); benchmarks/pose_jitter.py, RESULTS.md Speed.
NUM_POSES = 2


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


@contextlib.contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    if os.environ.get("FORMCHECK_DEBUG"):
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


class PoseEstimator:
    """Runs PoseLandmarker on a stream of frames with strictly increasing timestamps.

    VIDEO mode needs strictly increasing timestamps, which the sources guarantee and this class
    re-checks.
    """

    def __init__(
        self,
        model_path: str | os.PathLike,
        *,
        num_poses: int = NUM_POSES,
        min_confidence: float = 0.5,
    ) -> None:
        # Imported here so that commands which never run the model start fast.
        from mediapipe.tasks.python import BaseOptions, vision

        import mediapipe as mp

        self._mp_image = mp.Image
        self._mp_format = mp.ImageFormat.SRGB

        options = vision.PoseLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(model_path)),
            running_mode=vision.RunningMode.VIDEO,
            num_poses=num_poses,
            min_pose_detection_confidence=min_confidence,
            min_pose_presence_confidence=min_confidence,
            min_tracking_confidence=min_confidence,
        )
        self._landmarker = None
        try:
            with _native_stderr_silenced():
                self._landmarker = vision.PoseLandmarker.create_from_options(options)
        except (RuntimeError, ValueError) as exc:
            raise ModelError(f"cannot load pose model {Path(model_path).name}: {str(exc).splitlines()[0]}") from None
        self._last_ms = -1
        self._calls = 0
        self._follow: np.ndarray | None = None  # mid-hip of the person being analysed

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
        self._calls += 1
        quiet = _native_stderr_silenced() if self._calls <= _NOISY_CALLS else contextlib.nullcontext()
        with quiet:
            result = self._landmarker.detect_for_video(image, ms)
        # Normalised landmarks are scaled by the *original* size, so the shrink is invisible downstream.
        pose = PoseFrame.from_mediapipe(result, t_s=t_s, image_size=original_size, follow=self._follow)
        if pose is not None:
            self._follow = pose.centre
        return pose

    def close(self) -> None:
        if self._landmarker is not None:
            with _native_stderr_silenced():  # mediapipe 1.2 logs each accelerator it destroys
                self._landmarker.close()
            self._landmarker = None

    def __enter__(self) -> "PoseEstimator":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
