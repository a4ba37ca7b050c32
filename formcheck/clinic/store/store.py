"""The session store: patients, prescriptions, thresholds and recorded sessions in SQLite.

One `Store` per thread or process (SQLite connections are not shared across threads here).
Everything a session brings (its row, sets, reps, holds, file links, pain and safety answers) is
written in one transaction, so a crash mid-recording leaves either the whole session or none.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import sqlite3
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from formcheck.clinic import safety

from formcheck import validate
from formcheck.clinic.store.db import connect, default_db_path, migrate, transaction
from formcheck.clinic.store.schema import MIGRATIONS
from formcheck.config import Thresholds
from formcheck.errors import InputError
from formcheck.judging.verdict import Basis, Grade, Measure, Verdict, choose_measure, judge

log = logging.getLogger(__name__)

# A pause longer than this between two reps starts a new set (people rest 30-90 s between sets;
# within a set a rep follows the last within a few seconds).
SET_BREAK_S = 8.0
# Exercises a therapist may prescribe: the contract's names (some may not be tracked yet).
CONTRACT_EXERCISES = ("squat", "lunge", "step-down", "step-up", "single-leg-squat", "side-lunge", "balance")
# The safety questions (formcheck.clinic.safety, the one list): key -> (question, the answer that means
# "seek medical advice first").
SAFETY_QUESTIONS: dict[str, tuple[str, bool]] = {q.key: (q.text, q.concern) for q in safety.QUESTIONS}
THRESHOLD_KEYS = (
    "valgus_fppa_deg", "valgus_shank_deg", "valgus_knee_toe", "valgus_knee_toe_squat", "valgus_knee_toe_change",
    "knee_toe_from_standing", "baseline_relative",
)  # fmt: skip
BOOL_THRESHOLDS = frozenset({"knee_toe_from_standing", "baseline_relative"})  # switches, stored as 0/1
LEGS = ("left", "right")
READABLE_SCHEMAS = (1, 2)  # summary.json versions import reads (2 adds each rep's verdict)


def now_iso() -> str:
    return datetime.now().replace(microsecond=0).isoformat()


parse_when = validate.when
check_patient_id = validate.patient_id
check_pain = validate.pain


def known_exercises() -> list[str]:
    """What a therapist may prescribe: every registered tracker (`auto` recognises an exercise, it
    is not one) and the contract's names."""
    from formcheck.trackers import tracker_names

    return sorted((set(tracker_names()) - {"auto"}) | set(CONTRACT_EXERCISES))


@dataclass(frozen=True)
class Recorded:
    session_id: int
    created: bool  # False: this session was already in the store (re-import)
    replaced: bool = False  # the folder was re-analysed since it was recorded: contents replaced


def _f(x: Any) -> float | None:
    return None if x is None else float(x)


def _legval(d: Mapping[str, Any] | None, leg: str) -> Any:
    return (d or {}).get(leg)


def split_sets(reps: list[dict[str, Any]], break_s: float = SET_BREAK_S) -> list[list[dict[str, Any]]]:
    """Group reps into sets: a new set starts after a pause longer than `break_s`."""
    sets: list[list[dict[str, Any]]] = []
    last_end: float | None = None
    for rep in reps:
        start = rep.get("start_s")
        if not sets or (start is not None and last_end is not None and start - last_end > break_s):
            sets.append([])
        sets[-1].append(rep)
        last_end = rep.get("end_s", last_end)
    return sets


