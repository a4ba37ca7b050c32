"""Background analysis of uploaded videos, queued in the store so that no accepted upload is lost.

The `jobs` table is the queue: the upload request writes the video into place and the job's row
before it answers. A dispatcher thread takes the oldest queued jobs, as many as there are free
workers, and sends each as `analyze_one(VideoTask)` to a local process pool (`formcheck batch`'s,
one video per process) or to a Dask cluster. The server process alone writes the store: when a
worker's result comes back it records the session, marking the job done in the same transaction.
A job cut off by a stopped or killed server is still `running` in the store; `recover` at the next
start puts it back in the queue, and it runs again from the start into a fresh folder. Only the
progress of the running jobs is kept in memory.
"""

from __future__ import annotations

import logging
import secrets
import shutil
import threading
import time
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime
from pathlib import Path
from typing import Any

from formcheck.clinic.store import Store
from formcheck.errors import FormcheckError

log = logging.getLogger(__name__)

UPLOAD_TMP_PREFIX = ".upload-"  # an upload being received; its job row does not exist yet
MAX_ATTEMPTS = 3  # a job whose analysis was cut off this often (not by our stop) is failed
CLAIM_EVERY_S = 5.0  # the queue is read at least this often, besides on every upload and result


class JobRunner:
    """`workers`: local analysis processes (default: the cores available); `scheduler`: a Dask
    scheduler address or `distributed.Client` to analyse on instead."""

    def __init__(self, db_path: Path, model: Any, data_dir: Path | None = None, *,
                 workers: int | None = None, scheduler: Any = None) -> None:  # fmt: skip
        from formcheck.batch.pool import available_cores

        self.db_path = db_path
        self.model = model  # ModelInfo or None (uploads then fail with a clear message)
        self.data_dir = data_dir
        self.workers = workers or available_cores()
        self.scheduler = scheduler
        self._progress: dict[str, tuple[int, int | None]] = {}  # job id -> (frames done, frames in the video)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._new_work = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool: Any = None
        self._running: dict[Any, tuple[dict[str, Any], int]] = {}  # future -> (job row, task index)
        self._tasks = 0

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
        """Open the pool (a Dask scheduler is reached now: an error here is the caller's) and start
        the dispatcher (once); it runs every queued job in the store, oldest first."""
        with self._lock:
            if self._thread is not None or self._stop.is_set():
                return
            if self.scheduler is not None:
                from formcheck.batch.pool import DaskPool

                self._pool = DaskPool(self.scheduler)
            self._thread = threading.Thread(target=self._work, name="formcheck-analysis", daemon=True)
            self._thread.start()

    def submit(self, job_id: str) -> None:
        """A job row was committed: wake the dispatcher."""
        self.start()
        self._new_work.set()
        self._wake.set()

    def stop(self, timeout: float = 30.0, give_up: Callable[[], bool] | None = None) -> bool:
        """Stop taking jobs and end the running analyses without recording them (their jobs go
        back in the queue). True when they ended within `timeout` seconds (waiting ends early once
        `give_up()` is true); else the local workers are killed, their jobs left `running` for the
        next start to re-queue."""
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is None:
            return True
        deadline = time.monotonic() + timeout
        while thread.is_alive() and time.monotonic() < deadline and not (give_up and give_up()):
            thread.join(0.2)
        if thread.is_alive():
            from formcheck.batch.pool import LocalPool

            pool = self._pool
            if isinstance(pool, LocalPool):
                pool.kill()
            return False
        return True

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

    # -- the dispatcher ---------------------------------------------------------------------
    def _work(self) -> None:
        last_claim = 0.0
        try:
            while not self._stop.is_set():
                self._wake.clear()
                self._collect()
                if self._new_work.is_set() or time.monotonic() - last_claim >= CLAIM_EVERY_S:
                    self._new_work.clear()
                    last_claim = time.monotonic()
                    self._claim()
                self._wake.wait(0.5 if self._running else CLAIM_EVERY_S)
        finally:
            self._shut_down()

    def _local_pool(self) -> Any:
        from formcheck.batch.pool import LocalPool

        if self._pool is None:  # started here: its workers die with this thread, or with a killed server
            self._pool = LocalPool(self.workers, die_with_parent=True)
        return self._pool

    def _claim(self) -> None:
        """Start queued jobs while a worker is free."""
        while not self._stop.is_set():
            free = (self._pool.workers if self.scheduler is not None else self.workers) - len(self._running)
            if free <= 0:
                return
            try:
                with Store(self.db_path) as store:
                    job = store.claim_next_job()
            except Exception:  # noqa: BLE001 - the dispatcher must report, never die silently
                log.exception("cannot read the job queue")
                return
            if job is None:
                return
            self._begin(job)

    def _begin(self, job: dict[str, Any]) -> None:
        """Send one claimed job to the pool (or fail it now, when it cannot run)."""
        from formcheck.batch.work import VideoTask
        from formcheck.config import effective_config

        try:
            if self.model is None:
                raise FormcheckError("no pose model: start the dashboard with --model PATH or set FORMCHECK_MODEL")
            with Store(self.db_path) as store:
                overrides = store.thresholds(job["patient_id"])
            out_dir = Path(job["out_dir"])
            if out_dir.exists():  # files of a run that was cut off: start clean
                shutil.rmtree(out_dir)
            self._tasks += 1
            task = VideoTask(
                index=self._tasks, video=job["video_path"], out_dir=str(out_dir), exercise=job["exercise"], side=None,
                config=effective_config(patient=overrides), model=str(self.model.path), write_video=True,
                sha256="", settings="",
            )  # fmt: skip
            if self.scheduler is not None:
                fut = self._pool.submit(task, key=f"formcheck-job-{job['id']}-{job['attempts']}")
            else:
                fut = self._local_pool().submit(task)
        except FormcheckError as exc:
            self._fail(job["id"], str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - reported on the job, never a dead dispatcher
            log.exception("cannot start the analysis of %s", job["video_path"])
            self._fail(job["id"], f"unexpected error: {type(exc).__name__}: {exc}")
            return
        with self._lock:
            self._progress[job["id"]] = (0, None)
        self._running[fut] = (job, task.index)
        fut.add_done_callback(lambda _f: self._wake.set())

    def _collect(self) -> None:
        """Record the results that came back; note the running jobs' frames."""
        from formcheck.batch.pool import LocalPool

        pool = self._pool
        local = isinstance(pool, LocalPool)
        if local:
            pool.drain()
        for fut, (job, index) in list(self._running.items()):
            if fut.done():
                del self._running[fut]
                self._finish(job, fut)
                with self._lock:
                    self._progress.pop(job["id"], None)
                if local:
                    pool.forget(index)
            elif local:
                with self._lock:
                    self._progress[job["id"]] = (pool.frames_done.get(index, 0), pool.frames_total.get(index))

    def _finish(self, job: dict[str, Any], fut: Any) -> None:
        job_id = job["id"]
        try:
            result = fut.result()
        except BaseException as exc:  # noqa: BLE001 - a lost worker, a broken pool, a cancelled task
            if isinstance(exc, BrokenProcessPool):
                self._pool_broken()
            self._cut_off(job, f"its worker process died ({type(exc).__name__}: {exc})" if str(exc) else "its worker process died")
            return
        if result.status == "done":
            try:
                with Store(self.db_path) as store:
                    store.record_session(
                        Path(job["out_dir"]), job["patient_id"], recorded_at=job["recorded_at"] or datetime.now(),
                        pain_before=job["pain_before"], pain_after=job["pain_after"], job_id=job_id,
                    )  # fmt: skip
            except FormcheckError as exc:
                self._fail(job_id, str(exc))
            except Exception as exc:  # noqa: BLE001
                log.exception("recording the analysis of %s failed", job["video_path"])
                self._fail(job_id, f"unexpected error: {type(exc).__name__}: {exc}")
        elif result.status == "interrupted" or self._stop.is_set():  # a failure while stopping may be the stop's
            self._cut_off(job, result.reason or "stopped")
        else:
            self._fail(job_id, result.reason)

    def _cut_off(self, job: dict[str, Any], reason: str) -> None:
        """An analysis that ended without a whole result: it runs again (from the start), unless
        that keeps happening."""
        if self._stop.is_set() or job["attempts"] < MAX_ATTEMPTS:
            if self._stop.is_set():
                log.info("analysis of %s stopped; it runs again at the next start", job["video_path"])
            else:
                log.warning("analysis of %s cut off (%s); it runs again", job["video_path"], reason)
                self._new_work.set()
            self._requeue(job["id"])
        else:
            self._fail(job["id"], f"cut off {job['attempts']} times: {reason}")

    def _pool_broken(self) -> None:
        """A local worker died (out of memory, or killed): the pool is unusable, start a new one."""
        pool, self._pool = self._pool, None
        if pool is not None:
            try:
                pool.close()
            except Exception:  # noqa: BLE001
                log.exception("closing a broken worker pool")

    def _shut_down(self) -> None:
        """Stop the running analyses and put their jobs back in the queue (a whole result that
        arrives meanwhile is recorded)."""
        from formcheck.batch.pool import LocalPool

        pool = self._pool
        if pool is not None:
            pool.stop()
            if not isinstance(pool, LocalPool):  # Dask: the tasks were dropped, not waited for
                for fut, (job, _) in list(self._running.items()):
                    if not fut.done() or fut.cancelled():
                        del self._running[fut]
                        self._requeue(job["id"])
        self._collect()
        for _fut, (job, _) in list(self._running.items()):
            self._requeue(job["id"])
        self._running.clear()
        if pool is not None:
            pool.close()

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
