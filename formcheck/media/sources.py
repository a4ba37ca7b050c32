"""Frame sources: video files, cameras, image folders, and a file replayed as if it were a camera.

Every source yields upright BGR frames with a strictly increasing presentation time, so the
pipeline never has to care where frames come from. Decoding runs on its own thread so that it
overlaps pose inference; realtime sources hand over only the newest frame, as a camera would.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import queue
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from formcheck.errors import InputError, SourceLostError
from formcheck.media.newest_slot import NewestSlot

logger = logging.getLogger(__name__)

VIDEO_SUFFIXES = (".mp4", ".mov", ".avi", ".webm", ".mkv", ".m4v")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
DEFAULT_FPS = 30.0
# Decoded frames waiting for the model: enough to ride out decoding jitter (decoding is several times
# faster than the model), few enough that full-size phone frames (6 MB each) do not pile up.
QUEUE_SIZE = 4
_POLL_S = 0.1  # how often blocked threads look at their stop flag
_JOIN_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Frame:
    """One upright BGR frame and where it sits in the stream."""

    index: int  # decoding order from 0 (realtime: the index in the underlying stream)
    t_s: float  # presentation time in seconds from the start of the stream
    image: np.ndarray  # BGR uint8, upright


@dataclass(frozen=True)
class SourceInfo:
    """What the pipeline reports about its input (summary.json `source`)."""

    kind: str  # "file" | "camera" | "images"
    name: str  # path or "camera 0"
    fps: float  # nominal
    frame_count: int | None  # from the container (may be wrong); None for cameras
    width: int  # of the upright frames
    height: int
    duration_s: float | None
    sha256: str | None = None  # of the file's bytes (video files): which video a result is of


def file_sha256(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB chunks (about a second per GB)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


class Capture(Protocol):
    """The part of cv2.VideoCapture the sources use, so tests can hand in a fake."""

    def isOpened(self) -> bool: ...  # noqa: N802 - OpenCV's name
    def read(self) -> tuple[bool, np.ndarray | None]: ...
    def get(self, prop_id: int) -> float: ...
    def set(self, prop_id: int, value: float) -> bool: ...
    def release(self) -> None: ...


class FrameSource:
    """Base class: iterate for frames, close (or use `with`) to free threads and devices."""

    info: SourceInfo
    dropped: int = 0  # frames skipped because the consumer was slower than real time

    def __iter__(self) -> Iterator[Frame]:
        raise NotImplementedError

    def close(self) -> None:
        """Stop background work and release the input; safe to call more than once."""

    def truncation(self) -> str | None:
        """Once the frames have run out: why fewer came than the input announced, else None."""
        return None

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _End:
    """Queue marker: the producer has no more frames."""


@dataclass(frozen=True)
class _Failure:
    """Queue marker: the producer raised; the consumer re-raises it."""

    error: BaseException


class _PrefetchSource(FrameSource):
    """A source whose frames are produced on a reader thread into a small bounded queue.

    Decoding a phone-sized frame takes tens of milliseconds, so doing it in parallel hides it behind
    pose inference. The queue is bounded to keep memory flat; the reader looks at a stop flag
    between puts so close() or an abandoned iteration never deadlocks on a full queue. The thread
    starts with the first next(), so an iterator that is never advanced leaves nothing running.
    """

    _thread_name = "formcheck-decode"

    def __init__(self, queue_size: int = QUEUE_SIZE) -> None:
        self.dropped = 0
        self._queue: queue.Queue[Frame | _End | _Failure] = queue.Queue(maxsize=queue_size)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._iterated = False
        self._closed = False

    def _produce(self) -> Iterator[Frame]:
        """Yield frames in order; runs on the reader thread."""
        raise NotImplementedError

    def _release(self) -> None:
        """Free the underlying input; called once the reader thread has ended."""

    def _finished(self) -> None:
        """Hook run on the reader thread after the last frame (e.g. to notice truncation)."""

    def __iter__(self) -> Iterator[Frame]:
        with self._lock:
            if self._closed:
                raise RuntimeError(f"{self.info.name}: source is closed")
            if self._iterated:
                raise RuntimeError(f"{self.info.name}: a source can be iterated only once")
            self._iterated = True
        return self._consume()

    def _put(self, item: Frame | _End | _Failure) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            for frame in self._produce():
                if not self._put(frame):
                    return
            if self._stop.is_set():
                return  # stopped early: the end of the input was never reached
            self._finished()
            self._put(_End())
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer to re-raise
            self._put(_Failure(exc))

    def _consume(self) -> Iterator[Frame]:
        with self._lock:
            if self._closed:
                return
            self._thread = threading.Thread(target=self._run, name=self._thread_name, daemon=True)
            self._thread.start()
        try:
            while not self._stop.is_set():
                try:
                    item = self._queue.get(timeout=_POLL_S)
                except queue.Empty:
                    thread = self._thread
                    if thread is not None and not thread.is_alive() and self._queue.empty():
                        return  # reader ended without a marker (stopped); nothing more will come
                    continue
                if isinstance(item, _End):
                    return
                if isinstance(item, _Failure):
                    raise item.error
                yield item
        finally:
            self.close()

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._stop.set()
        # Releasing a capture another thread is still reading can crash OpenCV: leak it instead.
        if _join(self._thread, self.info.name):
            self._release()


def _join(thread: threading.Thread | None, name: str) -> bool:
    """Wait for a worker thread to end; False (and a warning) if it is stuck."""
    if thread is None or thread is threading.current_thread():
        return True
    thread.join(_JOIN_TIMEOUT_S)
    if thread.is_alive():
        logger.warning("%s: %s thread did not stop within %.0f s", name, thread.name, _JOIN_TIMEOUT_S)
        return False
    return True


def _default_file_capture(path: str) -> Capture:
    cap = cv2.VideoCapture(path, cv2.CAP_FFMPEG)
    auto = getattr(cv2, "CAP_PROP_ORIENTATION_AUTO", None)
    if auto is not None and cap.isOpened():
        cap.set(auto, 1)  # the default in OpenCV 5; explicit so frames are upright everywhere
    return cap


def _usable_fps(value: float) -> bool:
    return math.isfinite(value) and 0.5 <= value <= 1000.0


class VideoFileSource(_PrefetchSource):
    """A recorded video, decoded with OpenCV (FFmpeg) on a reader thread.

    Timestamps come from the container (CAP_PROP_POS_MSEC) so variable-frame-rate phone clips keep
    their real timing. After the last frame, `truncated` says whether fewer frames decoded than
    the container announced (a cut-off recording) so the pipeline can warn about it.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        fps: float | None = None,
        queue_size: int = QUEUE_SIZE,
        capture_factory: Callable[[str], Capture] = _default_file_capture,
        start_frame: int = 0,
    ) -> None:
        """`start_frame`: the first frame to deliver (earlier ones are decoded and dropped, which
        keeps frame indices and timestamps exact where a seek might land on a keyframe)."""
        super().__init__(queue_size)
        self.path = Path(path)
        self._start = start_frame
        self.decoded = 0  # frames decoded so far
        self.truncated: bool | None = None  # known once the end is reached
        _check_file(self.path)
        self._cap = capture_factory(str(self.path))
        if not self._cap.isOpened():
            self._cap.release()
            raise InputError(
                f"cannot read {self.path} as a video (not a video file, or an unfinished "
                f"recording): use an MP4/MOV/AVI/WebM/MKV video that plays in a media player"
            )
        ok, image = self._cap.read()
        if not ok or image is None:
            self._cap.release()
            raise InputError(
                f"{self.path} has no decodable frames (empty video): record again or pick another file"
            )
        container_fps = self._cap.get(cv2.CAP_PROP_FPS)
        if _usable_fps(container_fps):
            nominal = container_fps
        else:
            nominal = fps if fps is not None else DEFAULT_FPS
            logger.warning("%s: no usable frame rate in the file; assuming %.3g fps", self.path, nominal)
        count = self._cap.get(cv2.CAP_PROP_FRAME_COUNT)
        frame_count = int(round(count)) if math.isfinite(count) and count > 0 else None
        height, width = image.shape[:2]
        self.info = SourceInfo(
            kind="file",
            name=str(self.path),
            fps=float(nominal),
            frame_count=frame_count,
            width=int(width),
            height=int(height),
            duration_s=frame_count / nominal if frame_count else None,
            sha256=file_sha256(self.path),
        )
        self._first: np.ndarray | None = image
        self._last_t = -math.inf

    def _timestamp(self, index: int) -> float:
        """Container time of the frame just read, forced strictly increasing (1 ms steps)."""
        ms = self._cap.get(cv2.CAP_PROP_POS_MSEC)
        # OpenCV reports 0 when the packet has no timestamp; 0 is only genuine for the first frame.
        if not math.isfinite(ms) or ms < 0 or (ms == 0 and index > 0):
            t = index / self.info.fps
        else:
            t = ms / 1000.0
        if t <= self._last_t:
            t = self._last_t + 0.001
        self._last_t = t
        return t

    def _produce(self) -> Iterator[Frame]:
        image, self._first = self._first, None
        if image is None:
            return
        index = 0
        while index < self._start:
            if not self._cap.grab():
                return
            index += 1
        if self._start:
            ok, image = self._cap.retrieve()
            if not ok or image is None:
                return
        while True:
            self.decoded = index + 1
            yield Frame(index=index, t_s=self._timestamp(index), image=image)
            if self._stop.is_set():
                return
            ok, image = self._cap.read()
            if not ok or image is None:
                return
            index += 1

    def _finished(self) -> None:
        expected = self.info.frame_count
        # Frame counts of some containers are estimates (duration x fps): allow 1 % slack.
        slack = max(1, round(0.01 * expected)) if expected else 0
        self.truncated = expected is not None and self.decoded < expected - slack
        if self.truncated:
            logger.warning(
                "%s: only %d of the %d frames the file announces could be decoded (truncated file?)",
                self.path,
                self.decoded,
                expected,
            )

    def truncation(self) -> str | None:
        if not self.truncated:
            return None
        return f"only {self.decoded} of the {self.info.frame_count} frames the file announces could be decoded (truncated file?)"

    def _release(self) -> None:
        self._cap.release()


