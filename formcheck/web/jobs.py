"""Background analysis of uploaded videos: one worker thread runs `run_session` (the CPU is the
limit, so uploads queue), reports progress, then records the session in the store."""

from __future__ import annotations

import logging
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from formcheck.errors import FormcheckError

log = logging.getLogger(__name__)


@dataclass
class Job:
    id: str
    patient_id: str
    exercise: str
    video: Path
    out_dir: Path
    recorded_at: str | None
    pain_before: int | None
    pain_after: int | None
    status: str = "queued"  # queued, running, done, failed
    done_frames: int = 0
    total_frames: int | None = None
    message: str = ""
    session_id: int | None = None

    def as_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["video"] = self.video.name
        d.pop("out_dir")
        d["fraction"] = (min(1.0, self.done_frames / self.total_frames) if self.total_frames else 0.0) if self.status != "done" else 1.0
        return d


class JobRunner:
    def __init__(self, db_path: Path, model: Any) -> None:
        self.db_path = db_path
        self.model = model  # ModelInfo or None (uploads then fail with a clear message)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="formcheck-analysis")
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    @staticmethod
    def new_id() -> str:
        return secrets.token_hex(8)

    def submit(self, job: Job) -> Job:
        with self._lock:
            self._jobs[job.id] = job
        self._pool.submit(self._run, job)
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def _run(self, job: Job) -> None:
        from formcheck.analyze import run_session
        from formcheck.config import effective_config
        from formcheck.sources import open_source
        from formcheck.store import Store

        job.status = "running"
        try:
            if self.model is None:
                raise FormcheckError("no pose model: start the dashboard with --model PATH or set FORMCHECK_MODEL")
            with Store(self.db_path) as store:
                overrides = store.thresholds(job.patient_id)
            source = open_source(job.video)
            job.total_frames = source.info.frame_count

            def progress(done: int, _t: float) -> None:
                job.done_frames = done

            outcome = run_session(
                source, exercise=job.exercise, out_dir=job.out_dir, model=self.model,
                config=effective_config(patient=overrides), progress=progress,
            )  # fmt: skip
            with Store(self.db_path) as store:
                rec = store.record_session(
                    job.out_dir, job.patient_id, recorded_at=job.recorded_at or datetime.now(),
                    pain_before=job.pain_before, pain_after=job.pain_after,
                )  # fmt: skip
            job.session_id = rec.session_id
            job.message = f"{outcome.summary['rep_count']} reps"
            job.status = "done"
        except FormcheckError as exc:
            job.status, job.message = "failed", str(exc)
        except Exception as exc:  # a worker must report, never die silently
            log.exception("analysis of %s failed", job.video)
            job.status, job.message = "failed", f"unexpected error: {type(exc).__name__}: {exc}"

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