class Store:
    """The session database. `Store()` opens `$FORMCHECK_DB` or the per-user default and migrates it."""

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path) if path is not None else default_db_path()
        self.conn = connect(self.path)
        try:
            migrate(self.conn, MIGRATIONS)
        except BaseException:
            self.conn.close()
            raise

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- patients -------------------------------------------------------------------------
    def add_patient(self, patient_id: str, name: str = "", notes: str = "") -> dict[str, Any]:
        check_patient_id(patient_id)
        try:
            with transaction(self.conn):
                self.conn.execute(
                    "INSERT INTO patients (id, name, notes, created_at) VALUES (?, ?, ?, ?)",
                    (patient_id, name.strip(), notes.strip(), now_iso()),
                )
        except sqlite3.IntegrityError:
            raise InputError(f"patient {patient_id} already exists") from None
        return self.require_patient(patient_id)

    def patient(self, patient_id: str) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT * FROM patients WHERE id = ?", (patient_id,)).fetchone()
        return dict(row) if row else None

    def require_patient(self, patient_id: str) -> dict[str, Any]:
        p = self.patient(check_patient_id(patient_id))
        if p is None:
            raise InputError(f"no patient {patient_id!r}: add one with `formcheck patient add {patient_id}`")
        return p

    def patients(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.conn.execute("SELECT * FROM patients ORDER BY id")]

    # -- prescription and thresholds -------------------------------------------------------
    def set_prescription(
        self,
        patient_id: str,
        exercise: str,
        sets: int,
        reps: int | None = None,
        hold_s: float | None = None,
        per_week: int = 3,
        side: str | None = None,
        notes: str = "",
    ) -> None:
        """Prescribe (or change) one exercise: `sets` x `reps`, or `sets` x `hold_s` seconds for holds."""
        self.require_patient(patient_id)
        if exercise not in known_exercises():
            raise InputError(f"unknown exercise {exercise!r}: choose one of {', '.join(known_exercises())}")
        validate.prescription(sets, reps, hold_s, per_week, side)
        with transaction(self.conn):
            self.conn.execute(
                """INSERT INTO prescriptions (patient_id, exercise, sets, reps, hold_s, per_week, side, notes, updated_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (patient_id, exercise) DO UPDATE SET sets = excluded.sets, reps = excluded.reps,
                   hold_s = excluded.hold_s, per_week = excluded.per_week, side = excluded.side,
                   notes = excluded.notes, updated_at = excluded.updated_at""",
                (patient_id, exercise, sets, reps, hold_s, per_week, side, notes, now_iso()),
            )

    def remove_prescription(self, patient_id: str, exercise: str) -> None:
        with transaction(self.conn):
            self.conn.execute("DELETE FROM prescriptions WHERE patient_id = ? AND exercise = ?", (patient_id, exercise))

    def prescriptions(self, patient_id: str) -> list[dict[str, Any]]:
        rows = self.conn.execute("SELECT * FROM prescriptions WHERE patient_id = ? ORDER BY exercise", (patient_id,))
        return [dict(r) for r in rows]

    def set_thresholds(self, patient_id: str, values: Mapping[str, float | bool | None]) -> None:
        """Per-patient thresholds; a value of None goes back to the default."""
        self.require_patient(patient_id)
        unknown = set(values) - set(THRESHOLD_KEYS)
        if unknown:
            raise InputError(f"unknown threshold {', '.join(sorted(unknown))}: known are {', '.join(THRESHOLD_KEYS)}")
        merged = {**self.thresholds(patient_id), **values}
        for key, v in merged.items():
            if v is None:
                continue
            if key in BOOL_THRESHOLDS:
                if not isinstance(v, bool):
                    raise InputError(f"threshold {key} must be true or false")
            else:
                validate.number(v, f"threshold {key}")
        row = [None if merged.get(k) is None else (int(merged[k]) if k in BOOL_THRESHOLDS else float(merged[k])) for k in THRESHOLD_KEYS]
        with transaction(self.conn):
            self.conn.execute(
                f"""INSERT INTO patient_thresholds (patient_id, {", ".join(THRESHOLD_KEYS)}, updated_at)
                    VALUES (?, {", ".join("?" for _ in THRESHOLD_KEYS)}, ?)
                    ON CONFLICT (patient_id) DO UPDATE SET {", ".join(f"{k} = excluded.{k}" for k in THRESHOLD_KEYS)},
                    updated_at = excluded.updated_at""",
                (patient_id, *row, now_iso()),
            )

    def thresholds(self, patient_id: str) -> dict[str, float | bool]:
        """The patient's own thresholds (only those set), as config overrides."""
        row = self.conn.execute("SELECT * FROM patient_thresholds WHERE patient_id = ?", (patient_id,)).fetchone()
        if row is None:
            return {}
        out: dict[str, float | bool] = {}
        for key in THRESHOLD_KEYS:
            if row[key] is not None:
                out[key] = bool(row[key]) if key in BOOL_THRESHOLDS else float(row[key])
        return out

    def effective_thresholds(self, patient_id: str) -> dict[str, float | bool]:
        """Defaults overlaid with the patient's own values (what the dashboard shows and edits)."""
        base = {k: getattr(Thresholds(), k) for k in THRESHOLD_KEYS}
        return {**base, **self.thresholds(patient_id)}

    # -- sessions ---------------------------------------------------------------------------
    def record_session(
        self,
        out_dir: Path | str,
        patient_id: str,
        *,
        recorded_at: str | date | datetime | None = None,
        pain_before: int | None = None,
        pain_after: int | None = None,
        safety: Mapping[str, bool] | None = None,
        extra_files: Mapping[str, Path] | None = None,
        job_id: str | None = None,
    ) -> Recorded:
        """Record the session that `formcheck analyze`/`live` wrote into `out_dir` for a patient.

        Idempotent: the same summary.json for the same patient is one session (a second call
        only fills in pain, safety answers or date when given). A folder that was re-analysed
        since it was recorded has its session's contents replaced, keeping its id. With `job_id`
        that dashboard job is marked done in the same transaction: a job is never done without
        its session, nor its session recorded while the job could still run again.
        """
        out_dir = Path(out_dir).resolve()
        summary_path = out_dir / "summary.json"
        try:
            raw = summary_path.read_bytes()
            summary = json.loads(raw)
        except FileNotFoundError:
            raise InputError(f"{out_dir} has no summary.json: is it a formcheck output folder?") from None
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read {summary_path}: {exc}") from None
        if not isinstance(summary, dict) or summary.get("schema_version") not in READABLE_SCHEMAS:
            raise InputError(f"{summary_path}: unsupported schema_version {summary.get('schema_version') if isinstance(summary, dict) else '?'} (this formcheck reads 1 and 2)")
        check_pain(pain_before, "pain before")
        check_pain(pain_after, "pain after")
        for key in safety or {}:
            if key not in SAFETY_QUESTIONS:
                raise InputError(f"unknown safety question {key!r}: known are {', '.join(SAFETY_QUESTIONS)}")
        when = parse_when(recorded_at)
        sha = hashlib.sha256(raw).hexdigest()
        files = self._file_links(out_dir, summary, extra_files)
        with transaction(self.conn):
            self.require_patient(patient_id)
            same = self.conn.execute(
                "SELECT id FROM sessions WHERE patient_id = ? AND content_sha256 = ?", (patient_id, sha)
            ).fetchone()
            if same is not None:
                sid = int(same["id"])
                self._update_details(sid, when, pain_before, pain_after, out_dir)
                self._insert_files(sid, files)
                self._insert_safety(patient_id, sid, safety)
                self._finish_job(job_id, sid)
                return Recorded(sid, created=False)
            old = self.conn.execute(
                "SELECT id, recorded_at, pain_before, pain_after FROM sessions WHERE patient_id = ? AND out_dir = ?",
                (patient_id, str(out_dir)),
            ).fetchone()
            if old is not None:  # re-analysed into the same folder: replace, keep id and details
                sid = int(old["id"])
                if safety is None:  # answers given with the old analysis still hold
                    safety = {a["question"]: bool(a["answer"]) for a in self.conn.execute(
                        "SELECT question, answer FROM safety_answers WHERE session_id = ?", (sid,))} or None
                self.conn.execute("DELETE FROM session_sets WHERE session_id = ?", (sid,))
                self.conn.execute("DELETE FROM session_files WHERE session_id = ?", (sid,))
                self.conn.execute("DELETE FROM sessions WHERE id = ?", (sid,))
                when = when or old["recorded_at"]
                pain_before = pain_before if pain_before is not None else old["pain_before"]
                pain_after = pain_after if pain_after is not None else old["pain_after"]
            else:
                sid = None
            if when is None:
                when = datetime.fromtimestamp(summary_path.stat().st_mtime).replace(microsecond=0).isoformat()
            try:
                sid = self._insert_session(sid, patient_id, sha, out_dir, summary, when, pain_before, pain_after)
                self._insert_sets(sid, summary)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:  # rolled back with the transaction
                raise InputError(f"{summary_path} is not a complete formcheck summary ({type(exc).__name__}: {exc})") from None
            self._insert_files(sid, files)
            self._insert_safety(patient_id, sid, safety)
            self._finish_job(job_id, sid)
        log.info("recorded session %d for patient %s from %s", sid, patient_id, out_dir)
        return Recorded(sid, created=old is None, replaced=old is not None)

    @staticmethod
    def _file_links(out_dir: Path, summary: dict[str, Any], extra: Mapping[str, Path] | None) -> dict[str, str]:
        files = {kind: out_dir / name for kind, name in (
            ("summary", "summary.json"), ("frames", "frames.csv"), ("report", "report.html"), ("annotated", "annotated.mp4"),
        )}  # fmt: skip
        src = (summary.get("source") or {}).get("path")
        if src:
            p = Path(src)  # as given to analyze: relative to where it ran (now, for --patient)
            if not p.is_absolute():
                p = Path.cwd() / p if (Path.cwd() / p).is_file() else out_dir / p
            files["source"] = p
        files.update(extra or {})
        return {k: str(Path(v).resolve()) for k, v in files.items() if Path(v).is_file()}

    def _update_details(self, sid: int, when: str | None, pain_before: int | None, pain_after: int | None, out_dir: Path) -> None:
        if when is not None:
            self.conn.execute("UPDATE sessions SET recorded_at = ? WHERE id = ?", (when, sid))
        if pain_before is not None:
            self.conn.execute("UPDATE sessions SET pain_before = ? WHERE id = ?", (pain_before, sid))
        if pain_after is not None:
            self.conn.execute("UPDATE sessions SET pain_after = ? WHERE id = ?", (pain_after, sid))
        # The folder may have moved since: point at where it is now.
        self.conn.execute("UPDATE sessions SET out_dir = ? WHERE id = ?", (str(out_dir), sid))

    def _insert_session(
        self, sid: int | None, patient_id: str, sha: str, out_dir: Path, s: dict[str, Any],
        when: str, pain_before: int | None, pain_after: int | None,
    ) -> int:  # fmt: skip
        src = s.get("source") or {}
        base = s.get("baseline_fppa_deg") or {}
        model = s.get("model") or {}
        cur = self.conn.execute(
            """INSERT INTO sessions (id, patient_id, content_sha256, out_dir, exercise, recorded_at, imported_at,
               partial, view, pose_coverage, rep_count, hold_count, duration_s, fps, source_path,
               baseline_fppa_left_deg, baseline_fppa_right_deg, thresholds_json, warnings_json, model_name,
               model_sha256, pain_before, pain_after, summary_json)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (
                sid, patient_id, sha, str(out_dir), s["exercise"], when, now_iso(), int(bool(s.get("partial"))),
                s.get("view"), _f(s.get("pose_coverage")), len(s.get("reps") or []), len(s.get("holds") or []),
                _f(src.get("duration_s")), _f(src.get("fps")), src.get("path"), _f(base.get("left")), _f(base.get("right")),
                json.dumps(s.get("thresholds") or {}), json.dumps(s.get("warnings") or []), model.get("name"),
                model.get("sha256"), pain_before, pain_after, json.dumps(s),
            ),
        )  # fmt: skip
        return int(cur.lastrowid)

    def _insert_sets(self, sid: int, s: dict[str, Any]) -> None:
        set_no = 0
        for group in split_sets(list(s.get("reps") or [])):
            set_no += 1
            set_id = self._insert_set(sid, set_no, len(group), 0.0, group[0].get("start_s"), group[-1].get("end_s"))
            for rep in group:
                self._insert_rep(sid, set_id, rep)
        for hold in s.get("holds") or []:  # each hold of a balance session is one set
            set_no += 1
            set_id = self._insert_set(sid, set_no, 0, float(hold.get("duration_s") or 0.0), hold.get("start_s"), hold.get("end_s"))
            self._insert_hold(sid, set_id, hold)

    def _insert_set(self, sid: int, set_no: int, rep_count: int, hold_s: float, start: Any, end: Any) -> int:
        cur = self.conn.execute(
            "INSERT INTO session_sets (session_id, set_no, rep_count, hold_s, start_s, end_s) VALUES (?, ?, ?, ?, ?, ?)",
            (sid, set_no, rep_count, hold_s, _f(start), _f(end)),
        )
        return int(cur.lastrowid)

    _REP_KEYS = {
        "index", "start_s", "bottom_s", "end_s", "start_frame", "bottom_frame", "end_frame", "legs", "fppa_deg",
        "peak_fppa_deg", "peak_shank_deg", "peak_knee_toe_offset", "peak_knee_toe_change", "valgus", "valgus_basis",
        "depth_deg", "min_separation_ratio",
    }  # fmt: skip

    def _insert_rep(self, sid: int, set_id: int, r: dict[str, Any]) -> None:
        extra = {k: v for k, v in r.items() if k not in self._REP_KEYS}  # future per-rep metrics are kept too
        valgus = r.get("valgus") or {}
        self.conn.execute(
            """INSERT INTO reps (session_id, set_id, rep_index, start_s, bottom_s, end_s, start_frame, bottom_frame,
               end_frame, legs, fppa_left_deg, fppa_right_deg, peak_fppa_left_deg, peak_fppa_right_deg,
               peak_shank_left_deg, peak_shank_right_deg, peak_knee_toe_left, peak_knee_toe_right, valgus_left,
               valgus_right, valgus_basis, depth_deg, min_separation_ratio, extra_json, peak_knee_toe_change_left,
               peak_knee_toe_change_right)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (
                sid, set_id, int(r["index"]), _f(r.get("start_s")), _f(r.get("bottom_s")), _f(r.get("end_s")),
                r.get("start_frame"), r.get("bottom_frame"), r.get("end_frame"), ",".join(r.get("legs") or []),
                *(_f(_legval(r.get(key), leg)) for key in ("fppa_deg", "peak_fppa_deg", "peak_shank_deg", "peak_knee_toe_offset") for leg in LEGS),
                *(None if valgus.get(leg) is None else int(bool(valgus[leg])) for leg in LEGS),
                r.get("valgus_basis"), _f(r.get("depth_deg")), _f(r.get("min_separation_ratio")), json.dumps(extra),
                *(_f(_legval(r.get("peak_knee_toe_change"), leg)) for leg in LEGS),
            ),
        )  # fmt: skip

    def _insert_hold(self, sid: int, set_id: int, h: dict[str, Any]) -> None:
        known = {"leg", "start_s", "end_s", "duration_s", "touchdowns", "peak_fppa_deg", "sway"}
        self.conn.execute(
            """INSERT INTO holds (session_id, set_id, leg, start_s, end_s, duration_s, touchdowns, peak_fppa_deg, sway, extra_json)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (
                sid, set_id, h.get("leg"), _f(h.get("start_s")), _f(h.get("end_s")), _f(h.get("duration_s")),
                h.get("touchdowns"), _f(h.get("peak_fppa_deg")), _f(h.get("sway")),
                json.dumps({k: v for k, v in h.items() if k not in known}),
            ),
        )  # fmt: skip

    def _insert_files(self, sid: int, files: Mapping[str, str]) -> None:
        self.conn.executemany(
            "INSERT OR REPLACE INTO session_files (session_id, kind, path) VALUES (?, ?, ?)",
            [(sid, kind, path) for kind, path in files.items()],
        )

    def _insert_safety(self, patient_id: str, sid: int | None, safety: Mapping[str, bool] | None) -> None:
        if not safety:
            return
        if sid is not None:
            self.conn.execute("DELETE FROM safety_answers WHERE session_id = ?", (sid,))
        when = now_iso()
        self.conn.executemany(
            "INSERT INTO safety_answers (patient_id, session_id, question, answer, asked_at) VALUES (?, ?, ?, ?, ?)",
            [(patient_id, sid, q, int(bool(a)), when) for q, a in safety.items()],
        )

    def record_safety(self, patient_id: str, answers: Mapping[str, bool]) -> None:
        """Answers given outside a session (the screening before a first session)."""
        self.require_patient(patient_id)
        for key in answers:
            if key not in SAFETY_QUESTIONS:
                raise InputError(f"unknown safety question {key!r}: known are {', '.join(SAFETY_QUESTIONS)}")
        with transaction(self.conn):
            self._insert_safety(patient_id, None, answers)

    # -- dashboard jobs ---------------------------------------------------------------------
    def add_job(
        self,
        job_id: str,
        patient_id: str,
        exercise: str,
        video: Path,
        out_dir: Path,
        *,
        recorded_at: str | None = None,
        pain_before: int | None = None,
        pain_after: int | None = None,
    ) -> dict[str, Any]:
        """Queue the analysis of an uploaded video (the video must already be in place)."""
        check_pain(pain_before, "pain before")
        check_pain(pain_after, "pain after")
        with transaction(self.conn):
            self.require_patient(patient_id)
            self.conn.execute(
                """INSERT INTO jobs (id, patient_id, exercise, video_path, out_dir, recorded_at, pain_before,
                   pain_after, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?)""",
                (job_id, patient_id, exercise, str(Path(video).resolve()), str(Path(out_dir).resolve()),
                 parse_when(recorded_at), pain_before, pain_after, now_iso()),
            )  # fmt: skip
        return self.require_job(job_id)

    def job(self, job_id: str) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return dict(row) if row else None

    def require_job(self, job_id: str) -> dict[str, Any]:
        job = self.job(job_id)
        if job is None:
            raise InputError(f"no analysis job {job_id!r}")
        return job

    def jobs(self, status: str | None = None) -> list[dict[str, Any]]:
        """Jobs in the order they were accepted, optionally only those with `status`."""
        if status is None:
            rows = self.conn.execute("SELECT * FROM jobs ORDER BY rowid")
        else:
            rows = self.conn.execute("SELECT * FROM jobs WHERE status = ? ORDER BY rowid", (status,))
        return [dict(r) for r in rows]

    def requeue_interrupted_jobs(self) -> int:
        """At server start: jobs left `running` by a server that stopped go back in the queue."""
        with transaction(self.conn):
            cur = self.conn.execute("UPDATE jobs SET status = 'queued', started_at = NULL WHERE status = 'running'")
        return cur.rowcount

    def requeue_job(self, job_id: str) -> None:
        """A running job stopped before its session was recorded: it runs again later."""
        with transaction(self.conn):
            self.conn.execute(
                "UPDATE jobs SET status = 'queued', started_at = NULL WHERE id = ? AND status = 'running'", (job_id,)
            )

    def claim_next_job(self) -> dict[str, Any] | None:
        """The oldest queued job, marked running; None when the queue is empty.

        A queued job whose folder is already a recorded session (recorded outside the job, e.g.
        by `formcheck import`) is marked done with that session instead of being run again."""
        while True:
            with transaction(self.conn):
                row = self.conn.execute("SELECT * FROM jobs WHERE status = 'queued' ORDER BY rowid LIMIT 1").fetchone()
                if row is None:
                    return None
                same = self.conn.execute(
                    "SELECT id FROM sessions WHERE patient_id = ? AND out_dir = ?", (row["patient_id"], row["out_dir"])
                ).fetchone()
                if same is not None:
                    self._finish_job(row["id"], int(same["id"]))
                    continue
                self.conn.execute(
                    "UPDATE jobs SET status = 'running', started_at = ?, attempts = attempts + 1 WHERE id = ?",
                    (now_iso(), row["id"]),
                )
            return self.require_job(row["id"])

    def fail_job(self, job_id: str, message: str) -> None:
        with transaction(self.conn):
            self.conn.execute(
                "UPDATE jobs SET status = 'failed', message = ?, finished_at = ? WHERE id = ?", (message, now_iso(), job_id)
            )

    def _finish_job(self, job_id: str | None, sid: int) -> None:
        if job_id is None:
            return
        row = self.conn.execute("SELECT rep_count, hold_count FROM sessions WHERE id = ?", (sid,)).fetchone()
        message = f"{row['hold_count']} holds" if row["hold_count"] and not row["rep_count"] else f"{row['rep_count']} reps"
        self.conn.execute(
            "UPDATE jobs SET status = 'done', session_id = ?, message = ?, finished_at = ? WHERE id = ?",
            (sid, message, now_iso(), job_id),
        )

    # -- reading ----------------------------------------------------------------------------
    def sessions(self, patient_id: str, since: str | date | None = None) -> list[dict[str, Any]]:
        """The patient's sessions, oldest first (without the stored summary JSON)."""
        since_iso = parse_when(since) if since is not None else ""
        rows = self.conn.execute(
            """SELECT s.*, (SELECT count(*) FROM reps r WHERE r.session_id = s.id
                            AND (r.valgus_left = 1 OR r.valgus_right = 1)) AS flagged_reps
               FROM sessions s WHERE patient_id = ? AND recorded_at >= ? ORDER BY recorded_at, id""",
            (patient_id, since_iso),
        )
        out = []
        for r in rows:
            d = dict(r)
            d.pop("summary_json", None)
            out.append(d)
        return out

    def session(self, session_id: int) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT * FROM sessions WHERE id = ?", (session_id,)).fetchone()
        if row is None:
            return None
        d = dict(row)
        d["summary"] = json.loads(d.pop("summary_json"))
        d["files"] = self.files(session_id)
        return d

    def reps(self, session_id: int) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            """SELECT r.*, st.set_no FROM reps r JOIN session_sets st ON st.id = r.set_id
               WHERE r.session_id = ? ORDER BY r.rep_index""",
            (session_id,),
        )
        row = self.conn.execute("SELECT thresholds_json FROM sessions WHERE id = ?", (session_id,)).fetchone()
        thresholds = _json_dict(row["thresholds_json"] if row else None)
        return [_with_blocks(_with_knee_rom(_with_verdict(dict(r), thresholds))) for r in rows]

    def sets(self, session_id: int) -> list[dict[str, Any]]:
        rows = self.conn.execute("SELECT * FROM session_sets WHERE session_id = ? ORDER BY set_no", (session_id,))
        return [dict(r) for r in rows]

    def holds(self, session_id: int) -> list[dict[str, Any]]:
        """A session's holds, each with `progression`: the name summary.json gave it ("flat",
        "tiptoes", "head-turns", "reaches" or several joined by "+"; kept in extra_json), None for
        holds analysed before progressions were named."""
        rows = self.conn.execute("SELECT * FROM holds WHERE session_id = ? ORDER BY start_s", (session_id,))
        return [_with_progression(dict(r)) for r in rows]

    def files(self, session_id: int) -> dict[str, Path]:
        rows = self.conn.execute("SELECT kind, path FROM session_files WHERE session_id = ?", (session_id,))
        return {r["kind"]: Path(r["path"]) for r in rows}

    def safety_answers(self, patient_id: str) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT * FROM safety_answers WHERE patient_id = ? ORDER BY asked_at, id", (patient_id,)
        )
        return [dict(r) for r in rows]

    def safety_concerns(self, patient_id: str) -> list[str]:
        """Questions whose latest answer means 'seek medical advice first'."""
        latest: dict[str, int] = {}
        for a in self.safety_answers(patient_id):
            latest[a["question"]] = a["answer"]
        return [
            SAFETY_QUESTIONS[q][0] for q, a in latest.items() if q in SAFETY_QUESTIONS and bool(a) == SAFETY_QUESTIONS[q][1]
        ]

    # -- settings (dashboard) --------------------------------------------------------------
    def setting(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return row["value"] if row else None

    def set_setting(self, key: str, value: str) -> None:
        with transaction(self.conn):
            self.conn.execute("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)", (key, value))

    def integrity_problems(self) -> list[str]:
        """SQLite's own check plus this schema's invariants (every session has all its reps)."""
        problems = [r[0] for r in self.conn.execute("PRAGMA integrity_check") if r[0] != "ok"]
        problems += [f"foreign key: {tuple(r)}" for r in self.conn.execute("PRAGMA foreign_key_check")]
        for r in self.conn.execute(
            """SELECT s.id, s.rep_count, (SELECT count(*) FROM reps WHERE session_id = s.id) AS n
               FROM sessions s WHERE s.rep_count != (SELECT count(*) FROM reps WHERE session_id = s.id)"""
        ):
            problems.append(f"session {r['id']} should have {r['rep_count']} reps, has {r['n']}")
        return problems


def record_session(
    out_dir: Path | str,
    patient_id: str,
    *,
    db: Path | str | None = None,
    recorded_at: str | date | datetime | None = None,
    pain_before: int | None = None,
    pain_after: int | None = None,
    safety: Mapping[str, bool] | None = None,
    extra_files: Mapping[str, Path] | None = None,
) -> Recorded:
    """Record a finished `analyze`/`live` output folder for a patient (the CLI's `--patient`).

    Opens the store at `db` (default `$FORMCHECK_DB` or the per-user path), records in one
    transaction, closes. Re-recording the same folder does not duplicate the session.
    """
    with Store(db) as store:
        return store.record_session(
            out_dir, patient_id, recorded_at=recorded_at, pain_before=pain_before, pain_after=pain_after,
            safety=safety, extra_files=extra_files,
        )  # fmt: skip


def thresholds_for(patient_id: str, db: Path | str | None = None) -> dict[str, float | bool]:
    """The patient's own thresholds as `load_config` overrides (`{"valgus_fppa_deg": 12.0, ...}`)."""
    with Store(db) as store:
        store.require_patient(patient_id)
        return store.thresholds(patient_id)


def parse_safety(items: Iterable[str]) -> dict[str, bool]:
    """`["severe_pain=no", "swelling=yes"]` -> {"severe_pain": False, "swelling": True}."""
    out: dict[str, bool] = {}
    for item in items:
        key, _, value = item.partition("=")
        key = key.strip()
        if key not in SAFETY_QUESTIONS:
            raise InputError(f"unknown safety question {key!r}: known are {', '.join(SAFETY_QUESTIONS)}")
        v = value.strip().lower()
        if v not in ("yes", "no", "y", "n", "true", "false", "1", "0"):
            raise InputError(f"safety answer for {key} must be yes or no, got {value!r}")
        out[key] = v in ("yes", "y", "true", "1")
    return out


def _json_dict(text: str | None) -> dict[str, Any]:
    try:
        d = json.loads(text or "{}")
    except ValueError:
        return {}
    return d if isinstance(d, dict) else {}


def _with_knee_rom(rep: dict[str, Any]) -> dict[str, Any]:
    """A stored rep with `knee_rom` ({leg: {max_flexion_deg, fullest_extension_deg, uncertainty_deg,
    measure}}, summary.json's, kept in extra_json; {} for reps of other exercises)."""
    stored = _json_dict(rep.get("extra_json")).get("knee_rom")
    rep["knee_rom"] = {
        leg: v for leg, v in (stored.items() if isinstance(stored, dict) else ()) if leg in LEGS and isinstance(v, dict)
    }
    return rep


def session_rom(reps: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """A session's knee range of motion per leg, from its reps as `Store.reps` returns them: the
    best max flexion (the most bent) and the best fullest extension (the straightest, the least
    flexion), each with the uncertainty and measure of the rep it came from and that rep's index;
    `reps`: how many reps measured that leg. Legs no rep measured are left out."""
    out: dict[str, dict[str, Any]] = {}
    for leg in LEGS:
        measured = [(r["rep_index"], r["knee_rom"][leg]) for r in reps if leg in (r.get("knee_rom") or {})]
        if not measured:
            continue
        best: dict[str, Any] = {"reps": len(measured)}
        for key, pick in (("max_flexion", max), ("fullest_extension", min)):
            known = [(i, k) for i, k in measured if isinstance(k.get(f"{key}_deg"), (int, float))]
            if known:
                i, k = pick(known, key=lambda item: item[1][f"{key}_deg"])
                best[key] = {"deg": float(k[f"{key}_deg"]), "uncertainty_deg": _f(k.get("uncertainty_deg")),
                             "measure": k.get("measure"), "rep_index": i}  # fmt: skip
        out[leg] = best
    return out


# summary.json's per-rep blocks of the rehab-programme exercises, kept in extra_json (no migration):
# `step` a sideways step (band-walk, side-push), `landing` a hop landing, `slide` an adduction slide,
# `plant` a pivot (reporting/outputs.py writes each).
REP_BLOCKS = ("step", "landing", "slide", "plant")


def _with_blocks(rep: dict[str, Any]) -> dict[str, Any]:
    """A stored rep with each of REP_BLOCKS as summary.json wrote it (None for reps without it)."""
    extra = _json_dict(rep.get("extra_json"))
    for key in REP_BLOCKS:
        rep[key] = extra[key] if isinstance(extra.get(key), dict) else None
    return rep


def session_steps(reps: Iterable[Mapping[str, Any]]) -> dict[str, Any] | None:
    """A band-walk or side-push session's steps, from its reps as `Store.reps` returns them: how many
    went each way, the narrowest ankle distance of any step (standing hip widths) and how many came
    too close, and per leg how many push-offs caved; None for sessions of other exercises."""
    steps = [r for r in reps if r.get("step")]
    if not steps:
        return None
    seps = [float(x) for r in steps if (x := _number(r["step"].get("min_ankle_separation"))) is not None]
    return {
        "steps": len(steps),
        "per_direction": {leg: sum(1 for r in steps if r["step"].get("direction") == leg) for leg in LEGS},
        "narrowest_separation": min(seps) if seps else None,
        "median_separation": statistics.median(seps) if seps else None,  # of each step's narrowest
        "separations": len(seps),  # steps whose narrowest feet were measured (band-walk)
        "too_close": sum(1 for r in steps if r["step"].get("feet_too_close")),
        "push_off_valgus": {leg: sum(1 for r in steps if (v := r["verdict"].get(leg)) is not None and v.valgus)
                            for leg in LEGS},
        "push_offs": {leg: sum(1 for r in steps if leg in r["verdict"]) for leg in LEGS},
    }


def _number(x: Any) -> float | None:
    """A finite number kept in extra_json, else None (a bool is not a number here)."""
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
        return None
    return float(x)


def session_landings(reps: Iterable[Mapping[str, Any]]) -> dict[str, Any] | None:
    """A hop session's landings, from its reps as `Store.reps` returns them: how many, their ground
    contact times (landings followed by a take-off) and per leg how many were judged (the leg's
    verdict known), how many were flagged, and each landing's FPPA peak in the landing window and at
    initial contact (degrees, those measured). Legs no landing judged or measured are left out;
    None for sessions of other exercises."""
    landings = [r for r in reps if r.get("landing")]
    if not landings:
        return None
    legs: dict[str, dict[str, Any]] = {}
    for leg in LEGS:
        flags = _flags(landings, leg)
        peaks = [x for r in landings if (x := _number(_legval(_dict(r["landing"].get("peak_fppa_window_deg")), leg))) is not None]
        contact = [x for r in landings if (x := _number(_legval(_dict(r["landing"].get("fppa_at_contact_deg")), leg))) is not None]
        if flags["judged"] or peaks:
            legs[leg] = {**flags, "peak_fppa_deg": peaks, "fppa_at_contact_deg": contact}
    times = [x for r in landings if (x := _number(r["landing"].get("contact_time_s"))) is not None]
    return {"landings": len(landings), "contact_time_s": times, "legs": legs}


def _flags(reps: list[Mapping[str, Any]], leg: str) -> dict[str, int]:
    """How many of `reps` had `leg`'s verdict known (`judged`) and how many of those were valgus."""
    verdicts = [v for r in reps if (v := r["verdict"].get(leg)) is not None and v.valgus is not None]
    return {"judged": len(verdicts), "flagged": sum(1 for v in verdicts if v.valgus)}


def _numbers(blocks: Iterable[Mapping[str, Any]], key: str) -> list[float]:
    """Each block's `key` that is a finite number, in order."""
    return [x for b in blocks if (x := _number(b.get(key))) is not None]


def session_slides(reps: Iterable[Mapping[str, Any]]) -> dict[str, Any] | None:
    """An adduction-slide session's slides, from its reps as `Store.reps` returns them: how many, and
    per bent leg how many, each slide's range (straight-leg lengths: how far the sliding foot came
    in) and how many had the bent knee judged and flagged. Legs no slide bent are left out; None for
    sessions of other exercises."""
    slides = [r for r in reps if r.get("slide")]
    if not slides:
        return None
    legs: dict[str, dict[str, Any]] = {}
    for leg in LEGS:
        mine = [r for r in slides if r["slide"].get("bent_leg") == leg]
        if mine:
            legs[leg] = {"slides": len(mine), "ranges": _numbers((r["slide"] for r in mine), "range"), **_flags(mine, leg)}
    return {"slides": len(slides), "legs": legs}


def session_plants(reps: Iterable[Mapping[str, Any]]) -> dict[str, Any] | None:
    """A pivot session's plants, from its reps as `Store.reps` returns them: how many, and per planted
    leg how many, how many had the planted knee judged and flagged, and each plant's FPPA peak over
    the plant window and at the plant and its trunk turn (degrees, those measured). Legs no plant
    stood on are left out; None for sessions of other exercises."""
    plants = [r for r in reps if r.get("plant")]
    if not plants:
        return None
    legs: dict[str, dict[str, Any]] = {}
    for leg in LEGS:
        mine = [r for r in plants if r["plant"].get("leg") == leg]
        blocks = [r["plant"] for r in mine]
        if mine:
            legs[leg] = {
                "plants": len(mine), **_flags(mine, leg), "peak_fppa_deg": _numbers(blocks, "peak_fppa_plant_deg"),
                "fppa_at_plant_deg": _numbers(blocks, "fppa_at_plant_deg"), "trunk_turn_deg": _numbers(blocks, "trunk_turn_deg"),
            }  # fmt: skip
    return {"plants": len(plants), "legs": legs}


def _with_progression(hold: dict[str, Any]) -> dict[str, Any]:
    """A stored hold with `progression` (summary.json's name for it, kept in extra_json; None for
    holds analysed before progressions were named)."""
    name = _json_dict(hold.get("extra_json")).get("progression")
    hold["progression"] = name if isinstance(name, str) and name else None
    return hold


PROGRESSIONS = ("flat", "tiptoes", "head-turns", "reaches")  # trackers/balance.py; several join with "+"


def progression_order(name: str | None) -> tuple[int, list[int]]:
    """flat, tiptoes, head-turns, reaches, then the combinations (fewest parts first), then None."""
    if name is None:
        return (99, [])
    parts = name.split("+")
    return (len(parts), [PROGRESSIONS.index(x) if x in PROGRESSIONS else len(PROGRESSIONS) for x in parts])


def session_progressions(holds: Iterable[Mapping[str, Any]]) -> dict[str | None, dict[str, Any]]:
    """A balance session's holds grouped by progression, from `Store.holds`: per progression (None:
    holds analysed before progressions were named) how many holds, the seconds held in all and the
    longest hold, each hold's sway (body lengths, those measured) and the holds per leg. Ordered
    flat, tiptoes, head-turns, reaches, then combinations; {} for a session without holds."""
    groups: dict[str | None, list[Mapping[str, Any]]] = {}
    for h in holds:
        groups.setdefault(h.get("progression"), []).append(h)
    out: dict[str | None, dict[str, Any]] = {}
    for name in sorted(groups, key=progression_order):
        mine = groups[name]
        seconds = _numbers(mine, "duration_s")
        out[name] = {
            "holds": len(mine), "seconds": sum(seconds), "longest": max(seconds, default=None),
            "sway": _numbers(mine, "sway"), "legs": {leg: n for leg in LEGS if (n := sum(1 for h in mine if h.get("leg") == leg))},
        }  # fmt: skip
    return out


def _dict(x: Any) -> dict[str, Any]:
    return x if isinstance(x, dict) else {}


_LEGACY_VALUE_COLUMN = {
    Measure.FPPA: "peak_fppa_{leg}_deg",
    Measure.SHANK: "peak_shank_{leg}_deg",
    Measure.KNEE_TOE: "peak_knee_toe_{leg}",
    Measure.KNEE_TOE_CHANGE: "peak_knee_toe_change_{leg}",
}


def _with_verdict(rep: dict[str, Any], thresholds: dict[str, Any]) -> dict[str, Any]:
    """A stored rep with `verdict` ({leg: Verdict}): the one in its summary.json, or for sessions
    imported from schema 1 (no verdicts) the measure `verdict.choose_measure` picks from what that
    summary recorded (its basis, whether a change from standing was measured, its thresholds),
    with the value and flag it stored."""
    stored = _json_dict(rep.get("extra_json")).get("verdict")
    verdicts: dict[str, Verdict] = {}
    if isinstance(stored, dict):
        for leg, v in stored.items():
            try:
                verdicts[leg] = Verdict.from_json(v)
            except (ValueError, KeyError, TypeError):
                pass
    elif rep.get("valgus_basis") in {b.value for b in Basis}:
        known = {f.name for f in dataclasses.fields(Thresholds)}
        th = Thresholds(**{k: v for k, v in thresholds.items() if k in known and isinstance(v, (int, float))})
        # Sessions analysed before knee_toe_from_standing existed were judged by the offset.
        th = dataclasses.replace(th, knee_toe_from_standing=thresholds.get("knee_toe_from_standing") is True)
        basis = Basis(rep["valgus_basis"])
        for leg in (rep.get("legs") or "").split(","):
            if leg not in LEGS:
                continue
            change_known = rep.get(f"peak_knee_toe_change_{leg}") is not None
            measure = choose_measure(basis is Basis.FPPA, basis is not Basis.SHANK, change_known, th)
            judged = judge(measure, rep.get(_LEGACY_VALUE_COLUMN[measure].format(leg=leg)), th)
            flag = rep.get(f"valgus_{leg}")  # as that analysis flagged it
            if flag is None or judged.grade is None:
                verdicts[leg] = dataclasses.replace(judged, valgus=None if flag is None else bool(flag))
            else:
                grade = (judged.grade if judged.grade is not Grade.NONE else Grade.MILD) if flag else Grade.NONE
                verdicts[leg] = dataclasses.replace(judged, valgus=bool(flag), grade=grade)
    rep["verdict"] = {leg: verdicts[leg] for leg in LEGS if leg in verdicts}
    return rep
