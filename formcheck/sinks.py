"""Video output at the edge: frames are encoded on their own thread so encoding overlaps inference."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from formcheck.errors import InputError

log = logging.getLogger(__name__)

_STOP = object()


class VideoSink:
    """Writes BGR frames to an MPEG-4 file in the background; a context manager.

    MPEG-4 Part 2 ('mp4v') is what the OpenCV wheels can encode without extra libraries; it
    plays in desktop players (VLC, QuickTime, Windows) but not in every browser.
    """

    def __init__(self, path: Path, fps: float, size: tuple[int, int], queue_size: int = 8) -> None:
        self.path = Path(path)
        self._writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*"mp4v"), max(fps, 1.0), size)
        if not self._writer.isOpened():
            raise InputError(f"cannot write video {self.path}: check the folder is writable")
        self._size = size
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
                    frame = cv2.resize(frame, self._size)
                self._writer.write(frame)
                self.frames += 1
            except BaseException as exc:  # noqa: BLE001 - surfaced in write()/close()
                self._error = exc
        self._writer.release()

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
