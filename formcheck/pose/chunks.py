"""The pose model on several processes for one recorded video (`analyze --workers N`).

The model is nearly all of an analysis's cost and MediaPipe keeps about one core busy, so a
recorded video is split into N time chunks, each run through its own pose landmarker in its own
process. Everything after the model (smoothing, metrics, tracker, verdicts, cues, the annotated
video, the report pass) stays in the analysing process and sees the frames in order, exactly as
in a one-process run: `ChunkedPose` stands in for the `PoseEstimator`, handing the pipeline each
frame's landmarks from the chunk that owns it.

Each chunk after the first starts `OVERLAP_S` before its boundary, so its landmarker has found
and is tracking the person by then; the hand-over from one chunk to the next happens at the first
frame of that overlap where both chunks' leg landmarks agree (`AGREE`), else at the boundary. The
workers write their landmarks to files in the run's staging folder, in small blocks, and the
analysing process reads them one frame at a time: memory does not grow with the video's length.
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from formcheck.core.landmarks import NUM_LANDMARKS
from formcheck.core.pose_frame import PoseFrame
from formcheck.errors import FormcheckError
from formcheck.media.recording import Recording, read_npy_length

log = logging.getLogger(__name__)

OVERLAP_S = 2.0  # a chunk's warm-up before its boundary (the landmarker re-acquires within ~0.2 s)
MIN_WARM_FRAMES = 15  # frames a chunk's landmarker runs before its landmarks may be used
MIN_CHUNK_FRAMES = 240  # below this a worker's start-up (model load, about 1 s) eats the gain
AGREE = 0.02  # hand over where every leg landmark of both chunks is within 2% of the body height
LEG_LANDMARKS = slice(23, 33)  # hips, knees, ankles, heels, toes
_POLL_S = 0.005


@dataclass(frozen=True)
class Chunk:
    index: int
    warm: int  # first frame this chunk's worker models
    start: int  # its nominal first frame (the boundary with the chunk before)
    stop: int | None  # first frame after it (None: to the end)


def plan_chunks(frame_count: int, workers: int, fps: float) -> list[Chunk]:
    """Equal time chunks, as many as `workers` allows with at least MIN_CHUNK_FRAMES each."""
    n = max(1, min(workers, frame_count // MIN_CHUNK_FRAMES))
    bounds = [round(i * frame_count / n) for i in range(n + 1)]
    overlap = max(MIN_WARM_FRAMES * 2, math.ceil(OVERLAP_S * fps))
    return [
        Chunk(i, max(0, bounds[i] - overlap) if i else 0, bounds[i], bounds[i + 1] if i < n - 1 else None)
        for i in range(n)
    ]


class _ChunkRecording(Recording):
    """Landmark records written in small blocks, so the analysing process can follow closely."""

    BLOCK = 8


def _pose_worker(video: str, model: str, chunk: Chunk, path: str) -> None:
    """One chunk's landmarks into `path` (runs in its own process)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the analysing process's to handle
    from formcheck.pose.landmarker import PoseEstimator
    from formcheck.media.sources import VideoFileSource

    source = VideoFileSource(video, start_frame=chunk.warm)
    record = _ChunkRecording(Path(path))
    nan_xy, nan_xyz, zero = np.full((NUM_LANDMARKS, 2), np.nan), np.full((NUM_LANDMARKS, 3), np.nan), np.zeros(NUM_LANDMARKS)
    try:
        with PoseEstimator(model) as estimator:
            for frame in source:
                if chunk.stop is not None and frame.index >= chunk.stop:
                    break
                pose = estimator.detect(frame.image, frame.t_s)
                if pose is None:
                    record.append(frame, nan_xy, nan_xyz, zero, 0, [])
                else:
                    record.append(frame, pose.image_xy, pose.world_xyz, pose.visibility, pose.people, [])
    finally:
        source.close()
        record.close()


