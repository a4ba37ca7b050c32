"""Background analysis of uploaded videos, queued in the store so that no accepted upload is lost.

The `jobs` table is the queue: the upload request writes the video into place and the job's row
before it answers, and one worker thread (the CPU is the limit) takes the oldest queued job, runs
`run_session` and records the session, marking the job done in the same transaction. A job cut
off by a stopped or killed server is still `running` in the store; `recover` at the next start
puts it back in the queue, and it runs again from the start into a fresh folder. Only the
progress of the running job is kept in memory.
"""

from __future__ import annotations

import logging
import secrets
import shutil
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from formcheck.errors import FormcheckError
from formcheck.store import Store

log = logging.getLogger(__name__)

UPLOAD_TMP_PREFIX = ".upload-"  # an upload being received; its job row does not exist yet


class _Stopped(Exception):
    """Raised from the progress callback to end the running analysis when the server stops."""


class JobRunner:
    def __init__(self, db_path: Path, model: Any, data_dir: Path | None = None) -> None:
        self.db_path = db_path
        self.model = model  # ModelInfo or None (uploads then fail with a clear message)
        self.data_dir = data_dir
        self._progress: dict[str, tuple[int, int | None]] = {}  # job id -> (frames done, frames in the video)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @staticmethod
    def new_id() -> str:
        return secrets.token_hex(8)

    # -- lifecycle --------------------------------------------------------------------------
    def recover(self) -> dict[str, int]:
        """At server start, before serving: jobs a stopped server left running go back in the
        queue; uploads without a job row (a server killed between writing the video and
        committing its row) and half-received uploads are deleted."""
        with Store(self.db_path) as store:
            requeued = store.requeue_interrupted_jobs()
            known = {Path(j["video_path"]) for j in store.jobs()}
            queued = len(store.jobs("queued"))
        removed = 0
        uploads = self.data_dir / "uploads" if self.data_dir is not None else None
        if uploads is not None and uploads.is_dir():
            for path in uploads.glob("*/*"):
                if path.is_file() and (path.name.startswith(UPLOAD_TMP_PREFIX) or path.resolve() not in known):
                    log.warning("removing %s: an upload that was never accepted", path)
                    path.unlink(missing_ok=True)
                    removed += 1
        if requeued:
            log.warning("%d analyses cut off by the last stop run again", requeued)
        return {"requeued": requeued, "queued": queued, "removed_uploads": removed}

    def start(self) -> None:
        """Start the worker (once); it runs every queued job in the store, oldest first."""
        with self._lock:
            if self._thread is not None or self._stop.is_set():
                return
            self._thread = threading.Thread(target=self._work, name="formcheck-analysis", daemon=True)
            self._thread.start()

    def submit(self, job_id: str) -> None:
        """A job row was committed: wake the worker."""
        self.start()
        self._wake.set()

    def stop(self, timeout: float = 30.0, give_up: Callable[[], bool] | None = None) -> bool:
        """Stop taking jobs and end the running analysis without recording it (its job goes
        back in the queue). True when the worker ended within `timeout` seconds (waiting ends
        early once `give_up()` is true)."""
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is None:
            return True
        deadline = time.monotonic() + timeout
        while thread.is_alive() and time.monotonic() < deadline and not (give_up and give_up()):
            thread.join(0.2)
        return not thread.is_alive()

    # -- reading ----------------------------------------------------------------------------
    def progress(self, job: dict[str, Any]) -> dict[str, Any]:
        """Frames done and the fraction, for a job row (1.0 once done)."""
        with self._lock:
            done, total = self._progress.get(job["id"], (0, None))
        if job["status"] == "done":
            fraction = 1.0
        elif job["status"] == "running" and total:
            fraction = min(1.0, done / total)
        else:
            fraction = 0.0
        return {"done_frames": done if job["status"] == "running" else 0, "total_frames": total, "fraction": fraction}

    # -- the worker -------------------------------------------------------------------------
    def _work(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                with Store(self.db_path) as store:
                    job = store.claim_next_job()
            except Exception:  # noqa: BLE001 - a worker must report, never die silently
                log.exception("cannot read the job queue")
                job = None
                self._stop.wait(5.0)
            if job is None:
                self._wake.wait(5.0)
                continue
            self._run(job)

    def _run(self, job: dict[str, Any]) -> None:
        from formcheck.analyze import run_session
        from formcheck.config import effective_config
        from formcheck.sources import open_source

        job_id = job["id"]
        out_dir = Path(job["out_dir"])
        try:
            if self.model is None:
                raise FormcheckError("no pose model: start the dashboard with --model PATH or set FORMCHECK_MODEL")
            with Store(self.db_path) as store:
                overrides = store.thresholds(job["patient_id"])
            if out_dir.exists():  # files of a run that was cut off: start clean
                shutil.rmtree(out_dir)
            source = open_source(Path(job["video_path"]))
            with self._lock:
                self._progress[job_id] = (0, source.info.frame_count)

            def progress(done: int, _t: float) -> None:
                if self._stop.is_set():
                    raise _Stopped
                with self._lock:
                    self._progress[job_id] = (done, source.info.frame_count)

            try:
                run_session(
                    source, exercise=job["exercise"], out_dir=out_dir, model=self.model,
                    config=effective_config(patient=overrides), progress=progress,
                )  # fmt: skip
            finally:
                source.close()
            with Store(self.db_path) as store:
                store.record_session(
                    out_dir, job["patient_id"], recorded_at=job["recorded_at"] or datetime.now(),
                    pain_before=job["pain_before"], pain_after=job["pain_after"], job_id=job_id,
                )  # fmt: skip
        except _Stopped:
            log.info("analysis of %s stopped; it runs again at the next start", job["video_path"])
            self._requeue(job_id)
        except FormcheckError as exc:
            self._fail(job_id, str(exc))
        except Exception as exc:  # noqa: BLE001 - a worker must report, never die silently
            log.exception("analysis of %s failed", job["video_path"])
            self._fail(job_id, f"unexpected error: {type(exc).__name__}: {exc}")
        finally:
            with self._lock:
                self._progress.pop(job_id, None)

    def _requeue(self, job_id: str) -> None:
        try:
            with Store(self.db_path) as store:
                store.requeue_job(job_id)
        except Exception:  # noqa: BLE001 - left `running`, it is re-queued at the next start all the same
            log.exception("cannot put job %s back in the queue", job_id)

    def _fail(self, job_id: str, message: str) -> None:
        try:
            with Store(self.db_path) as store:
                store.fail_job(job_id, message)
        except Exception:  # noqa: BLE001
            log.exception("cannot mark job %s failed", job_id)
