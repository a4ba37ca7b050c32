"""Random values in every form field and URL parameter of the dashboard: each request is answered
400 with one line (404 for an unknown ID, 302 or 200 for an accepted value, 429 for a throttled
login), never 500, never a traceback in the log, and whatever was accepted is valid in the store.

Flask's test client, logged in as the therapist. The app's pose model is a stand-in and its job
runner is never woken, so an accepted upload stays queued; uploads send a 5-frame video.
"""

from __future__ import annotations

import io
import json
import logging
import math
import re
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from markupsafe import escape

from formcheck import validate
from formcheck.clinic.store import Store, known_exercises
from formcheck.clinic.store.store import BOOL_THRESHOLDS, THRESHOLD_KEYS
from formcheck.web.app import LOCAL_PATH, create_app
from formcheck.web.auth import LoginThrottle, set_password
from tests.clinic.test_store import make_out_dir

PASSWORD = "correct horse battery"
AWKWARD = ["", " ", "nan", "NaN", "inf", "-inf", "1e309", "-1", "0", "0.0", "-0", "1", "3", "8", "2.5", "600", "600.0001",
           "20", "21", "14", "15", "500", "501", "99999999999999999999999", "1e5", "0x10", "1_0", "\u0663", "\uff13",
           "2026-02-30", "2026-13-01", "2026-11-01", "2026-11-01T09:30", "2026-11-01\n", "1" * 400, "notadate",
           "P1", "P1\n", " P1", "../P1", "P1;drop", "left", "right", "LEFT", "squat", "lunge", "change", "offset",
           "true", "on", "\u00e9", "\x00", "a\nb", "\r\n", "x" * 5000, "<script>alert(1)</script>"]  # fmt: skip
text = st.one_of(
    st.sampled_from(AWKWARD),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30),  # a browser cannot send surrogates
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
)
# What arrives as a form field: missing, one value, the field repeated, or a file part in its place.
field = st.one_of(st.none(), text, text, text, st.lists(text, min_size=2, max_size=3), st.just(b"a file, not a value"))
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))


class _NoAnalysis:  # uploads need a model; here the job runner is never woken
    path = Path("/nonexistent.task")


class Dashboard:
    """The app on a store with patient P1 and session 1, a logged-in client and the error log."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.db = root / "formcheck.db"
        with Store(self.db) as s:
            s.add_patient("P1", "Ann")
            s.record_session(make_out_dir(root / "s1"), "P1", recorded_at="2025-03-01")
            set_password(s, PASSWORD)
        self.now = [0.0]
        self.app = create_app(self.db, root / "data", model=_NoAnalysis(), login_throttle=LoginThrottle(clock=lambda: self.now[0]))
        self.app.extensions["formcheck_jobs"].submit = lambda job_id: None  # queued, never analysed
        self.errors: list[logging.LogRecord] = []
        handler = logging.Handler(logging.ERROR)
        handler.emit = self.errors.append  # type: ignore[method-assign]
        self.handler = handler
        self.client, self.csrf = self.login()
        self.video = _tiny_video(root / "tiny.mp4")

    def login(self):
        client = self.app.test_client()
        client.get("/login")
        with client.session_transaction() as s:
            token = s["csrf"]
        assert client.post("/login", data={"csrf": token, "password": PASSWORD}).status_code == 302
        client.get("/")
        with client.session_transaction() as s:
            token = s["csrf"]
        return client, token

    def check(self, response, *allowed: int):
        """The response's status is allowed, a 400 names its one reason, nothing was logged as an error."""
        assert not self.errors, [r.getMessage() for r in self.errors]
        assert response.status_code in allowed, (response.status_code, response.data[:400])
        if response.status_code == 400 and b'id="error"' in response.data:
            message = re.search(r'<p class="error" id="error">(.*?)</p>', response.data.decode(), re.S)
            assert message and message.group(1).strip() and "\n" not in message.group(1), response.data[:400]
        assert b"Traceback" not in response.data
        return response


def _tiny_video(path: Path) -> bytes:
    import cv2
    import numpy as np

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (64, 64))
    for i in range(5):
        writer.write(np.full((64, 64, 3), 40 * i, np.uint8))
    writer.release()
    return path.read_bytes()


@pytest.fixture(scope="module")
def dash(tmp_path_factory: pytest.TempPathFactory):
    d = Dashboard(tmp_path_factory.mktemp("fuzz_web"))
    loggers = [logging.getLogger(), d.app.logger]
    for lg in loggers:
        lg.addHandler(d.handler)
    yield d
    for lg in loggers:
        lg.removeHandler(d.handler)


def _form(csrf: str, fields: dict[str, object]) -> dict[str, object]:
    form: dict[str, object] = {"csrf": csrf}
    for key, value in fields.items():
        if value is None:
            continue
        form[key] = (io.BytesIO(value), "value.txt") if isinstance(value, bytes) else value
    return form


