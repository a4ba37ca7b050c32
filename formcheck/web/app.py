"""The dashboard's Flask app: every page reads the store through its own connection per request.

Paths never come from a request: patients are looked up by a validated ID, sessions and jobs by
number or random token, and files by the links the store recorded. Uploads are saved under a
name the server makes, checked for size (MAX_CONTENT_LENGTH) and for real video content.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Flask, abort, flash, g, jsonify, redirect, render_template, request, send_file, session, url_for
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer
from werkzeug.utils import secure_filename

from formcheck.clinic.store import SAFETY_QUESTIONS, Store, known_exercises, parse_when, session_rom, session_steps
from formcheck.clinic.store.db import private_folder
from formcheck.clinic.store.store import BOOL_THRESHOLDS, THRESHOLD_KEYS, check_pain
from formcheck.errors import InputError
from formcheck.media.sources import VIDEO_SUFFIXES
from formcheck.web.auth import (
    LoginThrottle,
    check_password,
    end_login,
    has_password,
    login_is_valid,
    retry_after_header,
    secret_key,
    start_login,
)
from formcheck.web.jobs import UPLOAD_TMP_PREFIX, JobRunner
from formcheck.web.video import browser_playable, webm_copy

log = logging.getLogger(__name__)

STATUS_ORDER = {"red": 0, "amber": 1, "green": 2}
MAX_ROW_ID = 2**63 - 1  # SQLite's largest INTEGER: a longer session number in a URL is no session
# Where a login may send the browser on: a path of this site made of the characters its own paths
# use (a tab, backslash or newline could turn "/" into another site or a broken header).
LOCAL_PATH = re.compile(r"\A/(?!/)[A-Za-z0-9_.\-/]*\Z")
# Charts are inline SVG with presentation attributes and the report stills are data: JPEGs;
# everything else (app.css, app.js, fetches, video) comes from this server.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


class _StoreSecretSessions(SecureCookieSessionInterface):
    """Signed-cookie sessions whose key is read from the store on each request (a password
    change rotates it in a running server), marked Secure when the request came over HTTPS."""

    def __init__(self, secret: Any) -> None:
        self._secret = secret

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(
            self._secret(), salt=self.salt, serializer=self.serializer,
            signer_kwargs={"key_derivation": self.key_derivation, "digest_method": self.digest_method},
        )  # fmt: skip

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure


def create_app(
    db_path: Path,
    data_dir: Path,
    *,
    model: Any = None,
    max_upload_mb: int = 500,
    loopback_only: bool = True,
    login_throttle: LoginThrottle | None = None,
    workers: int | None = None,
    scheduler: Any = None,
) -> Flask:
    """`data_dir` holds uploads, their analyses and the browser video cache. Uploads are analysed
    by `workers` local processes (default: the cores available), or on the Dask `scheduler`
    (an address or a `distributed.Client`) when given."""
    app = Flask(__name__)
    private_folder(data_dir)  # uploads, their analyses and the video cache: as private as the store
    with Store(db_path) as s:
        secret_key(s)  # made now, not by two first requests at once
    app.session_interface = _StoreSecretSessions(lambda: secret_key(store()))
    throttle = login_throttle or LoginThrottle()
    app.extensions["formcheck_login_throttle"] = throttle
    app.config.update(
        MAX_CONTENT_LENGTH=max_upload_mb * 1024 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        DB_PATH=db_path,
        DATA_DIR=data_dir,
    )
    if loopback_only:  # a page on another site cannot reach us through DNS rebinding
        app.config["TRUSTED_HOSTS"] = ["127.0.0.1", "localhost", "[::1]", "::1"]
    runner = JobRunner(db_path, model, data_dir, workers=workers, scheduler=scheduler)
    app.extensions["formcheck_jobs"] = runner

    def store() -> Store:
        if "store" not in g:
            g.store = Store(db_path)
        return g.store

    @app.teardown_appcontext
    def _close(_exc: object) -> None:
        s = g.pop("store", None)
        if s is not None:
            s.close()

    def login_needed() -> bool:
        """Read per request: a password set by another process holds at once."""
        if "login_needed" not in g:
            g.login_needed = has_password(store())
        return g.login_needed

    @app.before_request
    def _guard() -> Any:
        if request.endpoint not in ("login", "static") and login_needed() and not login_is_valid(store(), session):
            return redirect(url_for("login", next=request.path))
        if request.method == "POST":
            token = request.form.get("csrf") or request.headers.get("X-CSRF-Token")
            expected = session.get("csrf")
            # bytes: compare_digest refuses str with non-ASCII characters (a TypeError, a 500)
            if not token or not isinstance(expected, str) or not secrets.compare_digest(token.encode(), expected.encode()):
                abort(400, "missing or wrong form token: reload the page")
        return None

    @app.context_processor
    def _globals() -> dict[str, Any]:
        if "csrf" not in session:
            session["csrf"] = secrets.token_urlsafe(24)
        return {"csrf": session["csrf"], "login_needed": login_needed()}

    @app.after_request
    def _security_headers(response: Any) -> Any:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.errorhandler(InputError)
    def _input_error(exc: InputError) -> Any:
        return render_template("error.html", message=str(exc)), 400

    @app.errorhandler(413)
    def _too_big(_exc: Any) -> Any:
        return render_template("error.html", message=f"the upload is larger than {max_upload_mb} MB"), 413

    @app.route("/login", methods=["GET", "POST"])
    def login() -> Any:
        error = None
        if request.method == "POST":
            client = request.remote_addr or "?"
            wait = throttle.retry_after(client)
            if wait > 0:  # refused unchecked, right password or not: guessing stays slow
                message = f"too many wrong passwords: try again in {retry_after_header(wait)} s"
                return render_template("login.html", error=message), 429, {"Retry-After": retry_after_header(wait)}
            if check_password(store(), request.form.get("password", "")):
                throttle.succeeded(client)
                session.clear()
                session.update(start_login(store()))
                target = request.args.get("next", "/")
                return redirect(target if LOCAL_PATH.match(target) else "/")
            throttle.failed(client)
            error = "wrong password"
        return render_template("login.html", error=error)

    @app.post("/logout")
    def logout() -> Any:
        end_login(store(), session)
        session.clear()
        return redirect(url_for("login"))

    @app.get("/")
    def patients() -> Any:
        from formcheck.clinic.therapist_report import build_report

        rows = []
        for p in store().patients():
            rep = build_report(store(), p["id"])
            rows.append({"patient": p, "report": rep, "last": rep.sessions[-1]["recorded_at"][:10] if rep.sessions else None})
        rows.sort(key=lambda r: (STATUS_ORDER[r["report"].status], r["patient"]["id"]))
        return render_template("patients.html", rows=rows)

    @app.post("/patients")
    def add_patient() -> Any:
        pid = request.form.get("id", "").strip()
        store().add_patient(pid, request.form.get("name", ""))
        return redirect(url_for("patient", pid=pid))

    @app.get("/patients/<pid>")
    def patient(pid: str) -> Any:
        from formcheck.clinic.therapist_report import build_report, render_html

        s = store()
        p = s.require_patient(pid)
        rep = build_report(s, pid, request.args.get("since") or None)
        return render_template(
            "patient.html", p=p, rep=rep, report_html=render_html(rep, standalone=False),
            prescriptions=s.prescriptions(pid), thresholds=s.effective_thresholds(pid),
            exercises=known_exercises(), trackable=_trackable(), today=datetime.now().date().isoformat(),
            safety_questions=SAFETY_QUESTIONS, uploads=model is not None,
        )  # fmt: skip

    @app.post("/patients/<pid>/prescription")
    def prescription(pid: str) -> Any:
        f = request.form
        exercise = f.get("exercise", "")
        store().require_patient(pid)
        if f.get("remove"):
            store().remove_prescription(pid, exercise)
            flash(f"prescription for {exercise} removed")
        else:
            hold = _num(f.get("hold_s"), float)
            per_week = _num(f.get("per_week"), int)
            store().set_prescription(
                pid, exercise, _num(f.get("sets"), int) or 0, None if hold else _num(f.get("reps"), int), hold,
                3 if per_week is None else per_week, f.get("side") or None,
            )  # fmt: skip
            flash(f"prescription for {exercise} saved")
        return redirect(url_for("patient", pid=pid) + "#prescription")

    @app.post("/patients/<pid>/thresholds")
    def thresholds(pid: str) -> Any:
        values: dict[str, Any] = {}
        for key in THRESHOLD_KEYS:
            if key not in BOOL_THRESHOLDS:
                values[key] = _num(request.form.get(key), float)
        values["baseline_relative"] = bool(request.form.get("baseline_relative"))
        # A select, not a checkbox: a form without it (an older page) keeps the default instead
        # of silently switching deep reps to the absolute offset.
        values["knee_toe_from_standing"] = _choice(request.form.get("knee_toe_from_standing"), {"change": True, "offset": False})
        store().set_thresholds(pid, values)
        flash("thresholds saved; they apply to sessions analysed from now on")
        return redirect(url_for("patient", pid=pid) + "#thresholds")

    @app.post("/patients/<pid>/upload")
    def upload(pid: str) -> Any:
        """The video and its job row are both in place before the answer: an accepted upload
        survives a stopped server and is analysed at the next start."""
        from formcheck.media.sources import open_source

        store().require_patient(pid)
        if model is None:
            raise InputError("uploads are off: start the dashboard with --model PATH or set FORMCHECK_MODEL")
        form = request.form
        exercise = form.get("exercise", "")
        if exercise not in _trackable():
            raise InputError(f"formcheck cannot analyse {exercise!r} yet: choose one of {', '.join(_trackable())}")
        recorded_at = parse_when(form.get("date")) if (form.get("date") or "").strip() else None
        pain_before = check_pain(_num(form.get("pain_before"), int), "pain before")
        pain_after = check_pain(_num(form.get("pain_after"), int), "pain after")
        file = request.files.get("video")
        if file is None or not file.filename:
            raise InputError("choose a video file to upload")
        suffix = Path(secure_filename(file.filename)).suffix.lower()
        if suffix not in VIDEO_SUFFIXES:
            raise InputError(f"not a video file name: use one of {', '.join(sorted(VIDEO_SUFFIXES))}")
        job_id = runner.new_id()
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        name = f"{stamp}-{job_id}"  # our name, never the client's
        folder = data_dir / "uploads" / pid
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{name}{suffix}"
        partial = folder / f"{UPLOAD_TMP_PREFIX}{name}{suffix}"  # removed at the next start if we die
        try:
            with open(partial, "wb") as fh:
                file.save(fh)
                fh.flush()
                os.fsync(fh.fileno())
            try:  # real video content: it must open and give a first frame
                src = open_source(partial)
                try:
                    next(iter(src))
                finally:
                    src.close()
            except (InputError, StopIteration):
                raise InputError(f"{secure_filename(file.filename) or 'the upload'} is not a readable video") from None
            os.replace(partial, target)
            store().add_job(
                job_id, pid, exercise, target, data_dir / "sessions" / pid / name,
                recorded_at=recorded_at, pain_before=pain_before, pain_after=pain_after,
            )  # fmt: skip
        except BaseException:
            partial.unlink(missing_ok=True)
            target.unlink(missing_ok=True)
            raise
        runner.submit(job_id)
        return redirect(url_for("job_page", job_id=job_id))

    @app.get("/jobs/<job_id>")
    def job_page(job_id: str) -> Any:
        job = store().job(job_id) or abort(404)
        return render_template("job.html", job=job)

    @app.get("/jobs/<job_id>.json")
    def job_json(job_id: str) -> Any:
        job = store().job(job_id) or abort(404)
        d = {
            key: job[key]
            for key in ("id", "patient_id", "exercise", "recorded_at", "pain_before", "pain_after", "status", "message", "session_id")
        }
        d["video"] = Path(job["video_path"]).name
        d.update(runner.progress(job))
        if job["session_id"] is not None:
            d["session_url"] = url_for("session_page", sid=job["session_id"])
        return jsonify(d)

    @app.get(f"/sessions/<int(max={MAX_ROW_ID}):sid>")
    def session_page(sid: int) -> Any:
        s = store()
        sess = s.session(sid) or abort(404)
        p = s.require_patient(sess["patient_id"])
        has_video = "annotated" in sess["files"] and sess["files"]["annotated"].is_file()
        reps = s.reps(sid)
        return render_template(
            "session.html", sess=sess, p=p, reps=reps, holds=s.holds(sid), has_video=has_video, rom=session_rom(reps),
            steps=session_steps(reps)
        )

    def annotated_video(sid: int) -> Path:
        sess = store().session(sid) or abort(404)
        src = sess["files"].get("annotated")
        if src is None or not src.is_file():
            abort(404)
        return src

    @app.get(f"/sessions/<int(max={MAX_ROW_ID}):sid>/video")
    def session_video(sid: int) -> Any:
        """The annotated video as written (H.264), or older sessions' browser copy."""
        src = annotated_video(sid)
        if browser_playable(src):
            return send_file(src, mimetype="video/mp4", conditional=True)  # Range requests: seeking works
        return session_video_webm(sid)

    @app.get(f"/sessions/<int(max={MAX_ROW_ID}):sid>/video.webm")
    def session_video_webm(sid: int) -> Any:
        webm = webm_copy(annotated_video(sid), data_dir / "cache" / f"session-{sid}.webm")
        if webm is None:
            abort(404)
        return send_file(webm, mimetype="video/webm", conditional=True)

    return app


def _trackable() -> list[str]:
    from formcheck.trackers import tracker_names

    return sorted(tracker_names())


def _choice(text: str | None, options: dict[str, Any]) -> Any:
    """A select's value; empty or missing: None (the default)."""
    if text is None or not text.strip():
        return None
    if text not in options:
        raise InputError(f"not one of {', '.join(options)}: {text!r}")
    return options[text]


def _num(text: str | None, kind: type) -> Any:
    if text is None or not text.strip():
        return None
    try:
        return kind(text)
    except ValueError:
        raise InputError(f"not a number: {text!r}") from None
