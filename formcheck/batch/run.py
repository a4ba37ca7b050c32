"""Planning and running a batch: which videos still need analysing, on which workers, and what
each one gave. The command line shows progress through `BatchProgress`; nothing here prints."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from formcheck.batch.index import write_index
from formcheck.batch.inputs import patient_for
from formcheck.batch.pool import DaskPool, LocalPool
from formcheck.batch.work import VideoResult, VideoTask
from formcheck.config import Config
from formcheck.core.landmarks import Side
from formcheck.errors import InputError
from formcheck.media.sources import file_sha256
from formcheck.pose.model_store import ModelInfo
from formcheck.runs.analyze import free_out_dir, settings_sha256

log = logging.getLogger(__name__)

OUTPUT_FILES = ("summary.json", "frames.csv", "report.html", "landmarks.npy")


@dataclass
class BatchOptions:
    out: Path
    exercise: str
    config: Config
    model: ModelInfo
    side: Side | None = None
    write_video: bool = True
    workers: int = 1
    scheduler: str | object | None = None  # a Dask scheduler address (or a distributed Client, for tests)
    patients: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    retries: int = 2  # on a cluster: times a video is re-run after its worker was lost


class BatchProgress:
    """What a batch reports while it runs; the command line draws it (the default says nothing)."""

    def planned(self, videos: int, skipped: int, frames: int | None) -> None: ...
    def frames(self, done: int) -> None: ...
    def finished(self, result: VideoResult) -> None: ...


@dataclass
class BatchResult:
    results: list[VideoResult]
    index_csv: Path
    index_html: Path
    interrupted: bool = False

    @property
    def failed(self) -> list[VideoResult]:
        return [r for r in self.results if r.status == "failed"]


def _complete(out_dir: Path, sha: str, settings: str, write_video: bool) -> dict | None:
    """The summary of a whole result of this video with these settings in `out_dir`, else None."""
    try:
        summary = json.loads((out_dir / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(summary, dict) or summary.get("settings_sha256") != settings:
        return None
    if summary.get("partial") and summary.get("stopped_early", True):  # a truncated file's result is whole
        return None
    if (summary.get("source") or {}).get("sha256") != sha:
        return None
    needed = OUTPUT_FILES + (("annotated.mp4",) if write_video else ())
    return summary if all((out_dir / name).is_file() for name in needed) else None


def plan(videos: list[Path], opts: BatchOptions) -> tuple[list[VideoTask], list[VideoResult]]:
    """Tasks for the videos still to analyse, and results for those already done (skipped)."""
    settings = settings_sha256(opts.exercise, opts.side, opts.config, opts.model.sha256, opts.write_video)
    tasks: list[VideoTask] = []
    skipped: list[VideoResult] = []
    taken: set[Path] = set()
    for i, video in enumerate(videos):
        try:
            sha = file_sha256(video)
        except OSError as exc:
            raise InputError(f"cannot read {video}: {exc.strerror or exc}") from None
        out_dir = free_out_dir(opts.out / video.stem, sha, str(video), taken)
        taken.add(out_dir)
        task = VideoTask(i, str(video), str(out_dir), opts.exercise, opts.side.value if opts.side else None, opts.config,
                         str(opts.model.path), opts.write_video, sha, settings)  # fmt: skip
        done = _complete(out_dir, sha, settings, opts.write_video)
        if done is not None:
            skipped.append(VideoResult.from_summary(task, done, "skipped", reason="already analysed with these settings"))
        else:
            tasks.append(task)
    return tasks, skipped


def _frame_count(video: str) -> int | None:
    import cv2

    cap = cv2.VideoCapture(video)
    try:
        n = cap.get(cv2.CAP_PROP_FRAME_COUNT)
        return int(n) if n and n > 0 else None
    finally:
        cap.release()


def _run_local(tasks: list[VideoTask], workers: int, progress: BatchProgress) -> Iterator[VideoResult]:
    """A process pool on this machine. Ctrl-C: queued videos are dropped, the ones being analysed
    are stopped with SIGTERM and keep what they measured."""
    pool = LocalPool(workers)
    futures: dict[Future, VideoTask] = {pool.submit(t): t for t in tasks}
    try:
        pending = set(futures)
        while pending:
            finished, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            progress.frames(pool.drain())
            for fut in finished:
                task = futures[fut]
                try:
                    result = fut.result()
                except BrokenProcessPool:
                    result = VideoResult(task.index, task.video, task.out_dir, "failed", "its worker process died (out of memory, or killed)")
                except Exception as exc:  # noqa: BLE001 - reported per video
                    result = VideoResult(task.index, task.video, task.out_dir, "failed", f"unexpected error: {type(exc).__name__}: {exc}")
                progress.frames(max(0, result.frames - pool.frames_done.get(task.index, 0)))
                yield result
    except KeyboardInterrupt:
        pool.stop()
        for fut, task in futures.items():
            if fut.cancelled():
                continue
            try:
                yield fut.result(timeout=300)
            except Exception:  # noqa: BLE001 - the worker went with the interrupt
                yield VideoResult(task.index, task.video, task.out_dir, "interrupted", "stopped")
        raise
    finally:
        pool.close()


def _run_dask(tasks: list[VideoTask], scheduler: str | object, retries: int) -> Iterator[VideoResult]:
    """The same tasks on a Dask cluster; a video whose worker is lost is run again elsewhere."""
    pool = DaskPool(scheduler, retries)
    from distributed import as_completed

    try:
        futures = {pool.submit(t, key=f"formcheck-{t.sha256[:16]}-{t.settings[:8]}-{t.index}"): t for t in tasks}
        for fut in as_completed(futures):
            task = futures[fut]
            try:
                yield fut.result()
            except Exception as exc:  # noqa: BLE001 - e.g. every retry's worker was lost
                yield VideoResult(task.index, task.video, task.out_dir, "failed", f"{type(exc).__name__}: {exc}")
    finally:
        pool.close()


def _record(result: VideoResult, opts: BatchOptions) -> None:
    """Record a finished video for its patient (idempotent: a resumed batch never duplicates it)."""
    owner = patient_for(Path(result.video), opts.patients)
    if owner is None or result.status not in ("done", "skipped"):
        return
    from formcheck.clinic.store import record_session

    patient, date = owner
    try:
        rec = record_session(Path(result.out_dir), patient, recorded_at=date or datetime.now())
        result.session_id = rec.session_id
    except InputError as exc:
        result.status, result.reason = "failed", f"analysed, but not recorded for {patient}: {exc}"


def run_batch(videos: list[Path], opts: BatchOptions, progress: BatchProgress | None = None,
              on_result: Callable[[VideoResult], None] | None = None) -> BatchResult:  # fmt: skip
    """Analyse every video not already done into `opts.out`; write batch.csv and batch.html."""
    progress = progress or BatchProgress()
    opts.out.mkdir(parents=True, exist_ok=True)
    if opts.patients:
        from formcheck.clinic.store import Store

        with Store() as store:
            for patient, _ in set(opts.patients.values()):
                store.require_patient(patient)
    tasks, results = plan(videos, opts)
    counts = [_frame_count(t.video) for t in tasks]
    progress.planned(len(videos), len(results), sum(c or 0 for c in counts) if all(counts) else None)
    for r in results:
        _record(r, opts)
        progress.finished(r)
    interrupted = False
    started = time.perf_counter()
    runner = _run_dask(tasks, opts.scheduler, opts.retries) if opts.scheduler is not None else _run_local(tasks, opts.workers, progress)
    try:
        for result in runner:
            _record(result, opts)
            results.append(result)
            progress.finished(result)
            if on_result is not None:
                on_result(result)
    except KeyboardInterrupt:
        interrupted = True
    log.info("batch of %d videos in %.1f s", len(tasks), time.perf_counter() - started)
    done = {r.index for r in results}
    for t in tasks:
        if t.index not in done:
            results.append(VideoResult(t.index, t.video, t.out_dir, "interrupted", "not started"))
    results.sort(key=lambda r: r.index)
    csv_path, html_path = write_index(opts.out, results)
    return BatchResult(results, csv_path, html_path, interrupted)
