"""The dashboard's job queue survives stops and kills: every accepted upload is analysed exactly
once, `serve` stops cleanly on SIGTERM, and the browser video is made safely by concurrent requests.

Analyses run the real pose model on the smallest sample clip.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from formcheck.clinic.store import Store
from formcheck.web.app import create_app
from tests.conftest import SAMPLES, announced_port
from tests.clinic.test_store import make_out_dir

CLIP = min(SAMPLES.glob("*.mp4"), key=lambda p: p.stat().st_size)  # the smallest sample clip


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "formcheck.db"
    with Store(path) as s:
        s.add_patient("P1", "Ann")
    return path


@pytest.fixture(scope="module")
def model_info(model_path: Path):
    from formcheck.pose.model_store import resolve_model

    return resolve_model(model_path, allow_download=False)


# -- in-process: the app as `serve` builds it, restarted by building it again ---------------------
def _client(app):
    client = app.test_client()
    client.get("/")
    with client.session_transaction() as s:
        return client, s.get("csrf")


def _stopped_app(db: Path, data: Path, model_info):
    """An app whose server stops before its worker takes any job."""
    app = create_app(db, data, model=model_info)
    app.extensions["formcheck_jobs"].submit = lambda job_id: None
    return app


def _upload_in_process(app, pid: str = "P1") -> str:
    client, token = _client(app)
    with CLIP.open("rb") as fh:
        r = client.post(f"/patients/{pid}/upload", data={"csrf": token, "exercise": "squat", "pain_before": "2", "video": (fh, CLIP.name)},
                        content_type="multipart/form-data")  # fmt: skip
    assert r.status_code == 302, r.data
    return r.location.rsplit("/", 1)[-1]


def _restart(db: Path, data: Path, model_info, **options):
    """What `serve` does at start: recover the queue, then run it."""
    app = create_app(db, data, model=model_info, **options)
    runner = app.extensions["formcheck_jobs"]
    runner.recover()
    runner.start()
    return app


def _wait_done(app, job_id: str, timeout: float = 180) -> dict:
    client, _ = _client(app)
    deadline = time.monotonic() + timeout
    while True:
        d = client.get(f"/jobs/{job_id}.json").get_json()
        if d["status"] in ("done", "failed"):
            return d
        assert time.monotonic() < deadline, d
        time.sleep(0.2)


def _stop(app) -> None:
    assert app.extensions["formcheck_jobs"].stop(60)


def test_upload_accepted_before_a_stop_is_analysed_after_restart(db: Path, tmp_path: Path, model_info) -> None:
    data = tmp_path / "data"
    job_id = _upload_in_process(_stopped_app(db, data, model_info))
    with Store(db) as s:
        job = s.job(job_id)
        assert job is not None and job["status"] == "queued" and Path(job["video_path"]).is_file()
    app = _restart(db, data, model_info)
    d = _wait_done(app, job_id)
    _stop(app)
    assert d["status"] == "done" and d["session_url"] == f"/sessions/{d['session_id']}", d
    client, _ = _client(app)
    assert client.get(f"/jobs/{job_id}").status_code == 200
    with Store(db) as s:
        sessions = s.sessions("P1")
        assert [x["id"] for x in sessions] == [d["session_id"]] and sessions[0]["pain_before"] == 2
        assert s.job(job_id)["attempts"] == 1
    app = _restart(db, data, model_info)  # another restart: nothing runs again
    time.sleep(1.0)
    _stop(app)
    with Store(db) as s:
        assert len(s.sessions("P1")) == 1 and s.job(job_id)["attempts"] == 1 and s.job(job_id)["status"] == "done"


def test_job_left_running_runs_again_once(db: Path, tmp_path: Path, model_info) -> None:
    data = tmp_path / "data"
    job_id = _upload_in_process(_stopped_app(db, data, model_info))
    with Store(db) as s:  # a server killed mid-analysis: the row says running, the folder holds debris
        s.conn.execute("UPDATE jobs SET status = 'running', attempts = 1 WHERE id = ?", (job_id,))
        out = Path(s.job(job_id)["out_dir"])
    out.mkdir(parents=True)
    (out / "annotated.mp4").write_bytes(b"half a video")
    app = _restart(db, data, model_info)
    d = _wait_done(app, job_id)
    _stop(app)
    assert d["status"] == "done", d
    with Store(db) as s:
        assert [x["id"] for x in s.sessions("P1")] == [d["session_id"]]
        job = s.job(job_id)
        assert job["attempts"] == 2 and s.integrity_problems() == []
        assert not json.loads((out / "summary.json").read_text())["partial"]
        # Its session recorded but the job found running (recorded by another path): not run or recorded again.
        s.conn.execute("UPDATE jobs SET status = 'running', session_id = NULL WHERE id = ?", (job_id,))
    app = _restart(db, data, model_info)
    deadline = time.monotonic() + 30
    with Store(db) as s:
        while s.job(job_id)["status"] != "done":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        _stop(app)
        job = s.job(job_id)
        assert job["session_id"] == d["session_id"] and job["attempts"] == 2 and len(s.sessions("P1")) == 1


def test_two_uploads_are_analysed_at_once_by_two_worker_processes(db: Path, tmp_path: Path, model_info) -> None:
    data = tmp_path / "data"
    stopped = _stopped_app(db, data, model_info)
    first, second = _upload_in_process(stopped), _upload_in_process(stopped)
    app = _restart(db, data, model_info, workers=2)
    client, _ = _client(app)
    both_running = False
    deadline = time.monotonic() + 180
    while not both_running:
        states = [client.get(f"/jobs/{j}.json").get_json() for j in (first, second)]
        both_running = all(d["status"] == "running" and d["done_frames"] > 0 for d in states)
        if any(d["status"] in ("done", "failed") for d in states) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    done = [_wait_done(app, j) for j in (first, second)]
    _stop(app)
    assert [d["status"] for d in done] == ["done", "done"], done
    assert both_running, "the two analyses were never running at the same time"
    with Store(db) as s:
        jobs = [s.job(j) for j in (first, second)]
        # second-resolution times, so a strict overlap cannot come from one analysis after the other
        assert max(j["started_at"] for j in jobs) < min(j["finished_at"] for j in jobs), jobs
        assert [j["attempts"] for j in jobs] == [1, 1]
        assert sorted(x["id"] for x in s.sessions("P1")) == sorted(j["session_id"] for j in jobs)


def test_uploads_are_analysed_on_a_dask_cluster(db: Path, tmp_path: Path, model_info) -> None:
    distributed = pytest.importorskip("distributed")
    data = tmp_path / "data"
    job_id = _upload_in_process(_stopped_app(db, data, model_info))
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    client = distributed.Client(cluster)
    try:
        workers = set(client.run(os.getpid).values())
        app = _restart(db, data, model_info, scheduler=client)
        d = _wait_done(app, job_id, timeout=240)
        _stop(app)
        assert client.status == "running"  # the runner leaves a client it was given open
    finally:
        client.close()
        cluster.close()
    assert d["status"] == "done", d
    assert os.getpid() not in workers and len(workers) == 2
    with Store(db) as s:
        assert [x["id"] for x in s.sessions("P1")] == [d["session_id"]] and s.job(job_id)["attempts"] == 1
        sess = s.session(d["session_id"])
        assert not sess["partial"] and sess["rep_count"] == 2 and all(p.is_file() for p in sess["files"].values())


def test_scheduler_without_dask_is_one_line(db: Path, tmp_path: Path, model_path: Path) -> None:
    code = ("import sys; sys.modules['distributed'] = None; sys.argv = ['formcheck', 'serve', '--port', '0', "
            "'--scheduler', 'tcp://127.0.0.1:8786']; from formcheck.entry import main; main()")  # fmt: skip
    env = dict(os.environ, FORMCHECK_DB=str(db), FORMCHECK_MODEL=str(Path(model_path).resolve()))
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    assert "pip install 'formcheck[cluster]'" in lines[0]
    bad = subprocess.run([sys.executable, "-m", "formcheck", "serve", "--workers", "0"], env=env, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "--workers must be at least 1" in bad.stderr and len(bad.stderr.splitlines()) == 1, bad.stderr


def test_orphan_and_half_received_uploads_are_removed_at_start(db: Path, tmp_path: Path) -> None:
    folder = tmp_path / "data" / "uploads" / "P1"
    folder.mkdir(parents=True)
    orphan = folder / "20260101-000000-0123456789abcdef.mp4"  # renamed into place, row never committed
    half = folder / ".upload-20260101-000000-fedcba9876543210.mp4"
    orphan.write_bytes(b"x")
    half.write_bytes(b"x")
    app = create_app(db, tmp_path / "data", model=None)
    assert app.extensions["formcheck_jobs"].recover()["removed_uploads"] == 2
    assert list(folder.iterdir()) == []


def test_bad_upload_fields_are_400_and_leave_nothing(db: Path, tmp_path: Path) -> None:
    app = create_app(db, tmp_path / "data", model=None)
    client, token = _client(app)
    for bad in ({"pain_before": "11"}, {"pain_after": "-1"}, {"pain_before": "2.5"}, {"date": "notadate"},
                {"pain_before": "99999999999999999999999"}):  # fmt: skip
        with CLIP.open("rb") as fh:
            r = client.post("/patients/P1/upload", data={"csrf": token, "exercise": "squat", "video": (fh, CLIP.name), **bad},
                            content_type="multipart/form-data")  # fmt: skip
        assert r.status_code == 400, (bad, r.status_code)
    folder = tmp_path / "data" / "uploads" / "P1"
    assert not folder.exists() or list(folder.iterdir()) == []
    with Store(db) as s:
        assert s.jobs() == []


def _mp4v_video(path: Path, frames: int) -> None:
    """An annotated video as versions before H.264 wrote it (MPEG-4 Part 2), 320x240 at 30 fps."""
    import cv2
    import numpy as np

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (320, 240))
    for k in range(frames):
        writer.write(np.full((240, 320, 3), k * 2, np.uint8))
    writer.release()


def test_concurrent_first_video_requests_all_succeed(db: Path, tmp_path: Path) -> None:
    import cv2

    out = make_out_dir(tmp_path / "s1")
    _mp4v_video(out / "annotated.mp4", 120)
    with Store(db) as s:
        sid = s.record_session(out, "P1").session_id
    app = create_app(db, tmp_path / "data", model=None)
    barrier = threading.Barrier(8)
    codes: list[int] = []
    lengths: list[int] = []

    def fetch() -> None:
        client = app.test_client()
        barrier.wait()
        r = client.get(f"/sessions/{sid}/video.webm")
        codes.append(r.status_code)
        lengths.append(len(r.data))
        r.close()

    threads = [threading.Thread(target=fetch) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert codes == [200] * 8
    cache = tmp_path / "data" / "cache"
    assert [p.name for p in cache.iterdir()] == [f"session-{sid}.webm"]  # no temporary left behind
    assert set(lengths) == {(cache / f"session-{sid}.webm").stat().st_size}
    cap = cv2.VideoCapture(str(cache / f"session-{sid}.webm"))
    frames = 0
    while cap.read()[0]:
        frames += 1
    assert frames == 120


def test_h264_sessions_are_served_as_written_with_ranges_and_older_ones_as_webm(db: Path, tmp_path: Path) -> None:
    """The annotated video (H.264) goes to the browser as it is, seekable; an mp4v one from an
    older version goes through the WebM copy."""
    import numpy as np

    from formcheck.media.sinks import VideoSink

    out = make_out_dir(tmp_path / "s1")
    with VideoSink(out / "annotated.mp4", 30.0, (320, 240)) as sink:
        for k in range(60):
            sink.write(np.full((240, 320, 3), k * 4, np.uint8))
    with Store(db) as s:
        sid = s.record_session(out, "P1").session_id
    app = create_app(db, tmp_path / "data", model=None)
    client = app.test_client()
    whole = client.get(f"/sessions/{sid}/video")
    assert whole.status_code == 200 and whole.mimetype == "video/mp4"
    assert whole.data == (out / "annotated.mp4").read_bytes(), "served as written: no second encode"
    part = client.get(f"/sessions/{sid}/video", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.data == whole.data[100:200]
    assert not (tmp_path / "data" / "cache").exists() or not list((tmp_path / "data" / "cache").iterdir())
    legacy = make_out_dir(tmp_path / "s2", tag="an older version")
    _mp4v_video(legacy / "annotated.mp4", 30)
    with Store(db) as s:
        old = s.record_session(legacy, "P1").session_id
    r = client.get(f"/sessions/{old}/video")
    assert r.status_code == 200 and r.mimetype == "video/webm"


# -- a real `formcheck serve` process -------------------------------------------------------------
class Dashboard:
    """A `formcheck serve` subprocess and the few HTTP calls the tests make."""

    def __init__(self, db: Path, model_path: Path, log: Path, *serve_args: str) -> None:
        self.db, self.model_path, self.log, self.serve_args = db, model_path, log, serve_args
        self.proc: subprocess.Popen | None = None
        self.port = 0

    def start(self, timeout: float = 60) -> None:
        env = dict(os.environ, FORMCHECK_DB=str(self.db), FORMCHECK_MODEL=str(Path(self.model_path).resolve()))
        env.pop("FORMCHECK_DEBUG", None)
        self._err = self.log.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "formcheck", "serve", "--port", "0", *self.serve_args], env=env,
            stdout=subprocess.PIPE, stderr=self._err,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # a Ctrl-C reaches it however pytest runs
        )  # fmt: skip
        try:
            self.port = announced_port(self.proc, timeout)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self.stderr()}") from None
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.request("GET", "/")
                return
            except OSError:
                assert self.proc.poll() is None, self.stderr()
                assert time.monotonic() < deadline, "the dashboard did not start"
                time.sleep(0.05)

    def stderr(self) -> str:
        if not self._err.closed:
            self._err.flush()
        return self.log.read_text()

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None, timeout: float = 30):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            return r.status, dict(r.getheaders()), r.read()
        finally:
            conn.close()

    def upload(self, pid: str = "P1") -> str | None:
        """A job id when the upload was accepted (302), else None."""
        status, headers, page = self.request("GET", f"/patients/{pid}")
        cookie = headers.get("Set-Cookie", "").split(";")[0]
        token = re.search(rb'name="csrf" value="([^"]+)"', page).group(1).decode()
        boundary = uuid.uuid4().hex
        parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
                 for k, v in (("csrf", token), ("exercise", "squat"))]  # fmt: skip
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="video"; filename="{CLIP.name}"\r\n'
                     "Content-Type: video/mp4\r\n\r\n".encode() + CLIP.read_bytes() + b"\r\n")  # fmt: skip
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        status, headers, _ = self.request("POST", f"/patients/{pid}/upload", body,
                                          {"Content-Type": f"multipart/form-data; boundary={boundary}", "Cookie": cookie})  # fmt: skip
        return headers["Location"].rsplit("/", 1)[-1] if status == 302 else None

    def job(self, job_id: str) -> dict:
        status, _, body = self.request("GET", f"/jobs/{job_id}.json")
        assert status == 200, status
        return json.loads(body)

    def signal(self, signum: int, timeout: float = 60) -> int:
        self.proc.send_signal(signum)
        try:
            return self.proc.wait(timeout)
        finally:
            self._err.close()


@pytest.fixture
def dashboards():
    """Makes `Dashboard`s and kills any still running when the test ends (a failed test included)."""
    made: list[Dashboard] = []

    def make(*args) -> Dashboard:
        made.append(Dashboard(*args))
        return made[-1]

    yield make
    for d in made:
        if d.proc is not None and d.proc.poll() is None:
            d.proc.kill()
            d.proc.wait(30)


def _wait_for(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def _children(parent: int) -> set[int]:
    """The processes whose parent is `parent` (serve's pool workers)."""
    found = set()
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            if f"\nPPid:\t{parent}\n" in status.read_text():
                found.add(int(status.parent.name))
        except OSError:
            pass
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def test_serve_stops_cleanly_on_sigterm_and_resumes(db: Path, tmp_path: Path, model_path: Path, dashboards) -> None:
    dash = dashboards(db, model_path, tmp_path / "serve-1.err", "--workers", "2")
    dash.start()
    first, second = dash.upload(), dash.upload()
    assert first and second
    _wait_for(lambda: dash.job(first)["done_frames"] > 0 and dash.job(second)["done_frames"] > 0, 120,
              "the two analyses did not start")  # fmt: skip
    workers = _children(dash.proc.pid)
    assert len(workers) >= 2, workers
    env = dict(os.environ, FORMCHECK_DB=str(db), FORMCHECK_MODEL=str(model_path))
    for port in (dash.port, 0):  # a second server on the same port, or on the same database: one line, exit 2
        other = subprocess.run([sys.executable, "-m", "formcheck", "serve", "--port", str(port)], env=env,
                               capture_output=True, text=True, timeout=60)  # fmt: skip
        assert other.returncode == 2 and len(other.stderr.splitlines()) == 1, other.stderr
        assert ("cannot listen" if port else "another `formcheck serve` is using") in other.stderr
    code = dash.signal(signal.SIGTERM)
    err = dash.stderr()
    assert code == 143 and "Traceback" not in err, err
    assert [line for line in err.splitlines() if "stopped" in line] == [
        "formcheck: dashboard stopped (SIGTERM); 2 uploaded videos will be analysed at the next start"
    ], err
    with Store(db) as s:  # the running analyses were stopped, not recorded half, and wait again
        assert [j["status"] for j in s.jobs()] == ["queued", "queued"] and s.sessions("P1") == []
    _wait_for(lambda: not any(_alive(p) for p in workers), 10, "a worker outlived serve")

    dash = dashboards(db, model_path, tmp_path / "serve-2.err")
    dash.start()
    # Both run at once after the restart (two workers by default on two cores); either may finish first.
    _wait_for(lambda: all(dash.job(j)["status"] == "done" for j in (first, second)), 180, "the jobs did not finish after the restart")
    code = dash.signal(signal.SIGINT)  # Ctrl-C: the contract's 130, one line, no traceback
    err = dash.stderr()
    assert code == 130 and "Traceback" not in err, err
    assert "formcheck: dashboard stopped (Ctrl-C); no analysis was waiting" in err.splitlines(), err
    with Store(db) as s:
        assert sorted(j["session_id"] for j in s.jobs()) == sorted(x["id"] for x in s.sessions("P1"))
        assert len(s.sessions("P1")) == 2 and [j["attempts"] for j in s.jobs()] == [2, 2]


def test_kill_soak_every_accepted_upload_is_analysed_exactly_once(db: Path, tmp_path: Path, model_path: Path, dashboards) -> None:
    """At least 30 random kill -9 of `serve` while uploads arrive and analyses run, then a run to
    the end: the store is sound and every accepted upload has exactly one whole session."""
    rng = random.Random(14)
    accepted: list[str] = []
    kills = 0
    started = time.monotonic()
    while kills < 30:
        dash = dashboards(db, model_path, tmp_path / f"soak-{kills}.err")
        dash.start()
        uploader = None
        if kills < 8:  # uploads arrive during the first cycles; later cycles kill the queue's work
            def upload_one(d: Dashboard = dash) -> None:
                try:
                    job_id = d.upload()
                except OSError:  # killed mid-request: not accepted
                    return
                if job_id:
                    accepted.append(job_id)

            uploader = threading.Thread(target=upload_one)
            uploader.start()
        time.sleep(rng.choice([rng.uniform(0.0, 1.0), rng.uniform(0.5, 3.0), rng.uniform(2.0, 5.5)]))
        workers = _children(dash.proc.pid)
        os.kill(dash.proc.pid, signal.SIGKILL)
        dash.proc.wait(30)
        dash._err.close()
        _wait_for(lambda: not any(_alive(p) for p in workers), 10, "a worker outlived the killed serve")
        kills += 1
        if uploader is not None:
            uploader.join(30)
    assert len(accepted) >= 4, accepted

    dash = dashboards(db, model_path, tmp_path / "soak-final.err")
    dash.start()

    def queue_empty() -> bool:
        with Store(db) as s:
            return not s.jobs("queued") and not s.jobs("running")

    _wait_for(queue_empty, 240, "the queue did not drain")
    assert dash.signal(signal.SIGTERM) == 143, dash.stderr()
    soak_s = time.monotonic() - started

    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    with Store(db) as s:
        assert s.integrity_problems() == []
        jobs = {j["id"]: j for j in s.jobs()}
        sessions = {x["id"]: x for x in s.sessions("P1")}
        assert set(accepted) <= set(jobs)
        assert all(j["status"] == "done" for j in jobs.values()), [(j["id"], j["status"], j["message"]) for j in jobs.values()]
        session_ids = [j["session_id"] for j in jobs.values()]
        assert sorted(session_ids) == sorted(sessions)  # one session per job, none without a job, none twice
        for j in jobs.values():
            sess = s.session(j["session_id"])
            assert sess["out_dir"] == j["out_dir"] and not sess["partial"]
            summary = json.loads((Path(j["out_dir"]) / "summary.json").read_text())
            assert summary == sess["summary"] and sess["rep_count"] == len(s.reps(sess["id"])) == 2
            assert all(p.is_file() for p in sess["files"].values())
        videos = {Path(j["video_path"]) for j in jobs.values()}
        on_disk = set((db.parent / "formcheck-data" / "uploads" / "P1").iterdir())
        assert on_disk == videos  # no upload without its job, no half-received file
    print(f"soak: {kills} kills, {len(accepted)} accepted uploads ({len(jobs)} jobs), "
          f"{sum(j['attempts'] for j in jobs.values())} analysis starts, {soak_s:.0f} s")  # fmt: skip
