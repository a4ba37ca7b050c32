"""Running the pipeline over a source and writing a session's files (analyze, and live at its end).

Files in the output folder: annotated.mp4 and landmarks.npy (the model's raw landmarks) written
while frames stream, then summary.json, frames.csv and report.html from the report pass, which
reads landmarks.npy back in chunks. They are staged and committed together (`run_folder`): a run
that fails leaves the folder's earlier result whole. An interrupted run (Ctrl-C, SIGTERM) still
gets them all, covering what was measured, with `"partial": true`.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from formcheck import __version__
from formcheck.config import Config
from formcheck.core.landmarks import Side
from formcheck.errors import InputError, SourceLostError
from formcheck.media.recording import Recording
from formcheck.media.sinks import VideoSink
from formcheck.media.sources import FrameSource, VideoFileSource
from formcheck.pipeline.session import SessionResult, summarize
from formcheck.pipeline.stages import FrameResult, Pipeline
from formcheck.pose.chunks import ChunkedPose, plan_chunks
from formcheck.pose.landmarker import PoseEstimator
from formcheck.pose.model_store import ModelInfo
from formcheck.reporting.annotate import annotate
from formcheck.reporting.outputs import summary_dict, write_frames_csv, write_summary
from formcheck.runs.run_folder import RunFolder, settle
from formcheck.runs.stop_signals import Terminated, deferred
from formcheck.trackers import tracker_class

log = logging.getLogger(__name__)

ProgressFn = Callable[[int, float], None]  # (frames done, media seconds reached)
# Ways a run ends before the video does, and the partial_reason each gives summary.json.
STOPPED_EARLY = {
    "interrupt": "interrupted (Ctrl-C)",
    "terminated": "terminated (SIGTERM)",
    "source lost": "the source stopped delivering frames",
}


@dataclass
class Outcome:
    out_dir: Path
    summary: dict[str, Any]
    result: SessionResult
    partial: bool
    frames: int
    wall_s: float
    files: dict[str, Path] = field(default_factory=dict)
    stopped_by: str | None = None  # "user", "interrupt", "terminated", "source lost"
    lost: str | None = None  # how the source stopped delivering frames, when it did


def other_video_in(out_dir: Path, sha256: str | None, name: str) -> str | None:
    """The video whose results `out_dir` already holds, if it is not this one; else None.

    Results are told apart by the video's SHA-256 in summary.json (by file name for results
    written before it was recorded there, and for sources without one)."""
    settle(out_dir)
    try:
        held = json.loads((out_dir / "summary.json").read_text(encoding="utf-8")).get("source") or {}
    except (OSError, ValueError, AttributeError):
        return None
    if not isinstance(held, dict):
        return None
    if held.get("sha256") and sha256:
        same = held["sha256"] == sha256
    else:
        same = Path(str(held.get("path", ""))).name == Path(name).name
    return None if same else str(held.get("path") or "another video")


def free_out_dir(base: Path, sha256: str | None, name: str, taken: Collection[Path] = ()) -> Path:
    """`base`, or `base-2`, `base-3`, ...: the first that holds no other video's results (and is
    not in `taken`, the folders already given to other videos of a batch)."""
    candidate, n = base, 1
    while candidate in taken or other_video_in(candidate, sha256, name) is not None:
        n += 1
        candidate = base.with_name(f"{base.name}-{n}")
    return candidate


def settings_sha256(exercise: str, side: Side | None, config: Config, model_sha256: str, write_video: bool) -> str:
    """What a run's results depend on besides the video: a batch skips a video whose folder
    holds a complete result with this key and the video's own SHA-256."""
    settings = {
        "formcheck": __version__,
        "exercise": exercise,
        "side": side.value if side is not None else None,
        "config": dataclasses.asdict(config),
        "model": model_sha256,
        "video": write_video,
    }
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()


def _import_report_libraries() -> None:
    """Import the report pass's libraries (scipy.signal about 1 s, matplotlib and jinja2 about
    0.3 s more). A failure here is left for the report pass to raise in the ordinary way."""
    try:
        import scipy.signal  # noqa: F401

        import formcheck.reporting.report  # noqa: F401
    except Exception:  # noqa: BLE001 - the report pass imports again and reports it
        log.debug("importing the report libraries failed", exc_info=True)