def _first(value: object) -> str | None:
    """What request.form.get reads from a field sent as `value`."""
    if isinstance(value, list):
        return value[0]
    return value if isinstance(value, str) else None


pids = st.one_of(st.just("P1"), st.just("P1"), text.filter(bool))  # an empty segment is another URL


@FUZZ
@given(pid=field, name=field)
def test_add_patient(dash: Dashboard, pid, name) -> None:
    r = dash.check(dash.client.post("/patients", data=_form(dash.csrf, {"id": pid, "name": name})), 302, 400)
    if r.status_code == 302:
        added = (_first(pid) or "").strip()
        assert validate.patient_id(added) == added and r.location == f"/patients/{added}"
        with Store(dash.db) as s:
            assert s.patient(added) is not None
        dash.check(dash.client.get("/"), 200)
        dash.check(dash.client.get(r.location), 200)


@FUZZ
@given(pid=pids, since=st.one_of(st.none(), text))
def test_patient_page(dash: Dashboard, pid: str, since) -> None:
    query = {} if since is None else {"since": since}
    dash.check(dash.client.get(f"/patients/{quote(pid, safe='')}", query_string=query), 200, 400, 404)


@FUZZ
@given(pid=pids, exercise=st.one_of(st.sampled_from(known_exercises()), field), sets=field, reps=field, hold_s=field,
       per_week=field, side=field, remove=st.one_of(st.none(), st.none(), st.none(), text))  # fmt: skip
@example(pid="P1", exercise="squat", sets="3", reps="8", hold_s=None, per_week="", side="left", remove=None)
@example(pid="P1", exercise="squat", sets="99999999999999999999999", reps="8", hold_s=None, per_week=None, side=None, remove=None)
@example(pid="P1", exercise="squat", sets="2", reps=None, hold_s="nan", per_week="0", side=None, remove=None)
def test_prescription(dash: Dashboard, pid: str, exercise, sets, reps, hold_s, per_week, side, remove) -> None:
    fields = {"exercise": exercise, "sets": sets, "reps": reps, "hold_s": hold_s, "per_week": per_week, "side": side, "remove": remove}
    r = dash.check(dash.client.post(f"/patients/{quote(pid, safe='')}/prescription", data=_form(dash.csrf, fields)), 302, 400, 404)
    if r.status_code == 302:
        assert r.location == f"/patients/{pid}#prescription"
        with Store(dash.db) as s:
            for rx in s.prescriptions(pid):
                validate.prescription(rx["sets"], rx["reps"], rx["hold_s"], rx["per_week"], rx["side"])
                assert 1 <= rx["sets"] <= validate.MAX_SETS and rx["exercise"] in known_exercises()
        dash.check(dash.client.get(r.location), 200)


@FUZZ
@given(pid=pids, values=st.fixed_dictionaries({key: field for key in THRESHOLD_KEYS}))
@example(pid="P1", values={"valgus_fppa_deg": "12.5", "valgus_knee_toe": "nan", "baseline_relative": "on"})
@example(pid="P1", values={"valgus_fppa_deg": "12.5", "valgus_shank_deg": "", "knee_toe_from_standing": "offset"})
def test_thresholds(dash: Dashboard, pid: str, values: dict) -> None:
    r = dash.check(dash.client.post(f"/patients/{quote(pid, safe='')}/thresholds", data=_form(dash.csrf, values)), 302, 400, 404)
    if r.status_code == 302:
        assert r.location == f"/patients/{pid}#thresholds"
        with Store(dash.db) as s:
            for key, value in s.effective_thresholds(pid).items():
                if key in BOOL_THRESHOLDS:
                    assert isinstance(value, bool), (key, value)
                else:
                    assert math.isfinite(value) and value > 0, (key, value)
        dash.check(dash.client.get(r.location), 200)


@settings(FUZZ, max_examples=20)  # an accepted upload writes a video and queues a job
@given(pid=pids, exercise=st.one_of(st.just("squat"), st.just("squat"), field), date=field, pain_before=field,
       pain_after=field, filename=st.one_of(st.just("clip.mp4"), text.map(lambda t: t + ".mp4")))  # fmt: skip
@example(pid="P1", exercise="squat", date="2026-11-01\n", pain_before="3", pain_after=None, filename="<b>.mp4")
@example(pid="P1", exercise="squat", date="1" * 400, pain_before=None, pain_after=None, filename="clip.mp4")
def test_upload(dash: Dashboard, pid: str, exercise, date, pain_before, pain_after, filename: str) -> None:
    form = _form(dash.csrf, {"exercise": exercise, "date": date, "pain_before": pain_before, "pain_after": pain_after})
    form["video"] = (io.BytesIO(dash.video), filename)
    r = dash.client.post(f"/patients/{quote(pid, safe='')}/upload", data=form, content_type="multipart/form-data")
    dash.check(r, 302, 400, 404)
    assert b"not a readable video" not in r.data  # a field, not the video, was refused
    if r.status_code == 302:
        job_id = r.location.rsplit("/", 1)[1]
        with Store(dash.db) as s:
            job = s.job(job_id)
        assert job is not None and job["patient_id"] == pid and job["status"] == "queued"
        assert job["exercise"] == _first(exercise)
        for key in ("pain_before", "pain_after"):
            assert job[key] is None or 0 <= job[key] <= 10
        assert job["recorded_at"] is None or validate.ISO_WHEN.match(job["recorded_at"])
        dash.check(dash.client.get(r.location), 200)
        assert dash.check(dash.client.get(r.location + ".json"), 200).json["status"] == "queued"


