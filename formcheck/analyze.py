"""Running the pipeline over a source and writing a session's files (analyze, and live at its end).

Files in the output folder: annotated.mp4 and landmarks.npy (the model's raw landmarks) written
while frames stream, then summary.json, frames.csv and report.html from the report pass, which
reads landmarks.npy back in chunks. An interrupted run (Ctrl-C) still gets them all, covering
what was measured, with `"partial": true`.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import json
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from formcheck.annotate import annotate
from formcheck.config import Config
from formcheck.errors import InputError, SourceLostError
from formcheck.landmarks import Side
from formcheck.model_store import ModelInfo
from formcheck.outputs import summary_dict, write_frames_csv, write_summary
from formcheck.pipeline import FrameResult, Pipeline
from formcheck.pose import PoseEstimator
from formcheck.recording import Recording
from formcheck.session import SessionResult, summarize
from formcheck.sinks import VideoSink
from formcheck.sources import FrameSource, SourceInfo, VideoFileSource
from formcheck.trackers import tracker_class

log = logging.getLogger(__name__)

ProgressFn = Callable[[int, float], None]  # (frames done, media seconds reached)


@dataclass
class Outcome:
    out_dir: Path
    summary: dict[str, Any]
    result: SessionResult
    partial: bool
    frames: int
    wall_s: float
    files: dict[str, Path] = field(default_factory=dict)
    stopped_by: str | None = None  # "interrupt", "source lost"


def prepare_out_dir(out_dir: Path) -> Path:
    """Create the folder (and parents) or fail with one line if it cannot be written."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create output folder {out_dir}: {exc.strerror or exc}") from None
    if not out_dir.is_dir() or not os.access(out_dir, os.W_OK | os.X_OK):
        raise InputError(f"output folder {out_dir} is not writable: choose another with --out")
    return out_dir


def other_video_in(out_dir: Path, source: SourceInfo) -> str | None:
    """The video whose results `out_dir` already holds, if it is not `source`'s; else None.

    Results are told apart by the video's SHA-256 in summary.json (by file name for results
    written before it was recorded there, and for sources without one)."""
    try:
        held = json.loads((out_dir / "summary.json").read_text(encoding="utf-8")).get("source") or {}
    except (OSError, ValueError, AttributeError):
        return None
    if not isinstance(held, dict):
        return None
    if held.get("sha256") and source.sha256:
        same = held["sha256"] == source.sha256
    else:
        same = Path(str(held.get("path", ""))).name == Path(source.name).name
    return None if same else str(held.get("path") or "another video")


def free_out_dir(base: Path, source: SourceInfo) -> Path:
    """`base`, or `base-2`, `base-3`, ...: the first that holds no other video's results."""
    candidate, n = base, 1
    while other_video_in(candidate, source) is not None:
        n += 1
        candidate = base.with_name(f"{base.name}-{n}")
    return candidate


@contextmanager
def _sigint_ignored() -> Iterator[None]:
    """While the report is written, a second Ctrl-C must not leave half-written files."""
    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _preload_report_libraries() -> None:
    """Import the report pass's libraries (scipy.signal about 1 s, matplotlib and jinja2 about
    0.3 s more) on a spare thread while the frames stream, rather than after the last frame,
    where they were about 3% of a one-minute analysis. A failure here is left for the report
    pass to raise in the ordinary way."""

    def load() -> None:
        try:
            import scipy.signal  # noqa: F401

            import formcheck.report  # noqa: F401
        except Exception:  # noqa: BLE001 - the report pass imports again and reports it
            log.debug("preloading the report libraries failed", exc_info=True)

    threading.Thread(target=load, name="formcheck-preload", daemon=True).start()


def run_session(
    source: FrameSource,
    *,
    exercise: str,
    out_dir: Path,
    model: ModelInfo,
    config: Config,
    progress: ProgressFn | None = None,
    on_frame: Callable[[FrameResult], bool | None] | None = None,
    write_video: bool = True,
    side: Side | None = None,
) -> Outcome:
    """Stream `source` through the pipeline into `out_dir`; returns once the files are written.

    `on_frame(result)` lets the live loop follow each analysed frame; it returns True to stop.
    Ctrl-C and a lost source end the stream early; what was measured is kept and written,
    marked partial.
    """
    tracker_class(exercise)  # unknown exercise: fail before any work
    prepare_out_dir(out_dir)
    info = source.info
    files = {
        "annotated": out_dir / "annotated.mp4",
        "summary": out_dir / "summary.json",
        "frames": out_dir / "frames.csv",
        "report": out_dir / "report.html",
        "landmarks": out_dir / "landmarks.npy",
    }
    started = time.perf_counter()
    stopped_by: str | None = None
    warnings: list[str] = []
    with PoseEstimator(model.path) as estimator:
        _preload_report_libraries()
        recording = Recording(files["landmarks"])
        pipeline = Pipeline(estimator, tracker_class(exercise)(side, config.trackers), config, recording)
        sink = None
        try:
            for result in pipeline.stream(source):
                frame = result.frame
                if write_video:
                    # Drawn on the frame the model saw (longer side <= 640 px): one resize for
                    # both, a quarter of the pixels to draw and encode at 720p; and drawn on the
                    # sink's thread, from a snapshot of this frame's state, off the model's path.
                    assert result.shrunk is not None
                    if sink is None:
                        size = (result.shrunk.shape[1], result.shrunk.shape[0])
                        sink = VideoSink(files["annotated"], info.fps, size)
                    snapshot = dataclasses.replace(result, state=copy.copy(result.state))
                    sink.write(functools.partial(annotate, result.shrunk, snapshot, exercise, result.shrunk_scale))
                if progress is not None:
                    progress(len(pipeline.recording), frame.t_s)
                if on_frame is not None and on_frame(result):
                    stopped_by = "user"
                    break
        except KeyboardInterrupt:
            stopped_by = "interrupt"
        except SourceLostError as exc:
            stopped_by = "source lost"
            warnings.append(str(exc))
        finally:
            with _sigint_ignored():
                source.close()
                recording.close()
                if sink is not None:
                    sink.close()
    if isinstance(source, VideoFileSource) and source.truncated:
        warnings.append(f"only {source.decoded} of the {info.frame_count} frames the file announces could be decoded (truncated file?)")
    if getattr(source, "dropped", 0):
        warnings.append(f"{source.dropped} frames were dropped because processing fell behind the camera")

    partial = stopped_by in ("interrupt", "source lost")
    with _sigint_ignored():
        result = summarize(recording, exercise, config, info, partial=partial, extra_warnings=warnings, side=side)
        model_json = {"name": model.name, "sha256": model.sha256, "variant": model.variant}
        summary = summary_dict(result, config, model_json)
        write_summary(files["summary"], summary)
        write_frames_csv(files["frames"], result)
        from formcheck.report import write_report  # matplotlib: imported only when needed

        write_report(files["report"], result, summary)
    if sink is None:  # no video asked for, or stopped before the first frame
        files.pop("annotated")
    return Outcome(
        out_dir=out_dir,
        summary=summary,
        result=result,
        partial=partial,
        frames=len(recording),
        wall_s=time.perf_counter() - started,
        files=files,
        stopped_by=stopped_by,
    )