def _agree(a: np.void, b: np.void) -> bool:
    """Both chunks saw no one, or the same legs (within AGREE of the body's height)."""
    if a["people"] == 0 or b["people"] == 0:
        return bool(a["people"] == b["people"])
    xy_a, xy_b = a["image_xy"].astype(float), b["image_xy"].astype(float)
    height = float(np.nanmax(xy_a[:, 1]) - np.nanmin(xy_a[:, 1]))
    gap = np.linalg.norm(xy_a[LEG_LANDMARKS] - xy_b[LEG_LANDMARKS], axis=1)
    return bool(height > 0 and np.all(np.isfinite(gap)) and float(gap.max()) <= AGREE * height)


class _ChunkFile:
    """Reads one worker's records as they arrive."""

    def __init__(self, chunk: Chunk, path: Path, process: multiprocessing.process.BaseProcess) -> None:
        self.chunk = chunk
        self.path = path
        self.process = process
        self.available = 0

    def row(self, frame: int) -> np.void | None:
        """The record of `frame`, waiting for the worker; None if the video ended before it."""
        local = frame - self.chunk.warm
        while local >= self.available:
            if self.path.exists():
                self.available = read_npy_length(self.path)
                if local < self.available:
                    break
            if not self.process.is_alive():
                self.available = read_npy_length(self.path) if self.path.exists() else 0
                if local < self.available:
                    break
                if self.process.exitcode:
                    raise FormcheckError(
                        f"pose worker {self.chunk.index + 1} stopped (exit code {self.process.exitcode}; out of memory or killed): "
                        "run again, or with --workers 1"
                    )
                return None  # the video had fewer frames than it announced
            time.sleep(_POLL_S)
        return Recording.read_one(self.path, local)


class ChunkedPose:
    """Stands in for `PoseEstimator` in the pipeline: each frame's landmarks, from the chunk
    workers, in frame order. `handovers` records the frame where each chunk took over."""

    def __init__(self, video: Path, model: Path, chunks: list[Chunk], folder: Path) -> None:
        context = multiprocessing.get_context("spawn")  # MediaPipe's threads do not survive fork
        self._files: list[_ChunkFile] = []
        for chunk in chunks:
            path = folder / f".pose-chunk-{chunk.index}.npy"
            process = context.Process(target=_pose_worker, args=(str(video), str(model), chunk, str(path)),
                                      name=f"formcheck-pose-{chunk.index}", daemon=True)  # fmt: skip
            process.start()
            self._files.append(_ChunkFile(chunk, path, process))
        self._current = 0  # index of the chunk whose landmarks are in use
        self._next = 0  # the frame the pipeline asks for next
        self.handovers: list[int] = []

    def detect_shrunk(self, _small_bgr: np.ndarray, t_s: float, original_size: tuple[int, int]) -> PoseFrame | None:
        frame = self._next
        self._next += 1
        following = self._current + 1
        if following < len(self._files):
            nxt = self._files[following]
            if frame >= nxt.chunk.start:
                self._hand_over(frame)
            elif frame >= nxt.chunk.warm + MIN_WARM_FRAMES:
                mine, theirs = self._files[self._current].row(frame), nxt.row(frame)
                if mine is not None and theirs is not None and _agree(mine, theirs):
                    self._hand_over(frame)
        row = self._files[self._current].row(frame)
        if row is None or row["people"] == 0:
            return None
        return PoseFrame(
            t_s=t_s, image_xy=row["image_xy"].astype(np.float64), world_xyz=row["world_xyz"].astype(np.float64),
            visibility=row["visibility"].astype(np.float64), image_size=original_size, people=int(row["people"]),
        )  # fmt: skip

    def _hand_over(self, frame: int) -> None:
        self._current += 1
        self.handovers.append(frame)
        log.debug("chunk %d takes over at frame %d", self._current + 1, frame)

    def close(self) -> None:
        for f in self._files:
            if f.process.is_alive():
                f.process.terminate()
        for f in self._files:
            f.process.join(timeout=10)
            if f.process.is_alive():
                f.process.kill()
                f.process.join()
            try:
                os.unlink(f.path)
            except FileNotFoundError:
                pass

    def __enter__(self) -> ChunkedPose:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