@FUZZ
@given(job_id=text, sid=st.one_of(st.integers(min_value=-(10**30), max_value=10**30).map(str), text))
@example(job_id="../../etc/passwd", sid="99999999999999999999999")
def test_ids_in_urls(dash: Dashboard, job_id: str, sid: str) -> None:
    job, session = quote(job_id, safe=""), quote(sid, safe="")
    dash.check(dash.client.get(f"/jobs/{job}"), 404)
    dash.check(dash.client.get(f"/jobs/{job}.json"), 404)
    try:
        expected = (200,) if int(sid) == 1 and sid.isdigit() else (404,)  # werkzeug reads "01" as 1 too
    except ValueError:
        expected = (404,)
    dash.check(dash.client.get(f"/sessions/{session}"), *expected)
    dash.check(dash.client.get(f"/sessions/{session}/video.webm"), 404)  # session 1 has no annotated video


@FUZZ
@given(password=st.one_of(st.just(PASSWORD), field), target=st.one_of(st.none(), text, text.map(lambda t: "/" + t)),
       csrf=st.one_of(st.just("right"), st.just("right"), field))  # fmt: skip
@example(password=PASSWORD, target="/\t/evil.example", csrf="right")
@example(password=PASSWORD, target="/a\r\nSet-Cookie: x=1", csrf="right")
@example(password=PASSWORD, target="/patients/P1", csrf="right")
def test_login_form(dash: Dashboard, password, target, csrf) -> None:
    dash.now[0] += 400.0  # past any block: each example meets the throttle afresh
    client = dash.app.test_client()
    client.get("/login")
    with client.session_transaction() as s:
        token = s["csrf"]
    form = _form(token, {"password": password})
    if csrf != "right":
        form = _form(csrf or "", {"password": password}) if not isinstance(csrf, bytes) else {**form, "csrf": (io.BytesIO(csrf), "t")}
    query = {} if target is None else {"next": target}
    r = dash.check(client.post("/login", query_string=query, data=form), 200, 302, 400, 429)
    if r.status_code == 302:
        assert _first(password) == PASSWORD and csrf == "right"
        location = urlsplit(r.location)
        assert not location.netloc and LOCAL_PATH.match(location.path), r.location
        assert location.path == "/" or location.path == target
        dash.check(client.get("/patients/P1"), 200)
    else:
        assert dash.check(client.get("/patients/P1"), 302).location.startswith("/login")


@settings(FUZZ, max_examples=30)
@given(value=field)
@example(value="\u00e9")
def test_form_token(dash: Dashboard, value) -> None:
    """A wrong form token is refused before any field is read."""
    form = _form("", {"id": "P9", "csrf": value}) if value is not None else {"id": "P9"}
    if form.get("csrf") == dash.csrf:
        return
    dash.check(dash.client.post("/patients", data=form), 400)
    with Store(dash.db) as s:
        assert s.patient("P9") is None


def test_hostile_names_are_escaped_on_every_page(tmp_path: Path) -> None:
    """A patient name, a video name, a warning and an exercise carrying markup come out as text
    on every page (the embedded therapist report included) and in the flash message."""
    hostile = "<script>alert(1)</script>"
    db = tmp_path / "formcheck.db"
    out = make_out_dir(tmp_path / "s1", tag="<img src=x onerror=alert(2)>")
    summary = json.loads((out / "summary.json").read_text())
    summary["warnings"] = [f"<svg onload=alert(3)> {hostile}"]
    (out / "summary.json").write_text(json.dumps(summary))
    with Store(db) as s:
        s.add_patient("P1", hostile)
        sid = s.record_session(out, "P1", recorded_at="2025-03-01").session_id
    app = create_app(db, tmp_path / "data", model=None)
    client = app.test_client()
    client.get("/")
    with client.session_transaction() as sess:
        token = sess["csrf"]
    removed = client.post("/patients/P1/prescription", data={"csrf": token, "remove": "1", "exercise": hostile})
    assert removed.status_code == 302
    pages = {url: client.get(url) for url in ("/patients/P1", "/", f"/sessions/{sid}")}  # the flash shows on the first
    for url, page in pages.items():
        body = page.data.decode()
        assert page.status_code == 200, url
        for raw in (hostile, "<img src=x", "<svg onload"):
            assert raw not in body, (url, raw)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages["/"].data.decode()
    assert f"prescription for {escape(hostile)} removed" in pages["/patients/P1"].data.decode()
