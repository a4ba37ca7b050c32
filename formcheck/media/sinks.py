"""Video output at the edge: frames are encoded on their own thread so encoding overlaps inference."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from formcheck.errors import InputError

log = logging.getLogger(__name__)

_STOP = object()
# H.264 (High profile, yuv420p) in MP4 with the index at the front ("faststart"): what browsers,
# phones and every desktop player decode, and a browser can start playing before the whole file
# arrives. CPU per 640x360 frame on one thread (300 frames of squat_front_10, process time, two
# runs, session 7): mp4v through OpenCV 0.8 ms, x264 "ultrafast" 1.2, "superfast" 2.0,
# "veryfast" 2.5; "superfast" keeps most of the compression for about 1 ms more than mp4v.
CODEC = "libx264"
X264_OPTIONS = {"preset": "superfast", "crf": "23", "profile": "high"}


class VideoSink:
    """Writes BGR frames to an H.264 MP4 file in the background; a context manager.

    Encoded with FFmpeg through PyAV (its wheels bring their own codecs), on one encoder thread:
    the pose model needs the other cores.
    """

    def __init__(self, path: Path, fps: float, size: tuple[int, int], queue_size: int = 8) -> None:
        self.path = Path(path)
        width, height = size[0] - size[0] % 2, size[1] - size[1] % 2  # 4:2:0 needs even sides
        try:
            self._container = av.open(str(self.path), "w", format="mp4", options={"movflags": "+faststart"})
            self._stream = self._container.add_stream(CODEC, rate=Fraction(max(fps, 1.0)).limit_denominator(1001))
        except (OSError, av.FFmpegError) as exc:
            raise InputError(f"cannot write video {self.path}: {exc}") from None
        self._stream.width, self._stream.height = width, height
        self._stream.pix_fmt = "yuv420p"
        self._stream.options = dict(X264_OPTIONS)
        self._stream.codec_context.thread_count = 1
        self._size = (width, height)
        self._queue: queue.Queue = queue.Queue(maxsize=queue_size)
        self._error: BaseException | None = None
        self.frames = 0
        self._thread = threading.Thread(target=self._run, name="formcheck-video-sink", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                break
            try:
                frame = item() if callable(item) else item
                if (frame.shape[1], frame.shape[0]) != self._size:
                    frame = _fit(frame, self._size)
                for packet in self._stream.encode(av.VideoFrame.from_ndarray(frame, format="bgr24")):
                    self._container.mux(packet)
                self.frames += 1
            except BaseException as exc:  # noqa: BLE001 - surfaced in write()/close()
                self._error = exc
        try:
            for packet in self._stream.encode():
                self._container.mux(packet)
            self._container.close()
        except BaseException as exc:  # noqa: BLE001 - surfaced in close()
            self._error = self._error or exc

    def write(self, frame: np.ndarray | Callable[[], np.ndarray]) -> None:
        """Queue a frame, or a function that draws it: drawing then also leaves the caller's thread."""
        if self._error is not None:
            raise self._error
        self._queue.put(frame)

    def close(self) -> None:
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()
        if self._error is not None:
            raise self._error

    def __enter__(self) -> "VideoSink":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _fit(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Crop an odd last row or column, or resize a frame of another size, to `size`."""
    w, h = size
    if frame.shape[1] - w in (0, 1) and frame.shape[0] - h in (0, 1):
        return np.ascontiguousarray(frame[:h, :w])
    return cv2.resize(frame, size)