def _preload_report_libraries() -> None:
    """`_import_report_libraries` on a spare thread while the frames stream, rather than after
    the last frame, where it was about 3% of a one-minute analysis."""
    threading.Thread(target=_import_report_libraries, name="formcheck-preload", daemon=True).start()


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
    folder: RunFolder | None = None,
    workers: int = 1,
    warm_start: bool = False,
) -> Outcome:
    """Stream `source` through the pipeline into `out_dir`; returns once the files are written.

    `on_frame(result)` lets the live loop follow each analysed frame; it returns True to stop.
    `warm_start` (live) loads everything the run needs and warms the model before taking the
    first frame, so that nothing starts up while the person moves and frames are dropped;
    otherwise the report's libraries load beside the first frames.
    Ctrl-C, SIGTERM and a lost source end the stream early; what was measured is kept and
    written, marked partial. The files are committed to `out_dir` together at the end, unless the
    caller passes its own `folder` (live adds its files) and commits it; on an error the staged
    files are dropped and the folder keeps its earlier result.
    """
    tracker_class(exercise)  # unknown exercise: fail before any work
    own_folder = folder is None
    if folder is None:
        folder = RunFolder(out_dir)
    try:
        outcome = _run(source, exercise, folder, model, config, progress, on_frame, write_video, side, workers, warm_start)
    except BaseException as exc:
        if own_folder or not isinstance(exc, KeyboardInterrupt):
            folder.discard()
        raise
    if own_folder:
        with deferred():
            outcome.files = {key: folder.final(path.name) for key, path in outcome.files.items()}
            try:
                folder.commit()
            except InputError:
                folder.discard()
                raise
    return outcome


def _estimator(source: FrameSource, model: ModelInfo, workers: int, folder: RunFolder) -> PoseEstimator | ChunkedPose:
    """The pose model in this process, or on `workers` processes for a long enough video file."""
    if workers > 1 and isinstance(source, VideoFileSource) and source.info.frame_count:
        chunks = plan_chunks(source.info.frame_count, workers, source.info.fps)
        if len(chunks) > 1:
            log.info("pose model on %d processes (frames %s)", len(chunks), ", ".join(str(c.start) for c in chunks))
            return ChunkedPose(source.path, model.path, chunks, folder.staging)
    return PoseEstimator(model.path)


def _run(
    source: FrameSource,
    exercise: str,
    folder: RunFolder,
    model: ModelInfo,
    config: Config,
    progress: ProgressFn | None,
    on_frame: Callable[[FrameResult], bool | None] | None,
    write_video: bool,
    side: Side | None,
    workers: int = 1,
    warm_start: bool = False,
) -> Outcome:
    info = source.info
    files = {
        "annotated": folder.path("annotated.mp4"),
        "summary": folder.path("summary.json"),
        "frames": folder.path("frames.csv"),
        "report": folder.path("report.html"),
        "landmarks": folder.path("landmarks.npy"),
    }
    started = time.perf_counter()
    stopped_by: str | None = None
    lost: str | None = None
    warnings: list[str] = []
    with _estimator(source, model, workers, folder) as estimator:
        if warm_start:
            _import_report_libraries()
            if isinstance(estimator, PoseEstimator):
                estimator.warm_up((info.width, info.height))
        else:
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
        except KeyboardInterrupt as exc:
            if len(recording) == 0:  # nothing measured yet: nothing to write
                raise
            stopped_by = "terminated" if isinstance(exc, Terminated) else "interrupt"
        except SourceLostError as exc:
            stopped_by, lost = "source lost", str(exc)
            warnings.append(lost)
        finally:
            with deferred():
                source.close()
                recording.close()
                if sink is not None:
                    sink.close()
    partial_reason = STOPPED_EARLY.get(stopped_by or "")
    cut = source.truncation()
    if cut is not None:
        warnings.append(cut)
        partial_reason = partial_reason or cut
    if getattr(source, "dropped", 0):
        warnings.append(f"{source.dropped} frames were dropped because processing fell behind the camera")

    partial = partial_reason is not None
    with deferred():
        result = summarize(recording, exercise, config, info, partial=partial, extra_warnings=warnings, side=side)
        model_json = {"name": model.name, "sha256": model.sha256, "variant": model.variant}
        summary = summary_dict(result, model_json, partial_reason, read_to_end=stopped_by not in STOPPED_EARLY)
        summary["settings_sha256"] = settings_sha256(exercise, side, config, model.sha256, write_video)
        write_summary(files["summary"], summary)
        write_frames_csv(files["frames"], result)
        from formcheck.reporting.report import write_report  # matplotlib: imported only when needed

        write_report(files["report"], result, summary)
    if sink is None:  # no video asked for, or stopped before the first frame
        files.pop("annotated")
    return Outcome(
        out_dir=folder.out_dir,
        summary=summary,
        result=result,
        partial=partial,
        frames=len(recording),
        wall_s=time.perf_counter() - started,
        files=files,
        stopped_by=stopped_by,
        lost=lost,
    )