def _check_file(path: Path) -> None:
    if not path.exists():
        raise InputError(f"video not found: {path}: check the path and file name")
    if path.is_dir():
        raise InputError(f"{path} is a folder, not a video: pass a video file")
    if not os.access(path, os.R_OK):
        raise InputError(f"cannot read {path}: permission denied; check the file's permissions")
    if path.stat().st_size == 0:
        raise InputError(f"{path} is an empty file (0 bytes): record again or pick another file")


def natural_key(name: str) -> list[str | int]:
    """Sort key that puts img2 before img10 (digit runs compare as numbers)."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


class ImageFolderSource(_PrefetchSource):
    """A folder of still images taken as a video at `fps`, in natural name order.

    Unreadable images are skipped with a warning rather than ending the run; images of another
    size than the first are resized to it so downstream writers see one frame size.
    """

    def __init__(
        self, folder: str | os.PathLike[str], fps: float = DEFAULT_FPS, *, queue_size: int = QUEUE_SIZE
    ) -> None:
        super().__init__(queue_size)
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise InputError(f"image folder not found: {self.folder}: check the path")
        if not _usable_fps(fps):
            raise InputError(f"frame rate {fps} is not usable for {self.folder}: give a rate such as 30")
        self.paths = sorted(
            (p for p in self.folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES),
            key=lambda p: natural_key(p.name),
        )
        if not self.paths:
            raise InputError(
                f"no images ({'/'.join(s[1:] for s in IMAGE_SUFFIXES)}) in folder {self.folder}: "
                "pass a folder of frames or a video file"
            )
        # Probe quietly for the frame size; unreadable images are reported once, while iterating.
        loads = (cv2.imread(str(p), cv2.IMREAD_COLOR) for p in self.paths)
        first = next((im for im in loads if im is not None), None)
        if first is None:
            raise InputError(
                f"none of the {len(self.paths)} images in {self.folder} could be read: "
                "check they are valid jpg/png/bmp/webp files"
            )
        height, width = first.shape[:2]
        self.info = SourceInfo(
            kind="images",
            name=str(self.folder),
            fps=float(fps),
            frame_count=len(self.paths),
            width=int(width),
            height=int(height),
            duration_s=len(self.paths) / fps,
        )
        self.skipped = 0  # unreadable images passed over

    def _produce(self) -> Iterator[Frame]:
        index = 0
        size = (self.info.width, self.info.height)
        for position, path in enumerate(self.paths):
            if self._stop.is_set():
                return
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is None:
                self.skipped += 1
                logger.warning("skipping unreadable image %s", path)
                continue
            if (image.shape[1], image.shape[0]) != size:
                logger.warning("%s is %dx%d, not %dx%d: resized", path, image.shape[1], image.shape[0], *size)
                image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
            # t_s keeps the image's place in the sequence, so a skipped image leaves a time gap.
            yield Frame(index=index, t_s=position / self.info.fps, image=image)
            index += 1


def _default_camera_capture(index: int) -> Capture:
    return cv2.VideoCapture(index)


class CameraSource(FrameSource):
    """A live OpenCV camera; timestamps are monotonic-clock seconds since the first frame.

    Reads block at the camera's pace, so iterate it through RealtimeSource (open_source does) to
    always get the newest frame. The capture factory, clock and sleep are injectable so the
    unplug logic can be tested without a camera.
    """

    def __init__(
        self,
        index: int = 0,
        *,
        fps: float | None = None,
        retry_s: float = 1.0,
        capture_factory: Callable[[int], Capture] = _default_camera_capture,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.index = index
        self.dropped = 0
        self.retry_s = retry_s
        self._clock = clock
        self._sleep = sleep
        self._cap = capture_factory(index)
        self._closed = False
        self._read_lock = threading.Lock()
        if not self._cap.isOpened():
            self._cap.release()
            raise InputError(
                f"no camera at index {index}: check it is connected and not used by another "
                "program, or pick another with --camera N"
            )
        if fps is not None:
            self._cap.set(cv2.CAP_PROP_FPS, fps)
        # Cameras often fail the first reads while starting up: allow a longer grace period.
        image = self._read_with_retry(max(retry_s, 2.0))
        if image is None:
            self._cap.release()
            raise InputError(
                f"no camera at index {index}: it opened but gave no frames; check that it works "
                "in another program, or pick another with --camera N"
            )
        reported = self._cap.get(cv2.CAP_PROP_FPS)
        nominal = reported if _usable_fps(reported) else (fps or DEFAULT_FPS)
        height, width = image.shape[:2]
        self.info = SourceInfo(
            kind="camera",
            name=f"camera {index}",
            fps=float(nominal),
            frame_count=None,
            width=int(width),
            height=int(height),
            duration_s=None,
        )
        self._first: np.ndarray | None = image
        self._first_clock = self._clock()

    def _read_with_retry(self, patience_s: float) -> np.ndarray | None:
        """Read a frame, retrying failed reads for up to `patience_s` (USB hiccups)."""
        deadline = self._clock() + patience_s
        while True:
            with self._read_lock:
                if self._closed:
                    return None
                ok, image = self._cap.read()
            if ok and image is not None:
                return image
            if self._clock() >= deadline:
                return None
            self._sleep(0.05)

    def __iter__(self) -> Iterator[Frame]:
        index = 0
        last_t = -math.inf
        while not self._closed:
            if self._first is not None:
                image, self._first = self._first, None
                t = 0.0
            else:
                image = self._read_with_retry(self.retry_s)
                if image is None:
                    if self._closed:
                        return
                    raise SourceLostError(
                        f"camera {self.index} stopped delivering frames after {index} frames "
                        "(unplugged?): reconnect it and start again"
                    )
                t = self._clock() - self._first_clock
            t = max(t, last_t + 0.001)
            last_t = t
            yield Frame(index=index, t_s=t, image=image)
            index += 1

    def close(self) -> None:
        with self._read_lock:
            if self._closed:
                return
            self._closed = True
            self._cap.release()


class RealtimeSource(FrameSource):
    """Hands the consumer only the newest frame, as a live camera would.

    A grabber thread pulls frames from `inner` (with `pace`, releasing each at its media time
    against the wall clock, so a file stands in for a camera) into a one-slot holder. A frame
    that is replaced before the consumer took it is counted in `dropped`, never queued, so a slow
    consumer stays current instead of falling ever further behind.
    """

    _thread_name = "formcheck-realtime"

    def __init__(self, inner: FrameSource, *, pace: bool = True) -> None:
        self.inner = inner
        self.info = inner.info
        self.pace = pace
        self.dropped = 0
        self.delivered = 0
        self._lock = threading.Lock()
        self._slot: NewestSlot[Frame] = NewestSlot()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._iterated = False

    def truncation(self) -> str | None:
        return self.inner.truncation()

    def __iter__(self) -> Iterator[Frame]:
        with self._lock:
            if self._iterated:
                raise RuntimeError(f"{self.info.name}: a source can be iterated only once")
            self._iterated = True
        return self._consume()

    def _grab(self) -> None:
        frames = iter(self.inner)
        try:
            start_wall: float | None = None
            start_media = 0.0
            for frame in frames:
                if self.pace:
                    if start_wall is None:
                        start_wall, start_media = time.monotonic(), frame.t_s
                    delay = start_wall + (frame.t_s - start_media) - time.monotonic()
                    if delay > 0 and self._stop.wait(delay):
                        return
                if self._stop.is_set():
                    return
                self.dropped += self._slot.put(frame)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer to re-raise
            self._slot.end(exc)
        finally:
            close = getattr(frames, "close", None)
            if close is not None:
                close()
            self._slot.end()

    def _consume(self) -> Iterator[Frame]:
        with self._lock:
            if self._stop.is_set():
                return
            # Started by the first next(): the media clock starts when the consumer is ready.
            self._thread = threading.Thread(target=self._grab, name=self._thread_name, daemon=True)
            self._thread.start()
        try:
            while (frame := self._slot.take()) is not None and not self._stop.is_set():
                self.delivered += 1
                yield frame
        finally:
            self.close()

    def close(self) -> None:
        self._stop.set()
        self._slot.end()
        # Closing the inner source unblocks a grabber waiting on it (decoder queue or camera read).
        self.inner.close()
        _join(self._thread, self.info.name)


def open_source(
    spec: str | os.PathLike[str] | int, *, realtime: bool = False, fps: float | None = None
) -> FrameSource:
    """Open a camera (an int, or a string of digits that is not a file), image folder or video.

    `realtime=True` replays a file or folder at its own pace and drops stale frames; a camera is
    always realtime. `fps` is the rate of an image folder (default 30), the rate asked of a camera,
    or the rate assumed for a video file whose container gives none.
    """
    if isinstance(spec, bool):
        raise InputError(f"not a source: {spec!r}: pass a video file, an image folder or a camera index")
    if isinstance(spec, int) or (isinstance(spec, str) and spec.isdigit() and not os.path.exists(spec)):
        return RealtimeSource(CameraSource(int(spec), fps=fps), pace=False)
    path = Path(spec)
    source: FrameSource
    if path.is_dir():
        source = ImageFolderSource(path, fps if fps is not None else DEFAULT_FPS)
    else:
        source = VideoFileSource(path, fps=fps)
    if realtime:
        return RealtimeSource(source, pace=True)
    return source

