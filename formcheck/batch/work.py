"""One video's analysis as a task a worker process runs: plain data in, plain data out, so the
same function runs on a local process pool and on a Dask cluster."""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from formcheck.config import Config
from formcheck.errors import FormcheckError

# Set in each local pool worker (see `init_worker`): where frame progress goes.
_progress: Any = None
PROGRESS_EVERY = 15  # frames between progress messages


@dataclass(frozen=True)
class VideoTask:
    index: int
    video: str
    out_dir: str
    exercise: str
    side: str | None
    config: Config
    model: str  # a path every worker can read (on a cluster: shared storage)
    write_video: bool
    sha256: str
    settings: str  # analyze.settings_sha256 of this run


@dataclass
class VideoResult:
    index: int
    video: str
    out_dir: str
    status: str  # done, skipped, failed, interrupted
    reason: str = ""
    exercise: str = ""
    rep_count: int | None = None
    flagged_reps: int | None = None
    warnings: list[str] = field(default_factory=list)
    frames: int = 0
    seconds: float = 0.0
    worker: str = ""
    session_id: int | None = None

    @classmethod
    def from_summary(cls, task: VideoTask, summary: dict[str, Any], status: str, **more: Any) -> VideoResult:
        reps = summary.get("reps") or []
        return cls(
            index=task.index, video=task.video, out_dir=task.out_dir, status=status,
            exercise=str(summary.get("exercise", "")), rep_count=summary.get("rep_count"),
            flagged_reps=sum(1 for r in reps if any((r.get("valgus") or {}).values())),
            warnings=list(summary.get("warnings") or []), frames=int(summary.get("frames_analysed") or 0), **more,
        )  # fmt: skip


def init_worker(progress_queue: Any, parent_pid: int | None = None) -> None:
    """Local pool worker start-up: Ctrl-C is the parent's to handle (it sends SIGTERM to the
    workers that are analysing, so they write what they measured); SIGTERM stops an analysis.
    With `parent_pid` (Linux), the worker is killed when the thread that started it ends."""
    import logging
    import signal

    from formcheck.runs import stop_signals

    global _progress
    _progress = progress_queue
    if parent_pid is not None:
        _die_with_parent(parent_pid)
    logging.basicConfig(level=logging.ERROR)  # a video's warnings go into its summary and the index
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    stop_signals.install()


def _die_with_parent(parent_pid: int) -> None:
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the worker ends when its task queue closes
        return
    if os.getppid() != parent_pid:  # the parent died before the call above
        os._exit(1)


def _tell(*message: Any) -> None:
    if _progress is not None:
        try:
            _progress.put_nowait(message)
        except Exception:  # noqa: BLE001 - progress is best effort, never a reason to fail
            pass


def analyze_one(task: VideoTask) -> VideoResult:
    """Analyse one video into its folder; every failure becomes a result with its one-line reason."""
    from formcheck.runs.analyze import run_session
    from formcheck.core.landmarks import Side
    from formcheck.pose.model_store import resolve_model
    from formcheck.media.sources import open_source

    started = time.perf_counter()
    worker = f"{socket.gethostname()}:{os.getpid()}"
    try:
        _tell("start", task.index, os.getpid())
        model = resolve_model(Path(task.model), allow_download=False)
        source = open_source(Path(task.video))
        _tell("frames_total", task.index, source.info.frame_count)

        def progress(done: int, _t: float) -> None:
            if done % PROGRESS_EVERY == 0:
                _tell("frames", task.index, done)

        outcome = run_session(
            source, exercise=task.exercise, out_dir=Path(task.out_dir), model=model, config=task.config,
            progress=progress, write_video=task.write_video, side=Side(task.side) if task.side else None,
        )  # fmt: skip
    except FormcheckError as exc:
        return VideoResult(task.index, task.video, task.out_dir, "failed", str(exc), seconds=time.perf_counter() - started, worker=worker)
    except KeyboardInterrupt:
        return VideoResult(task.index, task.video, task.out_dir, "interrupted", "stopped before anything was measured",
                           seconds=time.perf_counter() - started, worker=worker)  # fmt: skip
    except Exception as exc:  # noqa: BLE001 - a worker reports, never dies silently
        reason = f"unexpected error: {type(exc).__name__}: {exc}"
        return VideoResult(task.index, task.video, task.out_dir, "failed", reason, seconds=time.perf_counter() - started, worker=worker)
    finally:
        _tell("end", task.index, os.getpid())
    stopped = outcome.stopped_by in ("interrupt", "terminated")
    return VideoResult.from_summary(
        task, outcome.summary, "interrupted" if stopped else "done",
        reason=outcome.summary.get("partial_reason", "") if stopped else "",
        seconds=time.perf_counter() - started, worker=worker,
    )  # fmt: skip
